"""Domain errors: a decision the gateway made about a request. Programs read `code` (stable);
people read the message for `code` in their language; `status` is the HTTP status.

Every domain error, wherever it is defined (each beside the code that raises it)::

    GatewayError                      400  code, status, field, retry_after
     ├── ValidationError              400  bad input, `field` names it
     │    ├── PasswordRejectedError   400  services/passwords.py: + `violations`, every rule broken
     │    ├── OfficeFileError         400  services/offices.py: + `errors`, every bad line of a file
     │    ├── MigrationFileError      400  jobs/migration/files.py: a file a migration job
     │    │                                cannot use (bad_header, unreadable, file_changed, …)
     │    └── DeclarationInvalidError 422  services/applications.py: + `fields`, every field
     │                                     of a declaration refused, `{field: code}`
     ├── ConflictError                409  e.g. a social-insurance number already has an account
     │    ├── DecisionRefusedError    409  services/application_decisions.py: the application's
     │    │                                status does not allow the decision (or just changed)
     │    ├── AlreadyLinkedError      409  services/links.py: the one-to-one VNeID link rule
     │    └── ResubmissionRefusedError 409 services/applications.py: not rejected, or its
     │                                     correction was already submitted
     ├── AuthenticationError          401  one generic answer for unknown account / wrong password
     │    └── IssuedPasswordExpiredError 401  methods/password.py: the right issued password,
     │                                    expired unused (recovery or the office issues anew)
     ├── ApplicationNotFoundError     404  services/application_queue.py: no such application
     │                                     in the staff member's scope (another office's alike)
     ├── StreamNotFoundError          404  services/ssf_streams.py: no such Shared Signals stream
 │                                     of this receiver (another receiver's stream alike)
 ├── VerificationTooSoonError     429  services/ssf_streams.py: a stream's verification event
 │                                     asked for again within min_verification_interval
 ├── DeviceChangedError           409  services/devices.py: the active device changed (a race)
     ├── LockedError                  429  services/throttle.py: the login name is locked
     ├── ThrottledError               429  services/throttle.py: the address is over its limit
     ├── CccdTriesExceededError       429  services/counter.py: too many wrong CCCD numbers for
     │                                     one account's phone change today
     ├── PhoneChangeRefusedError      403  flows/phone_change.py: this session may not change
     │                                     its own phone (not a recent level-2 VNeID sign-in)
     ├── PhoneChangeLimitError        429  flows/phone_change.py: too many self-service phone
     │                                     changes started for the account today
     ├── OtpError                400/429  methods/otp.py: a code refused, or none could be sent
     ├── PasskeyError        400-409  services/passkeys.py: a passkey ceremony or change
     │                                refused (passkey_refused 401, password_required 403,
     │                                passkey_not_found 404, passkey_exists/limit 409, …)
     ├── FlowError                    400  flows/record.py: a flow record refused the step
     │    ├── FlowNotFoundError       400  no such record (expired, consumed, never made)
     │    ├── FlowBindingError        400  bound to another browser, client or DPoP key
     │    └── FlowStateError          400  the kind's table does not allow the step here
     ├── VneidSignInError         400/502  flows/vneid_login.py: the VNeID sign-in ended (the
     │                                     upstream unreachable 502, cancelled, refused, its
     │                                     answer invalid, the linked account inactive)
     ├── HealthCardNotFoundError      404  oidc/health_card.py: the account has no health card
     ├── DeviceNotActiveError         403  oidc/health_card.py: a card presentation asked for
     │                                     with a token not of the account's active device
     ├── PresentationError            400  oidc/health_card.py: a card presentation not ours,
     │    │                                tampered (presentation_invalid) or expired
     │    └── PresentationRevokedError 409 its device is no longer the account's active one
     ├── VerifierRequiredError        403  oidc/health_card.py: the client is not a registered
     │                                     verifier (a service with the scope health_card)
     └── InsufficientAuthorizationError 400  flows/device_login.py: the app sign-in needs
                                           more (device_conflict, otp_required, ...)

`GatewayError.body()` is what a program sees (`{"error": code, "field": ...}`, plus what a
subclass adds); `retry_after` (seconds), when set, becomes the `Retry-After` header. One
renderer turns them into answers: gateway/views/errors.py (JSON for programs, a page for
people), for the whole app, the JSON API included.

Not domain errors, because nothing was decided:

* an unreachable dependency — `gateway.availability.StoreUnavailableError` (the store) and
  the database errors `gateway.availability.database_unreachable` recognises — is answered
  `503 temporarily_unavailable` with `Retry-After`, counted and logged by the same renderer;
  deliberately not a GatewayError, so no `except GatewayError` ever mistakes an outage for
  a refusal of the request;
* protocol errors are Authlib's `OAuth2Error` subclasses (gateway/oidc/errors.py and beside
  the endpoints), in their RFCs' shape, and never pass through here;
* the pure rules raise their own `ValueError`s (`policies.identifiers.IdentifierError`,
  `policies.redirect_uris.RedirectUriError`), which services turn into ValidationError;
  `providers.sms.DeliveryError` is a delivery outcome the outbox records;
  `gateway.settings.ConfigError` stops the app at start.
"""

from __future__ import annotations


class GatewayError(Exception):
    status = 400
    code = "error"
    retry_after: int | None = None  # seconds; the Retry-After header when set

    def __init__(self, code: str | None = None, *, field: str | None = None, detail: str = ""):
        super().__init__(detail or code or self.code)
        if code:
            self.code = code
        self.field = field
        self.detail = detail

    def body(self) -> dict:
        """What a program reads: the stable code, and the field concerned if there is one.
        Never `detail`: that is for logs and operators."""
        body = {"error": self.code}
        if self.field:
            body["field"] = self.field
        return body


class ValidationError(GatewayError):
    status = 400
    code = "invalid_input"


class ConflictError(GatewayError):
    status = 409
    code = "conflict"


class AuthenticationError(GatewayError):
    status = 401
    code = "invalid_credentials"
