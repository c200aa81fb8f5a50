"""Protocol errors Authlib lacks, in its style: ASCII codes from the RFCs, plus a `reason`.

`reason` is a stable snake_case code for the first-party app (e.g. `session_replaced`), so it
can tell the person why without parsing the English description.
"""

from authlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error


class ReasonMixin:
    reason: str | None = None

    def get_body(self):
        body = super().get_body()
        if self.reason:
            body.append(("reason", self.reason))
        return body


class InvalidGrantWithReason(ReasonMixin, InvalidGrantError):
    def __init__(self, reason: str, description: str | None = None):
        super().__init__(description=description)
        self.reason = reason


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is not one this server issues tokens for."""

    error = "invalid_target"


class RequestNotSupportedError(OAuth2Error):
    error = "request_not_supported"


class RequestUriNotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"
