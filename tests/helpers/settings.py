"""Settings shared by tests: a production configuration that passes every check at start."""

from pathlib import Path

# A register file of the tests' own: production refuses the default (the sandbox citizens).
REGISTER_FILE = str(Path(__file__).resolve().parent / "insurance-register.csv")
# The same for the health-insurance cards (the default holds the demo cards).
HEALTH_CARD_FILE = str(Path(__file__).resolve().parent / "health-cards.csv")

GOOD_PRODUCTION = {
    "GATEWAY_ENV": "production",
    "GATEWAY_SECRET_KEY": "x" * 48,
    "GATEWAY_ISSUER": "https://id.vssid.example.vn",
    "GATEWAY_DATABASE_URL": "postgresql+psycopg://gw@127.0.0.1/gw",
    "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
    "GATEWAY_SMS_PROVIDER": "http",
    "GATEWAY_SMS_HTTP_URL": "https://sms.vssid.example.vn/send",
    "GATEWAY_SMS_HTTP_TOKEN": "t" * 32,
    "GATEWAY_EMAIL_PROVIDER": "smtp",
    "GATEWAY_SMTP_URL": "smtp://smtp.vssid.example.vn:587",
    "GATEWAY_SMTP_FROM": "no-reply@vssid.example.vn",
    "GATEWAY_VNEID_ISSUER": "https://sso.dichvucong.gov.vn",
    "GATEWAY_VNEID_CLIENT_ID": "vssid-gateway",
    "GATEWAY_VNEID_CLIENT_SECRET": "s" * 32,
    "GATEWAY_INSURANCE_REGISTER_FILE": REGISTER_FILE,
    "GATEWAY_HEALTH_CARD_FILE": HEALTH_CARD_FILE,
}
