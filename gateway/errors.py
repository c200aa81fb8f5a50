"""Domain errors. Programs read `code`; people read the message for `code` in their language.

Exception tree::

    GatewayError                    code, status, field
     ├── ValidationError            400  bad input, `field` names it
     ├── ConflictError              409  e.g. a social-insurance number already has an account
     ├── AuthenticationError        401  one generic answer for unknown account / wrong password
     └── ServiceUnavailableError    503  a store is down: fail closed

Protocol errors are Authlib's OAuth2Error subclasses and never pass through here.
"""

from __future__ import annotations


class GatewayError(Exception):
    status = 400
    code = "error"

    def __init__(self, code: str | None = None, *, field: str | None = None, detail: str = ""):
        super().__init__(detail or code or self.code)
        if code:
            self.code = code
        self.field = field
        self.detail = detail


class ValidationError(GatewayError):
    status = 400
    code = "invalid_input"


class ConflictError(GatewayError):
    status = 409
    code = "conflict"


class AuthenticationError(GatewayError):
    status = 401
    code = "invalid_credentials"


class ServiceUnavailableError(GatewayError):
    status = 503
    code = "temporarily_unavailable"
