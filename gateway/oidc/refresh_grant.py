"""The refresh token grant: rotation on every use, reuse revoking the whole family (RFC 9700
§4.14.2), in as few round trips as the rules allow (the SQL: gateway/services/refresh_tokens.py).
What the grants share (the token context, the DPoP proof, the resource): gateway.oidc.grants.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError

from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from gateway.oidc.dpop_binding import require_binding
from gateway.oidc.errors import InvalidGrantWithReason
from gateway.oidc.grants import (
    ALL_AUTH_METHODS,
    ProofReadingMixin,
    TokenIssuingMixin,
    check_resource,
)
from gateway.oidc.token_views import RefreshTokenView
from gateway.oidc.tokens import (
    GrantContext,
    new_refresh_token_value,
)
from gateway.services import refresh_tokens as refresh_token_sql
from gateway.services.events import emit
from gateway.services.revocation import revocation_reason, revoke_family


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
