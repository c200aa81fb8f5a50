"""The Authorization Challenge Endpoint (draft-ietf-oauth-first-party-apps-04) for the
first-party VssID app: errors, request parsing, and the code it ends with. The steps live in
gateway.flows.device_login; this module is the protocol surface only.

Error answers are the draft's codes (§5.2.2) plus a stable `reason` for the app:

    insufficient_authorization  reason: invalid_credentials | issued_password_expired |
                                account_locked | too_many_attempts | password_change_required |
                                device_conflict | otp_required | otp_* | password_rejected
    invalid_session             reason: session_expired | session_unknown |
                                dpop_key_mismatch | device_changed
    invalid_request, invalid_client, unauthorized_client
"""

from __future__ import annotations

import re
import secrets

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app

from gateway.oidc.errors import ReasonMixin
from gateway.oidc.grants import session_context, store_code
from gateway.oidc.parameters import DEVICE_ID
from gateway.oidc.parameters import device_name as _device_name

CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


class ChallengeError(ReasonMixin, OAuth2Error):
    """An answer of the challenge endpoint that is not a code; `extra` joins the body."""

    def __init__(self, error: str, reason: str | None = None, *, status: int = 400,
                 description: str | None = None, **extra):
        super().__init__(description=description, status_code=status)
        self.error = error
        self.reason = reason
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def get_body(self):
        body = super().get_body()
        body.extend(self.extra.items())
        return body

    def get_headers(self):
        headers = super().get_headers()
        if "retry_after" in self.extra:
            headers.append(("Retry-After", str(self.extra["retry_after"])))
        return headers


def insufficient(reason: str, **extra) -> ChallengeError:
    return ChallengeError("insufficient_authorization", reason, **extra)


def invalid_session(reason: str) -> ChallengeError:
    return ChallengeError("invalid_session", reason)


def invalid_request(reason: str, description: str | None = None) -> ChallengeError:
    return ChallengeError("invalid_request", reason, description=description)


def device_name(value: str) -> str:
    name = _device_name(value)
    if name is None:
        raise invalid_request("invalid_device_name", "device_name: 1-100 printable characters.")
    return name


def device_id(value: str) -> str:
    if not isinstance(value, str) or not DEVICE_ID.match(value):
        raise invalid_request("invalid_device_id", "device_id: 8-128 of A-Z a-z 0-9 . _ : -")
    return value


def pkce(form) -> str:
    challenge = form.get("code_challenge", "")
    if form.get("code_challenge_method") != "S256" or not CODE_CHALLENGE.match(challenge):
        raise invalid_request("invalid_pkce", "PKCE with code_challenge_method=S256 required.")
    return challenge


def issue_code(session, *, client_id: str, jkt: str, scope: str, code_challenge: str) -> str:
    """The authorization code a finished sign-in answers with: bound to the DPoP key that
    signed in, redeemed at /token like any other (gateway.oidc.code_grant)."""
    code = secrets.token_urlsafe(32)
    ctx = session_context(session, resource=current_app.config["DEFAULT_RESOURCE"], jkt=jkt)
    store_code(code, client_id=client_id, redirect_uri=None, scope=scope,
               code_challenge=code_challenge, ctx=ctx)
    return code
