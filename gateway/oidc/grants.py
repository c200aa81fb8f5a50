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

Over 250 lines: the three grants share their storage hooks and overrides, and reading them
side by side is how their differences (what is claimed, when, and what is refused) show.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin
from authlib.oidc.core.errors import LoginRequiredError
from flask import current_app

from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from gateway.models import Account, LoginSession
from gateway.oidc.dpop_binding import require_binding, token_endpoint_proof
from gateway.oidc.errors import (
    InvalidGrantWithReason,
    InvalidTargetError,
    RequestNotSupportedError,
    RequestUriNotSupportedError,
)
from gateway.oidc.parameters import (
    DESCRIPTION,
    DEVICE_ID,
    DPOP_JKT,
    device_name,
    has_repeated_parameter,
)
from gateway.oidc.token_views import RefreshTokenView
from gateway.oidc.tokens import (
    GrantContext,
    mint_access_token,
    mint_refresh_token,
    new_refresh_token_value,
)
from gateway.services import refresh_tokens as refresh_token_sql
from gateway.services.client_cache import client_copies_allowed
from gateway.services.clients import SSF_SCOPE
from gateway.services.events import emit
from gateway.services.revocation import revocation_reason, revoke_family
from gateway.store.access import carrying, store

ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CODE_USED_TTL = 24 * 3600
MAX_CODE_LENGTH = 256
MAX_AGE = re.compile(r"[0-9]{1,9}")


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


class StoredCode(AuthorizationCodeMixin):
    def __init__(self, data: dict, context: GrantContext):
        self.data = data
        self.context = context
        self.code_challenge = data["code_challenge"]
        self.code_challenge_method = data["code_challenge_method"]

    def get_redirect_uri(self):
        return self.data["redirect_uri"]

    def get_scope(self):
        return self.data["scope"]


class ProofReadingMixin:
    """Reads the request's DPoP proof (RFC 9449 §5) before Authlib validates the grant."""

    proof = None

    def validate_token_request(self):
        # The proof's jti claim rides with the grant's first store read, and is settled
        # before validation ends: before any token exists (gateway.store.access).
        with carrying():
            self.proof = token_endpoint_proof(self.request)
            return super().validate_token_request()


def check_app_request(data) -> None:
    """An app client at /authorize: only to sign in with VNeID in the system browser (RFC
    8252), and only as the challenge endpoint would let it in. The VssID app's password
    sign-in is /authorize-challenge, where the one-active-device rule is enforced; a password
    typed here would hand it device-bound tokens on the password alone. With ``idp=vneid``
    the VNeID flow's pages enforce the same rule (gateway.flows.vneid_login), so the app must
    say which device it is and bind the code to its DPoP key (``dpop_jkt``, RFC 9449 §10)."""
    if data.get("idp") != "vneid":
        raise UnauthorizedClientError(
            "App clients sign in at the authorization challenge endpoint, or with idp=vneid.")
    if not DPOP_JKT.match(data.get("dpop_jkt") or ""):
        raise InvalidRequestError("'dpop_jkt' (the DPoP key's thumbprint) is required.")
    if not DEVICE_ID.match(data.get("device_id") or ""):
        raise InvalidRequestError("'device_id': 8-128 of A-Z a-z 0-9 . _ : -")
    if device_name(data.get("device_name")) is None:
        raise InvalidRequestError("'device_name': 1-100 printable characters.")
    if "none" in (data.get("prompt") or "").split():
        raise LoginRequiredError()


def _read_only_account(account_id) -> Account | None:
    """The account a code was issued for, detached from the ORM session: the exchange only
    reads it, and the commit of the new tokens (save_token) would otherwise expire it, so
    that the ID token's ``sub`` read after that commit cost a second SELECT and a second
    pool checkout."""
    account = db.session.get(Account, account_id)
    if account is not None:
        db.session.expunge(account)
    return account


class AuthorizationCodeGrant(ProofReadingMixin, TokenIssuingMixin,
                             grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """Authlib echoes a refused redirect_uri in the error description, and OAuth2Error turns
        a character RFC 6749 §4.1.2.1 forbids there (`"`, `\\`, controls, non-ASCII) into a
        ValueError, a 500: refuse it without echoing it."""
        uri = request.payload.redirect_uri
        if uri and not client.check_redirect_uri(uri):
            raise InvalidRequestError("The redirect URI is not registered for this client.")
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    _validated: tuple[str] | None = None  # (redirect_uri,) once this request passed

    def validate_authorization_request(self):
        """Validated once per request. Authlib validates again in
        create_authorization_response what get_consent_grant validated on the same request
        and grant object (one per request): a second read of the client row and a second run
        of every check below, which can only give the same answer."""
        if self._validated is not None:
            return self._validated[0]
        # A browser whose session was found (Authlib's ``request.user``: the view read the
        # session and its account from the database just now) gets its client from the
        # process's copies (gateway/services/client_cache.py, as /token does): the database
        # is known to answer, and a second row read would only repeat what the copy holds (a
        # client change is seen within CLIENT_CACHE_SECONDS). Without a session the row is
        # read: the first /authorize of a sign-in needs the database, and an outage is
        # answered at once (503), not after the password is typed.
        with client_copies_allowed(self.request.user is not None):
            redirect_uri = self._validate_authorization_request()
        self._validated = (redirect_uri,)
        return redirect_uri

    def _validate_authorization_request(self):
        data = self.request.payload.data
        redirect_uri = super().validate_authorization_request()
        try:
            # After the redirect_uri is verified, so these go back to the client (OIDC Core §6).
            if has_repeated_parameter(self.request.payload.datalist.items()):
                raise InvalidRequestError(DESCRIPTION)
            if self.request.client.type == "app":
                check_app_request(data)
            if "request" in data:
                raise RequestNotSupportedError()
            if "request_uri" in data:
                raise RequestUriNotSupportedError()
            if data.get("response_mode", "query") != "query":
                raise InvalidRequestError("Only response_mode=query is supported.")
            max_age = data.get("max_age")
            # ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses.
            if max_age is not None and not MAX_AGE.fullmatch(max_age):
                raise InvalidRequestError("Invalid 'max_age'.")
            prompts = (data.get("prompt") or "").split()
            if "none" in prompts and len(prompts) > 1:
                raise InvalidRequestError("'prompt=none' cannot be combined.")
            check_resource(self.request)
        except Exception as error:
            if hasattr(error, "redirect_uri"):
                error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def validate_token_request(self):
        """RFC 8707 §2.2: a `resource` at the token endpoint must be the one there is, too;
        checked first, because validating the rest consumes the code."""
        check_resource(self.request)
        super().validate_token_request()

    def save_authorization_code(self, code, request):
        signed_in: SignedIn = request.user
        # An app's code is bound to the key it named (RFC 9449 §10): /token wants its proof.
        jkt = request.payload.data.get("dpop_jkt") if request.client.type == "app" else None
        ctx = session_context(signed_in.session, resource=check_resource(request),
                              nonce=request.payload.data.get("nonce"), jkt=jkt)
        store_code(code, client_id=request.client.client_id,
                   redirect_uri=request.payload.redirect_uri, scope=request.scope,
                   code_challenge=request.payload.data.get("code_challenge"), ctx=ctx)

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
            return None
        digest = hash_secret(code)
        raw = store().get(f"code:{digest}")
        if raw is None:
            family = store().get(f"code-used:{digest}")
            if family:
                self._replayed(family, client)
            return None
        data = json.loads(raw)
        family = data["ctx"]["family_id"]
        # Before the claim: a request without the bound key must not burn the code.
        proof = self.proof
        require_binding(proof, data["ctx"].get("jkt"), required=client.type == "app")
        # The account is read before the code is claimed (and kept for authenticate_user): a
        # database that cannot be reached answers 503 and leaves the code unused.
        self.account = _read_only_account(data["ctx"]["account_id"])
        # The claim is the used-marker: one winner among racers, and every later
        # redemption finds it. The code entry itself simply expires (≤ 60 s).
        if not store().add(f"code-used:{digest}", family, CODE_USED_TTL):
            self._replayed(family, client)
            return None
        if data["client_id"] != client.client_id:
            return None
        ctx = GrantContext(**data["ctx"])
        ctx.jkt = proof.jkt if proof else None
        return StoredCode(data, ctx)

    def _replayed(self, family: str, client) -> None:
        revoked = revoke_family(family, "code_replay")
        emit("code.replayed", client_id=client.client_id, revoked_tokens=revoked, commit=True)

    def delete_authorization_code(self, authorization_code):
        """Nothing left to delete: the code was consumed when it was claimed."""

    def authenticate_user(self, authorization_code):
        """The session is checked, not the family: before this redemption the family marker
        can only have been set by a replay of this very code racing the request that claimed
        it. Refusing here too left no redemption succeeding at all; the claimer is answered,
        and the replay's marker revokes what it receives (RFC 6749 §4.1.2)."""
        ctx = authorization_code.context
        account = getattr(self, "account", None)
        if account is None or account.id != ctx.account_id:
            account = _read_only_account(ctx.account_id)
        if account is None or not account.is_active:
            return None
        if revocation_reason(sid=ctx.sid):
            return None
        return account


@dataclass(frozen=True)
class TokenOwner:
    """The person a refresh is for, as the claim returned them (no second read): what the
    token response needs of them is their ``sub``."""

    id: int
    sub: str


class RefreshTokenGrant(ProofReadingMixin, TokenIssuingMixin, grants.RefreshTokenGrant):
    """Rotation, in as few round trips as the rules allow (the SQL:
    gateway/services/refresh_tokens.py).

    On PostgreSQL the claim comes first, one statement with the account, and commits only
    with the new token: every refusal after it (scope, DPoP key, revocation markers, the
    account's state) rolls it back, so the token stays usable (``_refused`` rolls back before
    the answer is written). Only a claim that found nothing reads the row again, to say why:
    unknown or another client's (``invalid_grant``), revoked, expired, a refusal that leaves
    it as it is, or else a reuse, which revokes the family (RFC 9700 §4.14.2). On SQLite the
    claim commits at once (the SQL store writes on its own connection), so the checks that
    must not burn the token run before it, as they always did.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    rotated = None  # (value, scope) of the new refresh token the claim inserted

    def validate_token_request(self):
        """RFC 8707 §2.2, as for codes; checked first, because validating the rest rotates the
        refresh token, and a refused request must not cost the client its grant."""
        check_resource(self.request)
        with _refused():
            super().validate_token_request()

    def create_token_response(self):
        with _refused():
            return super().create_token_response()

    def authenticate_refresh_token(self, refresh_token):
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        digest = hash_secret(refresh_token)
        client = self.request.client
        now = utcnow()
        if db.session.get_bind().dialect.name == "sqlite":
            row = self._claim_committed(refresh_token_sql.lookup(digest), client, now)
        else:
            row = self._claim(digest, client, now)
            if row is None:
                self._refuse(refresh_token_sql.lookup(digest), client, now)
            # Claimed (this client's, unrevoked, unexpired), not committed: a refusal below
            # rolls the claim back.
            self._check_unspent(row, client)
            reason = revocation_reason(family_id=row.family_id, sid=row.sid)
            if reason:
                raise InvalidGrantWithReason(reason)
        if row is None:
            return None
        if client.type == "app" and row.sid:
            refresh_token_sql.device_seen(row.account_id, row.sid, now)
        view = RefreshTokenView(row)
        view.context = GrantContext(
            account_id=row.account_id,
            sid=row.sid,
            auth_time=int(as_utc(row.auth_time).timestamp()),
            acr=row.acr,
            amr=row.amr.split(),
            family_id=row.family_id,
            resource=row.resource,
            jkt=row.dpop_jkt,
            family_expires_at=int(as_utc(row.expires_at).timestamp()),
        )
        return view

    def _claim(self, digest, client, now):
        """PostgreSQL: the claim, and with it the new refresh token when this request will be
        given one (its scope asks for offline_access, as TokenIssuingMixin decides): one
        statement for the whole rotation (generate_token hands out the token it inserted)."""
        scope = self.request.payload.scope or None  # Authlib: none asked, the token's own
        if scope is not None and "offline_access" not in scope.split():
            return refresh_token_sql.claim(digest, client.client_id, now)
        value = new_refresh_token_value()
        row = refresh_token_sql.claim_and_rotate(digest, client.client_id, now,
                                                 new_digest=hash_secret(value), scope=scope)
        if row is not None:
            self.rotated = (value, scope or row.scope)
        return row

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        """The refresh token the claim inserted, if it did (for this very scope); else minted
        as for any grant."""
        rotated = self.rotated
        if rotated is None or rotated[1] != scope or "offline_access" not in scope.split():
            return super().generate_token(user, scope, grant_type, expires_in,
                                          include_refresh_token)
        token = super().generate_token(user, scope, grant_type, expires_in,
                                       include_refresh_token=False)
        if include_refresh_token:
            token["refresh_token"] = rotated[0]
        return token

    def _check(self, row, client, now) -> bool:
        """The refusals that leave the token as it is; False: not this client's token."""
        if row is None or row.client_id != client.client_id:
            return False
        if row.revoked_at is not None:
            raise InvalidGrantWithReason(row.revoked_reason or "revoked")
        if as_utc(row.expires_at) <= now:
            raise InvalidGrantWithReason("expired")
        self._check_unspent(row, client)
        return True

    def _check_unspent(self, row, client) -> None:
        """The refusals of a live token of this client that leave it as it is."""
        # Authlib checks the scope after this method, when the token is already consumed: a
        # refused request would cost the client its token, and its retry the whole family.
        self._validate_token_scope(RefreshTokenView(row))
        # A token copied to another device (another key) is useless, and is not consumed.
        require_binding(self.proof, row.dpop_jkt, required=client.type == "app")

    def _refuse(self, row, client, now):
        """PostgreSQL, the claim found nothing: why. Always raises."""
        if not self._check(row, client, now) or row.used_at is None:
            # Unknown, another client's, or (a claim racing its own rollback) live again.
            raise InvalidGrantError()
        self._reused(row)

    def _claim_committed(self, row, client, now):
        """SQLite: the checks, then the store's markers (the SQL store is down: a 503 before
        anything is burned), then the claim, committed at once (it holds the database's only
        write lock, and the SQL store writes on its own connection)."""
        if not self._check(row, client, now):
            return None
        reason = revocation_reason(family_id=row.family_id, sid=row.sid)
        if reason:
            raise InvalidGrantWithReason(reason)
        claimed = refresh_token_sql.claim_by_id(row.id, now)
        db.session.commit()
        if not claimed:
            self._reused(row)
        return row

    @staticmethod
    def _reused(row):
        # Nothing was written; end the transaction before the store's writes (on SQLite an
        # UPDATE would hold the database's write lock, which the SQL store would wait for).
        db.session.rollback()
        revoked = revoke_family(row.family_id, "refresh_reuse")
        emit("refresh_token.reused", account_id=row.account_id, client_id=row.client_id,
             revoked_tokens=revoked, commit=True)
        raise InvalidGrantWithReason("refresh_token_reused")

    def authenticate_user(self, refresh_token):
        row = refresh_token.row
        if row.account_status != "active":  # Account.is_active, read with the claim
            raise InvalidGrantWithReason("account_inactive")
        return TokenOwner(row.account_id, row.account_sub)

    def revoke_old_credential(self, refresh_token):
        """Already consumed atomically in authenticate_refresh_token."""


@contextmanager
def _refused():
    """A refused refresh ends its transaction before the answer: on PostgreSQL that rolls the
    claim back (the token stays usable), and nothing half-done waits for the teardown."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise


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
