"""One active app device per account: bind, re-bind, take over, clear.

Every change is a compare-and-set on ActiveDevice.version (or the primary key for the first
binding), so racing sign-ins resolve to exactly one winner; the loser gets
DeviceChangedError and starts again. What a change does to the device it replaces — its
session and refresh tokens revoked with `session_replaced`, back-channel logout, an SMS to
the holder — happens here, in one place.

Exceptions::

    DeviceChangedError    the active device changed under this sign-in (a lost race)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.models import Account, ActiveDevice
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from gateway.services.revocation import revoke_session


class DeviceChangedError(GatewayError):
    status = 409
    code = "device_changed"


@dataclass(frozen=True)
class DeviceClaim:
    device_id: str
    device_name: str
    jkt: str
    client_id: str


def active_device(account_id: int) -> ActiveDevice | None:
    return db.session.get(ActiveDevice, account_id, populate_existing=True)


def is_same_device(active: ActiveDevice | None, claim: DeviceClaim) -> bool:
    return active is not None and active.device_id == claim.device_id and active.jkt == claim.jkt


def bind(account: Account, claim: DeviceClaim, sid: str, *, expected_version: int | None,
         commit: bool = True) -> None:
    """Makes `claim` the active device with session `sid`, if the row is still at
    `expected_version` (None: no row yet). With ``commit=False`` it joins the caller's
    transaction (the new session's: one commit for both); a lost race rolls that transaction
    back either way."""
    now = utcnow()
    if expected_version is None:
        db.session.add(ActiveDevice(
            account_id=account.id, device_id=claim.device_id, device_name=claim.device_name,
            jkt=claim.jkt, sid=sid, client_id=claim.client_id, bound_at=now, last_seen_at=now,
            version=1))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise DeviceChangedError() from None
        emit("device.bound", account_id=account.id, client_id=claim.client_id,
             device=claim.device_name)
        if commit:
            db.session.commit()
        return
    previous = db.session.execute(
        update(ActiveDevice)
        .where(ActiveDevice.account_id == account.id,
               ActiveDevice.version == expected_version)
        .values(device_id=claim.device_id, device_name=claim.device_name, jkt=claim.jkt,
                sid=sid, client_id=claim.client_id, bound_at=now, last_seen_at=now,
                version=expected_version + 1)
        .returning(ActiveDevice.version)
    ).first()
    if previous is None:
        db.session.rollback()
        raise DeviceChangedError()
    if commit:
        db.session.commit()


def replace(account: Account, old: dict, claim: DeviceClaim, *, takeover: bool) -> None:
    """What the replaced device loses; `old` is the row as read before the compare-and-set."""
    if takeover:
        enqueue_sms(account.phone, "new_device_signed_in",
                    {"device": claim.device_name, "at": utcnow()})
        emit("device.taken_over", account_id=account.id, client_id=claim.client_id,
             device=claim.device_name, previous_device=old["device_name"])
        revoke_session(old["sid"], "session_replaced")
    else:
        revoke_session(old["sid"], "signed_in_again")


def snapshot(active: ActiveDevice) -> dict:
    return {"device_id": active.device_id, "device_name": active.device_name,
            "sid": active.sid, "version": active.version,
            "last_seen_at": active.last_seen_at}


def forget(account: Account, *, by: str) -> bool:
    """No active device any more, whatever it is, revoking nothing: for an operation that
    revokes every session itself (sign out everywhere). Joins the caller's transaction."""
    active = active_device(account.id)
    if active is None:
        return False
    name = active.device_name
    db.session.query(ActiveDevice).filter(ActiveDevice.account_id == account.id).delete(
        synchronize_session=False)
    db.session.expunge(active)
    emit("device.cleared", account_id=account.id, device=name, by=by)
    return True


def clear(account: Account, *, by: str) -> bool:
    """Lost phone: no active device any more; revokes like a takeover (no SMS to the phone)."""
    active = active_device(account.id)
    if active is None:
        return False
    old = snapshot(active)
    deleted = db.session.query(ActiveDevice).filter(
        ActiveDevice.account_id == account.id, ActiveDevice.version == old["version"]
    ).delete(synchronize_session=False)
    if deleted != 1:
        db.session.rollback()
        raise DeviceChangedError()
    emit("device.cleared", account_id=account.id, device=old["device_name"], by=by)
    db.session.commit()
    revoke_session(old["sid"], "device_cleared")
    return True
