"""Builds the Authlib authorization server with the gateway's grants, endpoints and hooks."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.errors import UnsupportedResponseTypeError
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app, has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite

from gateway.extensions import db
from gateway.models import Client, SessionClient
from gateway.oidc import backchannel  # also registers its outbox sender on import
from gateway.oidc.client_auth import PrivateKeyJWT
from gateway.oidc.code_grant import AuthorizationCodeGrant
from gateway.oidc.dpop_binding import BearerTokenValidator, DPoPTokenValidator
from gateway.oidc.endpoints import (
    IntrospectionEndpoint,
    RevocationEndpoint,
    UserInfoEndpoint,
)
from gateway.oidc.grants import ClientCredentialsGrant, issued_for
from gateway.oidc.logout import EndSessionEndpoint
from gateway.oidc.openid import OpenIDCode
from gateway.oidc.pkce import S256CodeChallenge
from gateway.oidc.refresh_grant import RefreshTokenGrant
from gateway.oidc.ssf import init_ssf  # also registers its outbox sender on import
from gateway.services.client_cache import cached_client, copies_allowed_here
from gateway.services.events import emit
from gateway.services.revocation import session_ended

# Where clients authenticate on every call (machines, thousands a second): the client comes
# from the process's copies (gateway/services/client_cache.py), not from its row. /authorize
# and the other pages of a person's sign-in read the row: they need the database anyway, and
# a database outage is then answered at once (503) rather than after the password is typed;
# only the /authorize of a browser whose session was just read uses the copies too
# (AuthorizationCodeGrant.validate_authorization_request, client_copies_allowed).
CACHED_CLIENT_ENDPOINTS = frozenset({"oauth.token", "oauth.introspect", "oauth.revoke"})


def query_client(client_id):
    # NUL: PostgreSQL refuses it in a text parameter (a DataError, a 500); no client has one.
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or (
            "\x00" in client_id):
        return None
    if has_request_context() and (request.endpoint in CACHED_CLIENT_ENDPOINTS
                                  or copies_allowed_here()):
        return cached_client(client_id)
    return Client.query.filter_by(client_id=client_id).first()


def save_token(token, request):
    """Refresh-token rows were added by the grant; commit them with the session link.

    The link (which clients a session signed in to, for back-channel logout) is made when a
    code is redeemed; a refresh belongs to a session that code linked already, so it reads
    nothing here. The link is one `INSERT … ON CONFLICT DO NOTHING`: a session already linked
    to the client (single sign-on again), or two grants racing to link it, lose only the
    duplicate link, never the refresh token they are about to hand out.
    `token.issued` is a log event: no row (docs/events.md). A grant that wrote nothing (a
    client's own token) commits nothing."""
    ctx = issued_for(request)
    client = request.client
    if ctx is not None and ctx.sid and request.authorization_code is not None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(SessionClient).values(
            sid=ctx.sid, client_id=client.client_id).on_conflict_do_nothing())
    emit(
        "token.issued",
        account_id=ctx.account_id if ctx else None,
        client_id=client.client_id,
        grant_type=request.payload.grant_type,
        refresh=bool(token.get("refresh_token")),
    )
    # A client's own token writes nothing: no session was even made, no commit to send.
    # Anything added or executed began a transaction (autobegin), so this misses nothing.
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


class GatewayIssuer(IssuerParameter):
    def get_issuer(self):
        return current_app.config["ISSUER"]


class GatewayAuthorizationServer(AuthorizationServer):
    def get_authorization_grant(self, request):
        """Authlib uses the raw response_type as the error description, and OAuth2Error turns a
        character RFC 6749 §4.1.2.1 forbids there into a ValueError, a 500: no such value is
        ever supported, so answer as Authlib would without echoing it."""
        response_type = request.payload.response_type or ""
        if not invalid_error_characters(response_type):
            return super().get_authorization_grant(request)
        client = self.query_client(request.payload.client_id)
        uri = request.payload.redirect_uri
        verified = uri if client is not None and uri and client.check_redirect_uri(uri) else None
        raise UnsupportedResponseTypeError(None, "Unsupported 'response_type'.",
                                           redirect_uri=verified)


def client_secret_basic(query_client, request):
    """Authlib's reader raises (a 500) on `Basic ` with nothing after it and on credentials
    that are not UTF-8; either is simply no credential."""
    try:
        return authenticate_client_secret_basic(query_client, request)
    except ValueError:  # UnicodeDecodeError included
        return None


authorization_server = GatewayAuthorizationServer()
resource_protector = ResourceProtector()


def init_oauth(app) -> None:
    server = authorization_server
    server.init_app(app, query_client=query_client, save_token=save_token)
    # A session that ends tells the relying services that asked (OIDC Back-Channel Logout).
    session_ended.register(app, backchannel.enqueue_logouts)
    # ... and the Shared Signals receivers (SETs: session-revoked, credential-change, …).
    init_ssf(app)
    if getattr(server, "_gateway_ready", False):
        return
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(), OpenIDCode()])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RevocationEndpoint)
    resource_protector.register_token_validator(BearerTokenValidator())
    resource_protector.register_token_validator(DPoPTokenValidator())
    server.register_endpoint(UserInfoEndpoint(resource_protector=resource_protector))
    server.register_endpoint(EndSessionEndpoint)
    server.register_extension(GatewayIssuer())
    server._gateway_ready = True
