"""Every setting of the gateway, with its default and why it is what it is.

Each key can be overridden by an environment variable ``GATEWAY_<KEY>`` (for example
``GATEWAY_DATABASE_URL``). Values from the environment are parsed to the type of the default:
integers, booleans (``1/true/yes/on``) and strings. ``gateway.settings`` refuses an insecure
combination when ``ENV`` is ``production``. docs/configuration.md mirrors this file.
"""

# --- deployment -------------------------------------------------------------------------
# "development" (default) or "production". Production refuses a development secret, a
# non-https issuer and SQLite, and turns on Secure cookies and HSTS.
ENV = "development"

# Signs the CSRF tokens and session cookies. Production needs ≥ 32 random characters.
SECRET_KEY = "dev-insecure-secret-change-me"  # noqa: S105 (refused in production)

# The OpenID issuer identifier: the public base URL of the gateway, no trailing slash.
# localhost, not 127.0.0.1: browsers refuse an IP address as a passkey's RP ID, and localhost
# is a secure context without TLS (make run serves on 127.0.0.1, which localhost reaches).
ISSUER = "http://localhost:8000"

# SQLAlchemy URL. Empty means the embedded default: a SQLite file under instance/.
# Production: postgresql+psycopg://user@host/db
DATABASE_URL = ""

# Redis URL for ephemeral state (flows, throttling counters, revocation look-ups).
# Empty means the embedded default: the same store interface kept in the SQL database.
# redis:// or rediss:// (one server), redis+sentinel://h:p,h:p/<service>?db=N (the primary
# Sentinel names, found again after a failover), redis+cluster://h:p,h:p (Redis Cluster).
REDIS_URL = ""

# Replicas that must hold a one-time claim or consumption (a code's used-marker, a flow or an
# OTP taken, a DPoP proof's jti) before it counts (Redis WAIT). 0: none waited for, right for
# one server; 1 with Sentinel or a Cluster with replicas, so a failover cannot lose a claim
# and let the value be used twice (asynchronous replication loses the last writes).
REDIS_WAIT_REPLICAS = 0

# How long WAIT waits for REDIS_WAIT_REPLICAS, in milliseconds; short of them the request is
# answered 503 (fail closed). Loopback replicas answer in well under 1 ms.
REDIS_WAIT_MS = 200

# Put before every Redis key, so several gateways can share one Redis. No braces.
REDIS_KEY_PREFIX = ""

# Where the development SMS provider appends every message it "sends" (JSON lines).
# Empty means instance/sms-outbox.jsonl.
SMS_OUTBOX = ""

# Who carries SMS: "file" appends to SMS_OUTBOX (development and tests; refused in
# production, where OTPs would sit in a file), "http" posts to the operator's SMS gateway.
SMS_PROVIDER = "file"
SMS_HTTP_URL = ""     # https endpoint of the SMS gateway (SMS_PROVIDER=http)
SMS_HTTP_TOKEN = ""   # its bearer token

# Where the development e-mail provider appends every message it "sends" (JSON lines:
# to, subject, text, at). Empty means instance/email-outbox.jsonl.
EMAIL_OUTBOX = ""

# Where uploaded documents (applicants' portraits and CCCD photos) are kept, outside every
# public path. Empty means instance/uploads. Several gateway hosts must share it.
FILE_STORE_DIR = ""

# Who carries e-mail: "file" appends to EMAIL_OUTBOX (development and tests; refused in
# production, where one-time passwords would sit in a file), "smtp" submits through SMTP_URL.
EMAIL_PROVIDER = "file"
# smtp://host:587 or smtp+starttls://host:587 (STARTTLS required), smtps://host:465 (implicit
# TLS), smtp+plain://127.0.0.1:25 (no TLS; loopback only). Required with EMAIL_PROVIDER=smtp.
SMTP_URL = ""
SMTP_FROM = ""       # the sender address (From and envelope), e.g. no-reply@vss.gov.vn
SMTP_USERNAME = ""   # empty: no authentication (AUTH only ever over TLS or on loopback)
SMTP_PASSWORD = ""   # its password
SMTP_TIMEOUT = 10    # seconds for connecting and for each SMTP reply
SMTP_CA_FILE = ""    # PEM file of the CAs trusted for the SMTP server; empty: the system's

# How many reverse proxies' X-Forwarded-For entries to trust. 0: use the socket address.
# Every per-address limit uses the address this yields.
TRUSTED_PROXIES = 0

# Worker processes of the production server (`python -m gateway.serving`, `make run`).
# 0: one per core on PostgreSQL; one on the embedded SQLite default, which refuses more.
WORKERS = 0
# Threads per worker process. 0: 8 on PostgreSQL (a request mostly waits on the database,
# Redis or VNeID); 4 per core, at least 8, on the embedded default's one process.
THREADS = 0

# --- keys ---------------------------------------------------------------------------------
# Signing algorithm of new keys: ES256 (default) or RS256. Both are published in JWKS.
SIGNING_ALG = "ES256"

# Encrypts private signing keys at rest (AES-256-GCM under a key derived with HKDF).
# Empty: derived from SECRET_KEY. Set it separately to rotate SECRET_KEY independently.
KEY_ENCRYPTION_KEY = ""

# A rotated key is published in JWKS this many seconds before it signs anything, so relying
# services holding a cached JWKS (ours says max-age=60; jose keeps one up to 10 minutes,
# PyJWKClient 5) already know it when its first token arrives. `keys rotate --now` skips the
# wait (a suspected compromise). 0: the new key signs at once.
KEY_PUBLISH_LEAD = 900

# --- lifetimes (seconds) ------------------------------------------------------------------
AUTHORIZATION_CODE_TTL = 60          # RFC 9700: short-lived, single use
ACCESS_TOKEN_TTL = 300               # RFC 9068 JWTs; short because JWTs are checked offline
ID_TOKEN_TTL = 600                   # ID tokens are read once, at sign-in
REFRESH_TOKEN_TTL = 30 * 24 * 3600   # absolute lifetime of a refresh-token family
SESSION_TTL = 8 * 3600               # SSO session in the browser
LOGIN_FLOW_TTL = 600                 # a pending /authorize request waiting for the login page
CLIENT_ASSERTION_LEEWAY = 30         # clock skew allowed on private_key_jwt exp/nbf/iat
CLIENT_ASSERTION_MAX_AGE = 300       # an assertion whose exp is further away is refused

# --- access tokens ------------------------------------------------------------------------
# The audience of access tokens when the client names no `resource` (RFC 8707).
# Empty: the issuer itself (userinfo and introspection are served by the issuer).
DEFAULT_RESOURCE = ""

# --- one active device (gateway/services/devices.py) -----------------------------------------
# The VssID rule (one device at a time) applies to `app` clients through the challenge
# endpoint. Browser sessions on the portal are governed separately by this number: how many
# live browser sessions an account may keep; a new sign-in ends the oldest. 0 = no limit.
BROWSER_SESSIONS_PER_ACCOUNT = 0

# --- VNeID, the national eID, as an upstream OpenID provider (providers/vneid.py) -----------
# The upstream's issuer; discovery is read from {issuer}/.well-known/openid-configuration.
# Empty: outside production, the offline sandbox at {ISSUER}/sandbox/vneid (`make run` signs in
# with synthetic citizens, no network); production refuses it empty, and refuses the sandbox.
# Register {ISSUER}/vneid/callback as the redirect URI upstream.
VNEID_ISSUER = ""
# Our client id at the upstream. Empty with the sandbox: "vssid-gateway".
VNEID_CLIENT_ID = ""
# client_secret_basic at the token endpoint. Empty with the sandbox: derived from SECRET_KEY.
VNEID_CLIENT_SECRET = ""  # noqa: S105 (empty: no secret)
# A private key (PEM, RSA or P-256) for private_key_jwt instead of a secret; set one, not both.
VNEID_PRIVATE_KEY_FILE = ""
VNEID_SCOPE = "openid"  # space-separated scopes asked for; must include openid
VNEID_ACR_VALUES = ""  # sent as acr_values when set (e.g. LoA2); the level is never read from acr
# JSON object from our fields to the upstream's claim names, read from the ID token and then
# userinfo. The default is the national public-service portal's SSO; a missing subject claim
# falls back to `sub`.
VNEID_CLAIMS = ('{"subject": "TechID", "id_number": "SoDinhDanh", "full_name": "HoVaTen", '
                '"birthdate": "NgayThangNamSinh", "sex": "GioiTinh", "phone": "SoDienThoai", '
                '"account_type": "LoaiTaiKhoan", "level": "loAs"}')
# Values of the level claim that mean an identity of level 2 (comma-separated); anything else,
# or no level claim, is level 1.
VNEID_LEVEL2_VALUES = "2,LoA2"
# Seconds a request to the upstream (discovery, JWKS, token, userinfo) may take. 1 to 60.
VNEID_TIMEOUT = 10
# Seconds the upstream's clock may differ from ours: an ID token's iat must lie within this of
# now, and exp may be this far past. 0 to 300.
VNEID_CLOCK_SKEW = 60
# The insurance register (social-insurance number by CCCD) as a CSV file with the header
# id_number,bhxh_number,full_name,date_of_birth. Empty: gateway/data/insurance-register.csv,
# the sandbox citizens (refused in production).
INSURANCE_REGISTER_FILE = ""

# --- the health-insurance card QR (POST /api/v1/health-card/presentation; docs/health-card.md)
# The cards (card number, validity, primary-care facility by social-insurance number) as a CSV
# file with the header card_number,full_name,date_of_birth,valid_from,valid_to,facility_code,
# facility_name. Empty: gateway/data/health-cards.csv, the demo cards (refused in production).
HEALTH_CARD_FILE = ""
# Seconds a card presentation (the QR) is valid, 30 to 900: long enough to queue at a counter,
# short enough that a photo of the QR is soon worthless (a takeover ends it at once online).
HEALTH_CARD_TTL = 300

# --- people -------------------------------------------------------------------------------
DEFAULT_LOCALE = "vi"                # Vietnamese first; ?lang=en switches to English
# The SSO session cookie. Not SESSION_COOKIE_NAME: that is Flask's key for its own signed
# session cookie (CSRF tokens, the demo's state), and sharing one name made each overwrite
# the other.
SSO_COOKIE_NAME = "vssid_sso"

# --- staff console (/staff/; gateway/services/staff_sessions.py) ---------------------------
# Its own sessions and cookie, never the citizens' SSO. Seconds without a request after which
# a console session ends (an unattended counter), 60 to STAFF_SESSION_TTL.
STAFF_IDLE_TIMEOUT = 15 * 60
# Seconds after sign-in at which a console session ends whatever happens (one working day),
# then the password and a fresh TOTP code again. At most 24 hours.
STAFF_SESSION_TTL = 8 * 3600

# --- passwords (docs/password-policy.md: rotation is BHXH's rule, a documented deviation) ---
PASSWORD_MAX_AGE_DAYS = 180      # a sign-in after this many days forces a change
PASSWORD_REMIND_DAYS = 14        # SMS reminders start this many days before expiry
PASSWORD_HISTORY = 5             # a new password may not be one of the last N (current included)
# An issued one-time password (account issuance, staff reset) that is still unchanged this
# many days after it was sent no longer signs in: recovery or the office issues a new one.
ISSUED_PASSWORD_TTL_DAYS = 14

# --- lockout and throttling (policies/lockout.py explains the design) -------------------
LOCKOUT_THRESHOLD = 5                    # consecutive failures that lock a login name
LOCKOUT_DURATIONS = "60,300,900"         # seconds of the 1st, 2nd, 3rd+ lock within 24 h
# Failures from one source address (IPv6: its /64) per window, not redeemed by a later
# sign-in of the same name from it, before each check from the address waits ADDRESS_DELAY_MS.
ADDRESS_FAILURE_LIMIT = 50
ADDRESS_FAILURE_LIMIT_UNDER_ATTACK = 10  # past this, refused (429) while the global alarm is on
ADDRESS_FAILURE_WINDOW = 600             # seconds
# Milliseconds each password or code check from an address past ADDRESS_FAILURE_LIMIT waits
# before it runs: a person waits once per try, a sprayer once per guess and connection.
# 0 to 10000 (a waiting request holds a server worker).
ADDRESS_DELAY_MS = 2000
GLOBAL_FAILURE_ALARM_PER_MINUTE = 1000   # failures per minute that switch the alarm on
RECOVERY_STARTS_PER_ADDRESS = 20         # forgot-password requests per address per window

# --- one-time codes by SMS (policies/otp_rules.py explains the numbers) -------------------
OTP_TTL = 300                  # seconds a code lives; at most 600 (checked at start)
OTP_RESEND_COOLDOWN = 60       # seconds before a new code for the same account, purpose, flow
OTP_MAX_ATTEMPTS = 5           # wrong tries that burn one code
# Wrong tries per account in 24 h, across codes; not reset by a resend, and no code is sent
# while it is used up. Forgot-password codes count per login name instead (whether or not an
# account has it), so their answers never depend on whether one does.
OTP_FAILURE_BUDGET = 10
OTP_DAILY_CAP_ACCOUNT = 10     # codes sent per account per UTC day
OTP_DAILY_CAP_PHONE = 10       # codes sent per phone number per UTC day (SMS pumping)

# --- account applications (the online declaration; gateway/services/applications.py) -----
# Largest photo (portrait, CCCD front or back) accepted, in bytes as uploaded; larger is refused
# (file_too_large). The declaration's whole request may be 3 photos plus MAX_CONTENT_LENGTH;
# a longer body is answered 413 before it is read. 64 KiB to 20 MiB.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
# Largest width x height a photo may declare; refused from its header before any decoding
# (a decompression bomb costs a header read). 40,000 to 50,000,000.
UPLOAD_MAX_PIXELS = 24_000_000
# Declarations (valid or not) one address may send per ADDRESS_FAILURE_WINDOW before 429.
APPLICATIONS_PER_ADDRESS = 10
# Valid declarations naming one phone number per UTC day before 429 (each sends it an SMS).
APPLICATIONS_PER_PHONE = 5
# Status look-ups (each may send an OTP) one address may start per ADDRESS_FAILURE_WINDOW.
APPLICATION_STATUS_STARTS_PER_ADDRESS = 20
# Seconds a status look-up lives after its last step: to type the code, read the status and
# correct a rejected declaration (new photos included). 300 to 7200.
APPLICATION_FLOW_TTL = 1800

# --- clients in process (gateway/services/client_cache.py) -------------------------------
# Seconds between a process's checks of the clients' version in the store: a client changed
# by `clients …` on one host is seen by every gateway process within this time (at once by the
# process that changed it). Between checks the token endpoint reads no client row. 0 to 60.
CLIENT_CACHE_SECONDS = 2

# --- outbox (messages to people; gateway/services/outbox/) ------------------------------
# Delivery attempts before a message is given up (event message.failed). Retries wait 30 s,
# 60 s, 120 s, ... at most 1 h; 8 attempts span about an hour.
OUTBOX_MAX_ATTEMPTS = 8

# --- task queue (PostgreSQL only; gateway/jobs/) -------------------------------------------
# Seconds without a heartbeat after which a worker counts as dead and the jobs it was running
# are retried (stalled-job recovery, every minute). Workers beat every third of it. 3 to 3600.
QUEUE_STALLED_AFTER = 30

# --- sweeps (gateway/services/sweeps.py; docs/operations.md, "Sweeps") -------------------
# Rows deleted per statement (and per commit) by a sweep: small enough that a batch holds its
# locks for milliseconds, large enough that a day's expired rows go in a few minutes.
SWEEP_BATCH_SIZE = 1000
# Days an expired session or refresh-token family stays (support questions: "why was I signed
# out?") before the sweep deletes it. A refresh token is never deleted before its family has
# expired, so a stolen, rotated token is still recognised as reused until then.
SWEEP_EXPIRED_AFTER_DAYS = 7
# Days a delivered or given-up outbox message stays (its content is erased at once; the row
# is the delivery's record).
OUTBOX_RETENTION_DAYS = 30
# Days a stored event (a row of `events`; never the chained audit_records) is kept. Two years
# online: long enough for the complaints and inspections an identity provider answers;
# archive the rows first (COPY) if a longer record is required. 0 keeps them forever.
EVENTS_RETENTION_DAYS = 730

# --- migration (gateway/jobs/migration/) --------------------------------------------------
# Accounts imported from the old VssID system (`migrate import-legacy`) must change their
# password at the first sign-in (BHXH's policy for issued passwords). Off: the legacy password
# stays valid until PASSWORD_MAX_AGE_DAYS after the import.
MIGRATION_FORCE_PASSWORD_CHANGE = True

# --- operations ---------------------------------------------------------------------------
LOG_LEVEL = "INFO"                   # JSON logs on stderr; DEBUG, INFO, WARNING, ERROR
# Serve the demo relying party at /demo. Always off in production.
DEMO_ENABLED = True
# The demo relying party's credentials (JSON: client_id, client_secret), written by
# `flask demo seed` and read by /demo. Empty means instance/demo-client.json; tests point it
# at a temporary file so they never touch the instance folder.
DEMO_CLIENT_FILE = ""
# Largest request body accepted, in bytes (oversized parameters get 413, never 500).
MAX_CONTENT_LENGTH = 64 * 1024
# Who may read /metrics: addresses or networks (CIDR), comma-separated, as TRUSTED_PROXIES
# yields them. The default is this machine only. Empty means any address, and is refused
# without METRICS_TOKEN.
METRICS_ALLOW_FROM = "127.0.0.1/32,::1/128"
# A bearer token a scraper must send as well (Authorization: Bearer ...). Empty: none.
# Production: 32+ characters when set.
METRICS_TOKEN = ""
