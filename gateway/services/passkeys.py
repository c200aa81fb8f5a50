"""A person's passkeys: kept, listed, renamed, removed, and their counters advanced.

The ceremonies are gateway/methods/webauthn.py; this module owns the rows and what each change
does besides: the event (``passkey.registered``, ``passkey.renamed``, ``passkey.removed``,
``passkey.clone_suspected``), the audit record (registration, removal, a cloned credential)
and the SMS notice to the account's phone (registration, removal, a passkey disabled as
cloned), all in the transaction of the change.

Removal of the last passkey — the account's last strong factor (policies/passkeys.py) — needs
a fresh password check, which the caller does (gateway/methods/password.py sits above this
layer) and says so with ``password_checked``. The count is taken after the row is deleted,
under a lock on the account's row, so two removals at once cannot both leave "one more".

Exceptions (PasskeyError, a GatewayError)::

    passkey_limit 409, passkey_exists 409, passkey_not_found 404, invalid_passkey_name 400,
    password_required 403 (the last passkey, and no password was checked); the ceremonies
    add passkey_refused 401, reauth_required 403, passkey_invalid and passkey_expired 400
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.models import Account, Passkey
from gateway.services import audit
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from policies.assurance import passkey_amr
from policies.identifiers import mask_bhxh
from policies.passkeys import (
    MAX_PASSKEYS,
    PasskeyNameError,
    clean_name,
    counter_went_back,
    removal_needs_password,
)

__all__ = ["MAX_PASSKEYS", "PasskeyError", "add", "amr_of", "find", "list_for", "record_use",
           "remove", "rename"]

_STATUS = {"passkey_refused": 401, "password_required": 403, "reauth_required": 403,
           "passkey_not_found": 404,
           "passkey_exists": 409, "passkey_limit": 409}


class PasskeyError(GatewayError):
    """A passkey operation or ceremony refused; ``code`` says which (the module docstrings of
    this one and of gateway/methods/webauthn.py list them), ``status`` follows it."""

    status = 400
    code = "passkey_invalid"

    def __init__(self, code: str, *, detail: str = ""):
        super().__init__(code, detail=detail)
        self.status = _STATUS.get(code, 400)


def _actor(account: Account) -> audit.Actor:
    return audit.Actor(f"citizen:{mask_bhxh(account.bhxh)}", "citizen")


def _lock(account: Account) -> None:
    """The account's row locked (PostgreSQL; SQLite has one writer): additions and removals
    of one account's passkeys run one after the other, each counting what the other left."""
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())


def list_for(account: Account) -> list[Passkey]:
    return list(db.session.scalars(
        select(Passkey).where(Passkey.account_id == account.id).order_by(Passkey.id)))


def has_passkey(account_id: int) -> bool:
    """Whether the account has a usable passkey (one not disabled as cloned)."""
    return db.session.scalar(select(Passkey.id).where(
        Passkey.account_id == account_id, Passkey.disabled_at.is_(None)).limit(1)) is not None


def amr_of(passkey: Passkey) -> list[str]:
    return passkey_amr(backup_eligible=passkey.backup_eligible)


def _name(value: str | None, default: str) -> str:
    try:
        return clean_name(value, default)
    except PasskeyNameError:
        raise PasskeyError("invalid_passkey_name") from None


def add(account: Account, *, credential_id: str, public_key: bytes, sign_count: int,
        backup_eligible: bool, aaguid: str, transports: list[str],
        name: str | None, user_handle: str) -> Passkey:
    _lock(account)
    if len(list_for(account)) >= MAX_PASSKEYS:
        raise PasskeyError("passkey_limit")
    now = utcnow()
    passkey = Passkey(account_id=account.id, credential_id=credential_id, public_key=public_key,
                      sign_count=sign_count, transports=transports,
                      backup_eligible=backup_eligible, aaguid=aaguid,
                      name=_name(name, f"Passkey {now:%d/%m/%Y}"), user_handle=user_handle,
                      created_at=now)
    db.session.add(passkey)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise PasskeyError("passkey_exists") from None
    audit.append(_actor(account), "passkey.registered", f"account:{account.id}",
                 changes={"passkey": passkey.id, "name": passkey.name, "aaguid": aaguid})
    enqueue_sms(account.phone, "passkey_added", {"at": now})
    emit("passkey.registered", account_id=account.id, passkey_id=passkey.id, aaguid=aaguid,
         backup_eligible=backup_eligible)
    db.session.commit()
    return passkey


def _owned(account: Account, passkey_id) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id) if isinstance(passkey_id, int) else None
    if passkey is None or passkey.account_id != account.id:
        raise PasskeyError("passkey_not_found")  # another's passkey is no different
    return passkey


def rename(account: Account, passkey_id: int, name: str | None) -> Passkey:
    passkey = _owned(account, passkey_id)
    passkey.name = _name(name, passkey.name)
    emit("passkey.renamed", account_id=account.id, passkey_id=passkey.id, commit=True)
    return passkey


def remove(account: Account, passkey_id: int, *, password_checked: bool) -> bool:
    """Removes the passkey; True when it was the account's last usable one. PasskeyError
    ``password_required`` when it was the last and ``password_checked`` is False."""
    _owned(account, passkey_id)
    _lock(account)
    gone = db.session.execute(delete(Passkey).where(
        Passkey.id == passkey_id, Passkey.account_id == account.id).returning(
        Passkey.disabled_at)).first()
    if gone is None:
        db.session.rollback()
        raise PasskeyError("passkey_not_found")
    left = db.session.scalar(select(func.count()).select_from(Passkey).where(
        Passkey.account_id == account.id, Passkey.disabled_at.is_(None)))
    # A passkey disabled as cloned was no factor any more: removing it never needs more.
    last = gone.disabled_at is None and removal_needs_password(left)
    if last and not password_checked:
        db.session.rollback()
        raise PasskeyError("password_required")
    audit.append(_actor(account), "passkey.removed", f"account:{account.id}",
                 changes={"passkey": passkey_id, "left": left})
    enqueue_sms(account.phone, "passkey_removed", {"at": utcnow()})
    emit("passkey.removed", account_id=account.id, passkey_id=passkey_id, last=last)
    db.session.commit()
    return last


def find(credential_id: str) -> tuple[Passkey, Account] | None:
    """The passkey with this credential id and its account, when the account is active."""
    if not credential_id or len(credential_id) > 1400:
        return None
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None or passkey.disabled_at is not None:
        return None
    account = db.session.get(Account, passkey.account_id)
    if account is None or not account.is_active:
        return None
    return passkey, account


def record_use(passkey: Passkey, presented: int) -> bool:
    """Advances the signature counter by compare-and-set; False (and audited) when the
    presented counter did not grow: a cloned credential (policies/passkeys.py)."""
    now = utcnow()
    if not counter_went_back(passkey.sign_count, presented):
        grows = Passkey.sign_count == 0 if presented == 0 else Passkey.sign_count < presented
        moved = db.session.execute(
            update(Passkey).where(Passkey.id == passkey.id, grows)
            .values(sign_count=presented, last_used_at=now).returning(Passkey.id)).first()
        if moved is not None:
            db.session.commit()
            return True
        db.session.rollback()  # another sign-in with the same counter won a moment ago
    # Two copies of the key are in use, and which one is the person's cannot be told (a copy
    # may run its counter ahead): the passkey signs nobody in again.
    stored = passkey.sign_count
    account = db.session.get(Account, passkey.account_id)
    db.session.execute(update(Passkey).where(Passkey.id == passkey.id, Passkey.disabled_at.is_(
        None)).values(disabled_at=now))
    audit.append(_actor(account), "passkey.clone_suspected", f"account:{passkey.account_id}",
                 changes={"passkey": passkey.id, "stored": stored, "presented": presented})
    enqueue_sms(account.phone, "passkey_disabled", {"at": now})
    emit("passkey.clone_suspected", account_id=passkey.account_id, passkey_id=passkey.id,
         stored=stored, presented=presented)
    db.session.commit()
    return False
