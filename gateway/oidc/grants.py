"""Authlib grants with the storage hooks filled in and the weak defaults overridden.

* codes live in the store for ≤ 60 s and are claimed with an atomic set-if-absent; a second
  redemption revokes what the first one issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4);
* refresh tokens rotate on every use; claiming is one conditional UPDATE (on PostgreSQL the
  same statement inserts the successor), and presenting a used token revokes the whole
  family (RFC 9700 §4.14.2);
* every client may use every authentication method it registered, and only that one.

Nothing of ours rides on Authlib's request between modules: the person and session behind an
/authorize answer come as Authlib's ``grant_user`` (a SignedIn); what a token is issued on
behalf of (a GrantContext) is the ``context`` of the credential Authlib keeps on its request
(``request.authorization_code``, ``request.refresh_token``), or, for a client's own token,
built by its grant; the DPoP proof read at the token endpoint is the grant's ``proof``.
Authlib makes one grant object per request, so a grant's attributes are that request's.

The grants themselves: gateway/oidc/code_grant.py (codes), gateway/oidc/refresh_grant.py
(rotation), and here the client's own token (client_credentials), with what all three share.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from flask import current_app

from gateway.clock import as_utc
from gateway.crypto.secrets import hash_secret
from gateway.models import Account, LoginSession
from gateway.oidc.dpop_binding import token_endpoint_proof
from gateway.oidc.errors import InvalidTargetError
from gateway.oidc.tokens import (
    GrantContext,
    mint_access_token,
    mint_refresh_token,
)
from gateway.services.clients import SSF_SCOPE
from gateway.store.access import carrying, store

ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def check_resource(request) -> str:
    """RFC 8707: one resource, and only one this gateway issues tokens for."""
    values = request.payload.datalist.get("resource", [])
    default = current_app.config["DEFAULT_RESOURCE"]
    if not values:
        return default
    if len(values) > 1 or values[0] != default:
        raise InvalidTargetError("Unknown or multiple 'resource'.")
    return default


@dataclass(frozen=True)
class SignedIn:
    """Authlib's ``grant_user`` at /authorize: the person, and the session they signed in
    with, whose sid, auth_time, acr and amr the code carries into the tokens."""

    account: Account
    session: LoginSession


def issued_for(request) -> GrantContext | None:
    """The person's sign-in behind a token request (the context of the code or refresh token
    Authlib keeps on its request); None for a client's own token."""
    credential = request.authorization_code or request.refresh_token
    return credential.context if credential is not None else None


def session_context(session: LoginSession, *, resource: str, nonce: str | None = None,
                    jkt: str | None = None) -> GrantContext:
    return GrantContext(
        account_id=session.account_id,
        sid=session.sid,
        auth_time=int(as_utc(session.auth_time).timestamp()),
        acr=session.acr,
        amr=list(session.amr),
        resource=resource,
        nonce=nonce,
        jkt=jkt,
    )


def store_code(code: str, *, client_id: str, redirect_uri: str | None, scope: str,
               code_challenge: str, ctx: GrantContext) -> None:
    """Codes from /authorize and from the challenge endpoint live the same way: ≤ 60 s,
    only their hash as the key, claimed once (query_authorization_code)."""
    data = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "ctx": asdict(ctx),
    }
    ttl = current_app.config["AUTHORIZATION_CODE_TTL"]
    store().put(f"code:{hash_secret(code)}", json.dumps(data), ttl)


class TokenIssuingMixin:
    """Replaces Authlib's generator call: our tokens need the grant's context."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        client = self.request.client
        ctx = self.token_context()
        scope = scope or ""
        sub = user.sub if user is not None else client.client_id
        access, ttl = mint_access_token(client_id=client.client_id, sub=sub, scope=scope, ctx=ctx)
        token_type = "DPoP" if ctx.jkt else "Bearer"
        token = {"token_type": token_type, "access_token": access, "expires_in": ttl}
        if scope:
            token["scope"] = scope
        offline = "offline_access" in scope.split()
        if include_refresh_token and user is not None and offline:
            token["refresh_token"] = mint_refresh_token(
                client_id=client.client_id, scope=scope, ctx=ctx
            )
        return token

    def token_context(self) -> GrantContext:
        """What the tokens of this request are issued on behalf of."""
        return issued_for(self.request)


class ProofReadingMixin:
    """Reads the request's DPoP proof (RFC 9449 §5) before Authlib validates the grant."""

    proof = None

    def validate_token_request(self):
        # The proof's jti claim rides with the grant's first store read, and is settled
        # before validation ends: before any token exists (gateway.store.access).
        with carrying():
            self.proof = token_endpoint_proof(self.request)
            return super().validate_token_request()


class ClientCredentialsGrant(ProofReadingMixin, TokenIssuingMixin,
                             grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self):
        super().validate_token_request()
        requested = set((self.request.payload.scope or "").split())
        if not requested <= set(self.request.client.scopes):
            raise InvalidScopeError("The client may not ask for this scope.")
        if self.request.client.type != "service" and requested != {SSF_SCOPE}:
            # A portal's own token is for its Shared Signals stream only.
            raise InvalidScopeError("A portal's own token is for scope ssf.manage only.")
        check_resource(self.request)

    def token_context(self) -> GrantContext:
        """A client's own token: no person, no session; its resource and DPoP key."""
        return GrantContext(resource=check_resource(self.request),
                            jkt=self.proof.jkt if self.proof else None)
