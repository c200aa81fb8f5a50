"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) on Authlib's endpoint.

Redirects only to a registered post_logout_redirect_uri, byte for byte, and only with a valid
id_token_hint; ends the browser's session and the session named by the hint's `sid`.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask import current_app

from gateway.models import LoginSession
from gateway.oidc.keys import public_jwks
from gateway.oidc.tokens import ACCEPTED_ALGS, read_id_token
from gateway.services import sessions


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
        return validated

    def end_session(self, end_session_request):
        current, _ = sessions.current_session()
        if current is not None:
            sessions.end_session(current, "logout")
        claims = end_session_request.id_token_claims or {}
        sid = claims.get("sid")
        if sid and (current is None or current.sid != sid):
            named = LoginSession.query.filter_by(sid=sid).first()
            if named is not None and named.revoked_at is None:
                sessions.end_session(named, "logout")
