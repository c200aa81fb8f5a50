"""Introspection (RFC 7662), revocation (RFC 7009) and the userinfo token check (RFC 6750)."""

from __future__ import annotations

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import current_app

from gateway.clock import clock
from gateway.oidc.claims import user_claims
from gateway.oidc.token_views import AccessToken, find_token
from gateway.services.events import emit
from gateway.services.revocation import revoke_access_token, revoke_family

CONFIDENTIAL_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def query_token(self, token_string, token_type_hint):
        token = find_token(token_string, token_type_hint)
        if isinstance(token, AccessToken):
            token.status_only = True  # `active` needs the account's state, not the account
        return token

    def check_permission(self, token, client, request):
        """RFC 7662 §4: only the client the token was issued to, and a `service` registered
        as the resource server for one of an access token's audiences (`clients create
        --resource`). Refresh tokens: only their own client. Anyone else gets what Authlib
        answers for an unknown token, `200 {"active": false}`, so a refusal does not even say
        whether the token is alive. Public clients never reach here."""
        if token.check_client(client):
            return True
        return isinstance(token, AccessToken) and client.serves_audience(token.audiences)

    def introspect_token(self, token):
        return token.introspection()


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if isinstance(token, AccessToken):
            c = token.claims
            revoke_access_token(c["jti"], c["exp"], clock().timestamp())
            emit("token.revoked", client_id=c["client_id"], kind="access_token", commit=True)
        else:
            # RFC 7009 §2.1: revoking a refresh token revokes its whole grant.
            revoke_family(token.row.family_id, "revoked_by_client")
            emit("token.revoked", account_id=token.row.account_id,
                 client_id=token.row.client_id, kind="refresh_token", commit=True)


class UserInfoEndpoint(_UserInfoEndpoint):
    def get_issuer(self):
        return current_app.config["ISSUER"]

    def generate_user_info(self, user, scope):
        return user_claims(user, scope)
