"""The OpenID extension of the code grant: adds the ID token, built by gateway.oidc.tokens.

Authlib's prompt handling is not registered: prompt, max_age and login are decided in the
authorization view, which knows the browser session.
"""

from __future__ import annotations

from authlib.oidc.core import OpenIDCode as _OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope
from authlib.oidc.core.util import create_half_hash

from gateway.oidc.keys import signing_key
from gateway.oidc.tokens import mint_id_token


class OpenIDCode(_OpenIDCode):
    def __init__(self):
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce, request):
        # The nonce protects the client; replays are caught by the single-use code.
        return False

    def process_token(self, grant, response):
        _, token, _ = response
        if not is_openid_scope(token.get("scope")):
            return token
        request = grant.request
        alg, _ = signing_key()
        extra = {"at_hash": create_half_hash(token["access_token"], alg).decode()}
        token["id_token"] = mint_id_token(
            client_id=request.client.client_id,
            sub=request.user.sub,
            ctx=grant.token_context(),
            extra=extra,
        )
        return token

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                self.validate_openid_authorization_request,
            )
