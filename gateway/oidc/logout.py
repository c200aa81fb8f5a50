"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) on Authlib's endpoint.

Redirects only to a registered post_logout_redirect_uri, byte for byte, and only with a valid
id_token_hint. Ends only the session of the browser that asks, and without a question only
when the hint names that very session (§2: "If the End-User's identity as indicated by the
id_token_hint does not match the End-User currently logged in, the OP should ask"; §6: a logout
request is a means of denial of service). Why so narrow:

* an ID token is not a secret of the person it names: every relying party that received it,
  and anyone those leak it to, holds it. A hint that merely *verifies* proves nothing about
  who follows the link; an attacker's link carrying the attacker's own ID token would
  otherwise sign the victim out of VssID silently;
* the session a hint names is ended only when it is the browser's own: a third party with
  someone's old ID token, confirming in its own browser, must not end that person's session
  elsewhere. Relying parties end their own grants with /revoke (RFC 7009).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from authlib.oidc.rpinitiated import EndSessionRequest
from flask import current_app

from gateway.oidc.keys import public_jwks
from gateway.oidc.tokens import ACCEPTED_ALGS, read_id_token
from gateway.services import sessions


@dataclass
class BrowserEndSessionRequest(EndSessionRequest):
    """Authlib's request, plus whether the hint names the session of the browser asking."""

    hint_matches_session: bool = False
    hint_given: bool = False

    @property
    def needs_confirmation(self) -> bool:
        # Authlib asks only when there is no valid hint; the gateway asks unless the valid hint
        # is for this browser's session.
        return not self.hint_matches_session


def hint_matches(claims: dict | None, session, account) -> bool:
    """Same `sid` as the browser's session (and the same person); a hint without `sid`
    (optional in OIDC Core) matches on the person, its `sub`, alone."""
    if not claims or session is None or account is None:
        return False
    if claims.get("sub") != account.sub:
        return False
    sid = claims.get("sid")
    return sid is None or sid == session.sid


class EndSessionEndpoint(_EndSessionEndpoint):
    def get_server_jwks(self):
        return public_jwks()

    def get_algorithms(self):
        return ACCEPTED_ALGS

    def validate_request(self, request):
        hint = request.payload.data.get("id_token_hint")
        if hint and read_id_token(hint, allow_expired=True) is None:
            # Authlib accepts a token of any `typ` (an access token would end the session it
            # names, unconfirmed) and raises (a 500) while no key exists yet; the gateway's own
            # reader accepts only its ID tokens, and refuses anything else without raising.
            raise InvalidRequestError("Invalid 'id_token_hint'.")
        validated = super().validate_request(request)
        claims = validated.id_token_claims
        if claims is not None and claims.get("iss") != current_app.config["ISSUER"]:
            raise InvalidRequestError("'id_token_hint' was not issued here.")
        session, account = sessions.current_session()
        return BrowserEndSessionRequest(
            **{f.name: getattr(validated, f.name) for f in fields(validated)},
            hint_matches_session=hint_matches(claims, session, account),
            hint_given=claims is not None,
        )

    def end_session(self, end_session_request):
        # Only the browser's own session, whatever the hint names (see the module docstring).
        current, _ = sessions.current_session()
        if current is not None:
            sessions.end_session(current, "logout")
