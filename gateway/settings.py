"""Loads settings: defaults from config.defaults, then GATEWAY_* variables, then overrides.

Production refuses to start on an insecure combination, naming the setting, because a
gateway that starts half-secure is worse than one that does not start.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from config import defaults
from policies.otp_rules import settings_problems as otp_settings_problems
from providers.email import parse_smtp_url
from providers.vneid_claims import ClaimMapError, parse_claim_map
from providers.vneid_jose import load_private_key

SANDBOX_PATH = "/sandbox/vneid"
SANDBOX_CLIENT_ID = "vssid-gateway"

PREFIX = "GATEWAY_"
DEV_SECRET = defaults.SECRET_KEY
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing, malformed or insecure; the message names it."""

    def __init__(self, setting: str, problem: str):
        super().__init__(f"{PREFIX}{setting}: {problem}")
        self.setting = setting


def default_settings() -> dict:
    return {k: getattr(defaults, k) for k in dir(defaults) if k.isupper()}


def _coerce(name: str, raw: str, default):
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ConfigError(name, f"expected a boolean, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    return raw


def load_settings(overrides: dict | None = None, environ=None, instance_path: str = "instance"):
    environ = os.environ if environ is None else environ
    settings = default_settings()
    for name, default in list(settings.items()):
        raw = environ.get(PREFIX + name)
        if raw is not None:
            settings[name] = _coerce(name, raw, default)
    settings.update(overrides or {})
    instance = Path(instance_path)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{(instance / 'gateway.sqlite3').resolve()}"
    if not settings["SMS_OUTBOX"]:
        settings["SMS_OUTBOX"] = str((instance / "sms-outbox.jsonl").resolve())
    if not settings["EMAIL_OUTBOX"]:
        settings["EMAIL_OUTBOX"] = str((instance / "email-outbox.jsonl").resolve())
    if not settings["FILE_STORE_DIR"]:
        settings["FILE_STORE_DIR"] = str((instance / "uploads").resolve())
    settings["ISSUER"] = settings["ISSUER"].rstrip("/")
    if not settings["DEFAULT_RESOURCE"]:
        settings["DEFAULT_RESOURCE"] = settings["ISSUER"]
    if not settings["VNEID_ISSUER"] and not is_production(settings):
        _wire_sandbox(settings)
    validate(settings)
    return settings


def sandbox_issuer(settings) -> str:
    """The offline VNeID sandbox's issuer: mounted under the gateway outside production."""
    return settings["ISSUER"] + SANDBOX_PATH


def _wire_sandbox(settings: dict) -> None:
    """An empty VNEID_ISSUER outside production means the sandbox, so `make run` signs in with
    VNeID offline. Its client secret is derived from SECRET_KEY: every process of one gateway
    (and the sandbox it mounts) agrees on it without a file."""
    settings["VNEID_ISSUER"] = sandbox_issuer(settings)
    if not settings["VNEID_CLIENT_ID"]:
        settings["VNEID_CLIENT_ID"] = SANDBOX_CLIENT_ID
    if not settings["VNEID_CLIENT_SECRET"] and not settings["VNEID_PRIVATE_KEY_FILE"]:
        settings["VNEID_CLIENT_SECRET"] = hmac.new(
            settings["SECRET_KEY"].encode(), b"vneid sandbox client secret",
            hashlib.sha256).hexdigest()


def metrics_networks(value: str) -> list:
    """METRICS_ALLOW_FROM parsed: a list of networks (empty: any address)."""
    return [ipaddress.ip_network(x.strip(), strict=False) for x in value.split(",") if x.strip()]


def _validate_applications(settings: dict) -> None:
    """The declaration's limits: a photo's bytes and pixels bound the memory and time one
    upload may take (policies/images.py), the counts bound the SMS one source may cause."""
    if not 64 * 1024 <= settings["UPLOAD_MAX_BYTES"] <= 20 * 1024 * 1024:
        raise ConfigError("UPLOAD_MAX_BYTES", "must be 65536 to 20971520 bytes")
    if not 40_000 <= settings["UPLOAD_MAX_PIXELS"] <= 50_000_000:
        raise ConfigError("UPLOAD_MAX_PIXELS", "must be 40000 to 50000000 pixels")
    for name in ("APPLICATIONS_PER_ADDRESS", "APPLICATIONS_PER_PHONE",
                 "APPLICATION_STATUS_STARTS_PER_ADDRESS"):
        if settings[name] < 1:
            raise ConfigError(name, "must be 1 or more")
    if not 300 <= settings["APPLICATION_FLOW_TTL"] <= 7200:
        raise ConfigError("APPLICATION_FLOW_TTL", "must be 300 to 7200 seconds")


def is_production(settings) -> bool:
    return settings["ENV"] == "production"


def validate(settings: dict) -> None:
    if settings["ENV"] not in ("development", "production"):
        raise ConfigError("ENV", "must be 'development' or 'production'")
    if settings["SIGNING_ALG"] not in ("ES256", "RS256"):
        raise ConfigError("SIGNING_ALG", "must be ES256 or RS256")
    if settings["REDIS_URL"]:
        from gateway.store.redis_urls import parse

        try:
            parse(settings["REDIS_URL"])
        except ValueError as exc:
            raise ConfigError("REDIS_URL", str(exc)) from None
    if not 0 <= settings["REDIS_WAIT_REPLICAS"] <= 16:
        raise ConfigError("REDIS_WAIT_REPLICAS", "must be 0 to 16")
    if not 1 <= settings["REDIS_WAIT_MS"] <= 5000:
        raise ConfigError("REDIS_WAIT_MS", "must be 1 to 5000 milliseconds")
    if "{" in settings["REDIS_KEY_PREFIX"] or "}" in settings["REDIS_KEY_PREFIX"]:
        raise ConfigError("REDIS_KEY_PREFIX", "must not contain braces (Redis hash tags)")
    if settings["TRUSTED_PROXIES"] < 0:
        raise ConfigError("TRUSTED_PROXIES", "must be 0 or more")
    for name in ("WORKERS", "THREADS"):
        if settings[name] < 0:
            raise ConfigError(name, "must be 0 (from the cores) or more")
    issuer = urlsplit(settings["ISSUER"])
    if issuer.scheme not in ("http", "https") or not issuer.hostname:
        raise ConfigError("ISSUER", "must be an absolute http(s) URL")
    if issuer.query or issuer.fragment:
        raise ConfigError("ISSUER", "must not have a query or fragment")
    if settings["AUTHORIZATION_CODE_TTL"] > 60 or settings["AUTHORIZATION_CODE_TTL"] < 1:
        raise ConfigError("AUTHORIZATION_CODE_TTL", "must be between 1 and 60 seconds")
    for name, problem in otp_settings_problems(settings):
        raise ConfigError(name, problem)
    if settings["OUTBOX_MAX_ATTEMPTS"] < 1:
        raise ConfigError("OUTBOX_MAX_ATTEMPTS", "must be 1 or more")
    if not 3 <= settings["QUEUE_STALLED_AFTER"] <= 3600:
        raise ConfigError("QUEUE_STALLED_AFTER", "must be 3 to 3600 seconds")
    if not 0 <= settings["CLIENT_CACHE_SECONDS"] <= 60:
        raise ConfigError("CLIENT_CACHE_SECONDS", "must be 0 to 60 seconds")
    if not 10 <= settings["SWEEP_BATCH_SIZE"] <= 100_000:
        raise ConfigError("SWEEP_BATCH_SIZE", "must be 10 to 100000 rows")
    for name in ("SWEEP_EXPIRED_AFTER_DAYS", "OUTBOX_RETENTION_DAYS", "EVENTS_RETENTION_DAYS"):
        if not 0 <= settings[name] <= 36_500:
            raise ConfigError(name, "must be 0 to 36500 days")
    durations = str(settings["LOCKOUT_DURATIONS"]).split(",")
    if not all(x.strip().isdigit() and int(x) > 0 for x in durations):
        raise ConfigError("LOCKOUT_DURATIONS", "comma-separated positive seconds, e.g. 60,300,900")
    if settings["SMS_PROVIDER"] not in ("file", "http"):
        raise ConfigError("SMS_PROVIDER", "must be 'file' or 'http'")
    if settings["SMS_PROVIDER"] == "http":
        url = urlsplit(settings["SMS_HTTP_URL"])
        loopback = url.hostname in ("127.0.0.1", "localhost", "::1")
        if not url.hostname or url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ConfigError("SMS_HTTP_URL", "an https URL (http only on loopback)")
        if not settings["SMS_HTTP_TOKEN"]:
            raise ConfigError("SMS_HTTP_TOKEN", "required with SMS_PROVIDER=http")
    _validate_email(settings)
    if settings["BROWSER_SESSIONS_PER_ACCOUNT"] < 0:
        raise ConfigError("BROWSER_SESSIONS_PER_ACCOUNT", "0 (no limit) or more")
    if not 60 <= settings["STAFF_SESSION_TTL"] <= 24 * 3600:
        raise ConfigError("STAFF_SESSION_TTL", "must be 60 to 86400 seconds")
    if not 60 <= settings["STAFF_IDLE_TIMEOUT"] <= settings["STAFF_SESSION_TTL"]:
        raise ConfigError("STAFF_IDLE_TIMEOUT", "must be 60 seconds to STAFF_SESSION_TTL")
    if settings["RECOVERY_STARTS_PER_ADDRESS"] < 1:
        raise ConfigError("RECOVERY_STARTS_PER_ADDRESS", "must be 1 or more")
    _validate_applications(settings)
    if not 0 <= settings["ADDRESS_DELAY_MS"] <= 10_000:
        raise ConfigError("ADDRESS_DELAY_MS", "must be 0 to 10000 (a wait holds a worker)")
    if not 1 <= settings["ISSUED_PASSWORD_TTL_DAYS"] <= 90:
        raise ConfigError("ISSUED_PASSWORD_TTL_DAYS", "must be 1 to 90 days")
    if not 0 <= settings["KEY_PUBLISH_LEAD"] <= 7 * 24 * 3600:
        raise ConfigError("KEY_PUBLISH_LEAD", "must be 0 to 604800 seconds")
    if settings["LOCKOUT_THRESHOLD"] < 1:
        raise ConfigError("LOCKOUT_THRESHOLD", "must be 1 or more")
    try:
        networks = metrics_networks(settings["METRICS_ALLOW_FROM"])
    except ValueError:
        raise ConfigError("METRICS_ALLOW_FROM", "comma-separated addresses or networks "
                          "(CIDR), e.g. 127.0.0.1/32,10.20.0.0/24") from None
    if not networks and not settings["METRICS_TOKEN"]:
        raise ConfigError("METRICS_ALLOW_FROM", "empty (any address) needs METRICS_TOKEN")
    _validate_vneid(settings)
    if not is_production(settings):
        return
    secret = settings["SECRET_KEY"]
    if secret == DEV_SECRET or len(secret) < 32:
        raise ConfigError("SECRET_KEY", "production needs a random secret of 32+ characters")
    if issuer.scheme != "https":
        raise ConfigError("ISSUER", "production needs an https issuer")
    if settings["SMS_PROVIDER"] == "file":
        raise ConfigError("SMS_PROVIDER", "production needs 'http': a file would hold OTPs")
    if settings["EMAIL_PROVIDER"] == "file":
        raise ConfigError("EMAIL_PROVIDER", "production needs 'smtp': a file would hold "
                          "one-time passwords")
    if settings["DATABASE_URL"].startswith("sqlite"):
        raise ConfigError("DATABASE_URL", "production needs PostgreSQL, not SQLite")
    key = settings["KEY_ENCRYPTION_KEY"]
    if key and len(key) < 32:
        raise ConfigError("KEY_ENCRYPTION_KEY", "needs 32+ characters")
    if settings["METRICS_TOKEN"] and len(settings["METRICS_TOKEN"]) < 32:
        raise ConfigError("METRICS_TOKEN", "needs 32+ characters")
    _validate_vneid_production(settings)
    settings["DEMO_ENABLED"] = False


def _validate_email(settings: dict) -> None:
    """EMAIL_PROVIDER and its SMTP settings; a URL without TLS only towards loopback."""
    if settings["EMAIL_PROVIDER"] not in ("file", "smtp"):
        raise ConfigError("EMAIL_PROVIDER", "must be 'file' or 'smtp'")
    if not 1 <= settings["SMTP_TIMEOUT"] <= 300:
        raise ConfigError("SMTP_TIMEOUT", "must be 1 to 300 seconds")
    if settings["EMAIL_PROVIDER"] != "smtp":
        return
    try:
        target = parse_smtp_url(settings["SMTP_URL"])
    except ValueError as exc:
        raise ConfigError("SMTP_URL", str(exc)) from None
    if target.security == "plain" and not target.loopback:
        raise ConfigError("SMTP_URL", "smtp+plain (no TLS) only to a loopback address; "
                          "use smtp:// (STARTTLS) or smtps://")
    if not settings["SMTP_FROM"] or settings["SMTP_FROM"].count("@") != 1:
        raise ConfigError("SMTP_FROM", "an e-mail address, required with EMAIL_PROVIDER=smtp")
    if bool(settings["SMTP_USERNAME"]) != bool(settings["SMTP_PASSWORD"]):
        raise ConfigError("SMTP_PASSWORD", "SMTP_USERNAME and SMTP_PASSWORD go together")
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD"):
        if not settings[name].isascii():  # smtplib's AUTH PLAIN/LOGIN send ASCII only
            raise ConfigError(name, "ASCII characters only")
    if settings["SMTP_CA_FILE"] and not Path(settings["SMTP_CA_FILE"]).is_file():
        raise ConfigError("SMTP_CA_FILE", "no such file")


def _validate_vneid(settings: dict) -> None:
    """The VNeID upstream and the insurance register, in every environment."""
    issuer = urlsplit(settings["VNEID_ISSUER"])
    if settings["VNEID_ISSUER"] and (issuer.scheme not in ("http", "https")
                                     or not issuer.hostname or issuer.query or issuer.fragment):
        raise ConfigError("VNEID_ISSUER", "an absolute http(s) URL without query or fragment")
    try:
        parse_claim_map(settings["VNEID_CLAIMS"])
    except ClaimMapError as exc:
        raise ConfigError("VNEID_CLAIMS", str(exc)) from None
    if not [v for v in settings["VNEID_LEVEL2_VALUES"].split(",") if v.strip()]:
        raise ConfigError("VNEID_LEVEL2_VALUES", "at least one value, e.g. 2,LoA2")
    if "openid" not in settings["VNEID_SCOPE"].split():
        raise ConfigError("VNEID_SCOPE", "must include openid")
    if not 1 <= settings["VNEID_TIMEOUT"] <= 60:
        raise ConfigError("VNEID_TIMEOUT", "must be 1 to 60 seconds")
    if not 0 <= settings["VNEID_CLOCK_SKEW"] <= 300:
        raise ConfigError("VNEID_CLOCK_SKEW", "must be 0 to 300 seconds")
    if settings["VNEID_CLIENT_SECRET"] and settings["VNEID_PRIVATE_KEY_FILE"]:
        raise ConfigError("VNEID_PRIVATE_KEY_FILE", "set a client secret or a private key, "
                          "not both")
    if settings["VNEID_PRIVATE_KEY_FILE"]:
        try:
            load_private_key(settings["VNEID_PRIVATE_KEY_FILE"])
        except (OSError, ValueError) as exc:
            raise ConfigError("VNEID_PRIVATE_KEY_FILE", str(exc)) from None
    if settings["VNEID_ISSUER"] and not settings["VNEID_CLIENT_ID"]:
        raise ConfigError("VNEID_CLIENT_ID", "required with VNEID_ISSUER")
    if settings["VNEID_ISSUER"] and not (settings["VNEID_CLIENT_SECRET"]
                                         or settings["VNEID_PRIVATE_KEY_FILE"]):
        raise ConfigError("VNEID_CLIENT_SECRET", "VNEID_CLIENT_SECRET or "
                          "VNEID_PRIVATE_KEY_FILE is required with VNEID_ISSUER")
    register = settings["INSURANCE_REGISTER_FILE"]
    if register and not Path(register).is_file():
        raise ConfigError("INSURANCE_REGISTER_FILE", "no such file")
    cards = settings["HEALTH_CARD_FILE"]
    if cards and not Path(cards).is_file():
        raise ConfigError("HEALTH_CARD_FILE", "no such file")
    if not 30 <= settings["HEALTH_CARD_TTL"] <= 900:
        raise ConfigError("HEALTH_CARD_TTL", "must be 30 to 900 seconds")


def _validate_vneid_production(settings: dict) -> None:
    """Production signs in with the real VNeID only: never the sandbox, never in clear, and
    never against the sandbox's synthetic insurance register."""
    vneid = settings["VNEID_ISSUER"]
    if not vneid:
        raise ConfigError("VNEID_ISSUER", "production needs the upstream's issuer (the offline "
                          "sandbox is for development)")
    if vneid.startswith(sandbox_issuer(settings)) or SANDBOX_PATH in urlsplit(vneid).path:
        raise ConfigError("VNEID_ISSUER", "production refuses the offline sandbox")
    if urlsplit(vneid).scheme != "https":
        raise ConfigError("VNEID_ISSUER", "production needs an https issuer")
    if not settings["INSURANCE_REGISTER_FILE"]:
        raise ConfigError("INSURANCE_REGISTER_FILE", "production needs the register's file; "
                          "the default holds the sandbox's synthetic citizens")
    if not settings["HEALTH_CARD_FILE"]:
        raise ConfigError("HEALTH_CARD_FILE", "production needs the cards' file; the default "
                          "holds the demo cards")
