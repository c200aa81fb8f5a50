"""One view over both kinds of token, for introspection, revocation and resource checks.

Revocation state is read here, fail-closed: a store that cannot answer raises
StoreUnavailableError and nothing is reported active.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import TokenMixin
from sqlalchemy import bindparam, select

from gateway.clock import as_utc, clock, utcnow
from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from gateway.models import Account, LoginSession, RefreshToken
from gateway.oidc.tokens import read_access_token
from gateway.services.client_cache import cached_client
from gateway.services.revocation import revocation_reason

# Introspection needs only whether the person's account is active: one column by the
# unique `sub`, a statement built once (an ORM query for the whole row was half of the
# introspection's CPU time).
_ACCOUNT_STATUS = select(Account.__table__.c.status).where(
    Account.__table__.c.sub == bindparam("sub"))


class AccessToken(TokenMixin):
    kind = "access_token"
    # True where the account itself is never wanted (introspection): is_revoked reads only its
    # state. Elsewhere (userinfo, the APIs) is_revoked loads the account get_user returns next.
    status_only = False

    def __init__(self, claims: dict):
        self.claims = claims
        self.scope = claims.get("scope", "")
        self._account = None

    def check_client(self, client):
        return self.claims.get("client_id") == client.client_id

    @property
    def audiences(self) -> list[str]:
        """`aud` as a list (RFC 7519 §4.1.3 allows a string or an array)."""
        aud = self.claims.get("aud")
        values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        return [value for value in values if isinstance(value, str)]

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.claims["exp"] - self.claims["iat"]

    def is_expired(self):
        return self.claims["exp"] <= clock().timestamp()

    def is_revoked(self):
        c = self.claims
        if revocation_reason(jti=c.get("jti"), family_id=c.get("fam"), sid=c.get("sid")):
            return True
        if not self.has_user:
            return False
        if self.status_only and self._account is None:
            return db.session.execute(_ACCOUNT_STATUS, {"sub": c["sub"]}).scalar() != "active"
        return self.get_user() is None

    @property
    def has_user(self) -> bool:
        return self.claims.get("sub") != self.claims.get("client_id")

    def get_user(self):
        if self._account is None and self.has_user:
            account = Account.query.filter_by(sub=self.claims["sub"]).first()
            self._account = account if account is not None and account.is_active else None
        return self._account

    def get_client(self):
        client_id = self.claims.get("client_id")
        return cached_client(client_id) if isinstance(client_id, str) and client_id else None

    def introspection(self) -> dict:
        c = self.claims
        payload = {
            "active": True,
            "token_type": "Bearer",
            "iss": c["iss"],
            "client_id": c["client_id"],
            "sub": c["sub"],
            "aud": c["aud"],
            "exp": c["exp"],
            "iat": c["iat"],
            "jti": c["jti"],
            "scope": c.get("scope", ""),
        }
        if "cnf" in c:
            payload["token_type"] = "DPoP"  # noqa: S105
        for name in ("sid", "auth_time", "acr", "amr", "cnf"):
            if name in c:
                payload[name] = c[name]
        return payload


class RefreshTokenView(TokenMixin):
    kind = "refresh_token"
    # At the token endpoint, once claimed: what the new tokens are issued on behalf of
    # (set by the refresh grant; gateway.oidc.grants.issued_for reads it).
    context = None

    def __init__(self, row: RefreshToken):
        self.row = row

    def check_client(self, client):
        return self.row.client_id == client.client_id

    def get_scope(self):
        return self.row.scope

    def is_expired(self):
        return as_utc(self.row.expires_at) <= utcnow()

    def is_revoked(self):
        row = self.row
        if row.revoked_at is not None or row.used_at is not None:
            return True
        if row.sid:
            session = LoginSession.query.filter_by(sid=row.sid).first()
            if session is None or session.revoked_at is not None:
                return True
        return revocation_reason(family_id=row.family_id, sid=row.sid) is not None

    def get_user(self):
        return db.session.get(Account, self.row.account_id)

    def introspection(self) -> dict:
        row = self.row
        account = self.get_user()
        if account is None or not account.is_active:
            return {"active": False}
        payload = {
            "active": True,
            "token_type": "refresh_token",
            "client_id": row.client_id,
            "sub": account.sub,
            "scope": row.scope,
            "exp": int(as_utc(row.expires_at).timestamp()),
            "iat": int(as_utc(row.issued_at).timestamp()),
        }
        if row.sid:
            payload["sid"] = row.sid
        if row.dpop_jkt:
            payload["cnf"] = {"jkt": row.dpop_jkt}
        return payload


def find_token(value: str, hint: str | None):
    """Look the value up as the hinted kind first, then the other (RFC 7009 §2.1)."""
    if not isinstance(value, str) or not value or len(value) > 8192:
        return None
    order = ["refresh_token", "access_token"] if hint == "refresh_token" else [
        "access_token", "refresh_token"]
    for kind in order:
        if kind == "access_token":
            claims = read_access_token(value)
            if claims is not None:
                return AccessToken(claims)
        else:
            row = RefreshToken.query.filter_by(token_hash=hash_secret(value)).first()
            if row is not None:
                return RefreshTokenView(row)
    return None
