"""The SQL of a refresh-token rotation: claim the presented token, learn why a claim failed,
add the new token. The rules (what is refused, in which order, what a reuse costs) are the
refresh grant's (gateway/oidc/refresh_grant.py); this module only says how the rows are read and
written, in as few round trips as the rotation allows.

Why SQLAlchemy Core, and statements built once: a rotation is the hottest write of the
gateway. Through the ORM it was a query, an ORM UPDATE, an account load and a unit-of-work
flush: four statements, and more Python around them than the database's own work (the
profile: the ORM's compiling, identity map and flush took half the grant's CPU time). The
statements below are built at import, so SQLAlchemy finds their compiled form by a memoized
cache key, and their rows are plain tuples.

* ``claim`` (PostgreSQL): one ``UPDATE … FROM accounts … RETURNING``: it marks the token used
  only if it is this client's, unused, unrevoked and unexpired, and returns the token's row
  with its account's ``sub`` and ``status``, so that nothing else is read. It commits with
  the new token (one transaction per grant): a racer's UPDATE waits on the row's lock, then
  finds it used; a refusal after the claim rolls it back and leaves the token usable.
* ``claim_and_rotate`` (PostgreSQL): the claim and the new token's INSERT in one statement
  (a data-modifying CTE), when the new token is a copy of the claimed one;
* ``lookup``: the same row and account by the token's hash, read when the claim found
  nothing (to tell unknown, another client's, revoked, expired and reused apart) and, on
  SQLite, before the claim (see the grant).
* ``claim_by_id``: SQLite's claim of a row already looked up.
* ``insert_token``: the new token, one INSERT.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, update

from gateway.extensions import db
from gateway.models import Account, ActiveDevice, RefreshToken

TOKENS = RefreshToken.__table__
ACCOUNTS = Account.__table__
DEVICES = ActiveDevice.__table__

# What a rotation needs of the presented token, and of its account (labelled: never mixed up
# with a token column). The claim returns only what the grant reads after it and the new token
# copies: the driver builds a description of every returned column on every execution.
_ACCOUNT = (ACCOUNTS.c.sub.label("account_sub"), ACCOUNTS.c.status.label("account_status"))
_CLAIMED_COLUMNS = ("client_id", "family_id", "account_id", "sid", "scope", "resource",
                    "auth_time", "acr", "amr", "expires_at", "dpop_jkt")
_ROW = (*TOKENS.c, *_ACCOUNT)

_CLAIM = (
    update(TOKENS)
    .where(
        TOKENS.c.token_hash == bindparam("digest"),
        TOKENS.c.client_id == bindparam("client"),
        TOKENS.c.used_at.is_(None),
        TOKENS.c.revoked_at.is_(None),
        TOKENS.c.expires_at > bindparam("now"),
        ACCOUNTS.c.id == TOKENS.c.account_id,
    )
    .values(used_at=bindparam("now"))
    .returning(*(TOKENS.c[name] for name in _CLAIMED_COLUMNS), *_ACCOUNT)
)

# The claim and the rotation in one statement (PostgreSQL): the new token, a copy of the
# claimed one but for its hash, issue time and (narrowed) scope, inserted only if the claim
# returned a row. A refusal after it rolls both back.
_CLAIMED = _CLAIM.cte("claimed")
_COPIED = ("family_id", "client_id", "account_id", "sid", "resource", "auth_time", "acr", "amr",
           "expires_at", "dpop_jkt")
_ROTATED = insert(TOKENS).from_select(
    ["token_hash", "scope", "issued_at", *_COPIED],
    select(
        bindparam("new_digest", type_=TOKENS.c.token_hash.type),
        func.coalesce(bindparam("new_scope", type_=TOKENS.c.scope.type), _CLAIMED.c.scope),
        bindparam("now", type_=TOKENS.c.issued_at.type),
        *(_CLAIMED.c[name] for name in _COPIED),
    ),
).cte("rotated")
_CLAIM_AND_ROTATE = select(_CLAIMED).add_cte(_ROTATED)

_LOOKUP = (
    select(*_ROW)
    .select_from(TOKENS.join(ACCOUNTS, ACCOUNTS.c.id == TOKENS.c.account_id))
    .where(TOKENS.c.token_hash == bindparam("digest"))
)

_CLAIM_BY_ID = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("row_id"), TOKENS.c.used_at.is_(None),
           TOKENS.c.revoked_at.is_(None))
    .values(used_at=bindparam("now"))
)

_INSERT = insert(TOKENS)

_DEVICE_SEEN = (
    update(DEVICES)  # by primary key (account_id): O(1)
    .where(DEVICES.c.account_id == bindparam("account"), DEVICES.c.sid == bindparam("session"))
    .values(last_seen_at=bindparam("now"))
)


def claim(digest: str, client_id: str, now):
    """PostgreSQL: the token marked used in the open transaction, with its account; None if
    no live token of this client has this hash (``lookup`` says why)."""
    return db.session.execute(
        _CLAIM, {"digest": digest, "client": client_id, "now": now}).first()


def claim_and_rotate(digest: str, client_id: str, now, *, new_digest: str, scope: str | None):
    """PostgreSQL: ``claim``, and in the same statement the new token with hash
    ``new_digest`` and ``scope`` (None: the claimed token's), both in the open transaction."""
    return db.session.execute(_CLAIM_AND_ROTATE, {
        "digest": digest, "client": client_id, "now": now, "new_digest": new_digest,
        "new_scope": scope}).first()


def lookup(digest: str):
    return db.session.execute(_LOOKUP, {"digest": digest}).first()


def claim_by_id(row_id: int, now) -> bool:
    return db.session.execute(_CLAIM_BY_ID, {"row_id": row_id, "now": now}).rowcount == 1


def insert_token(values: dict) -> None:
    """Adds a refresh-token row in the open transaction (committed by the grant's save)."""
    db.session.execute(_INSERT, values)


def device_seen(account_id: int, sid: str, now) -> None:
    db.session.execute(_DEVICE_SEEN, {"account": account_id, "session": sid, "now": now})
