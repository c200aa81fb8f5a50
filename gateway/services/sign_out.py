"""Sign out everywhere (the lost phone): one operation for the page, the API and staff.

It revokes every session and refresh-token family of the account *and* forgets the active
app device, so the next device to sign in binds as a first device. Keeping the binding was a
hole: the lost phone signed in again with the password alone, while the owner's new phone met
``device_conflict`` and an OTP sent to a SIM that may be lost with the phone.

The device goes first, then the revocations: a sign-in racing this operation can at worst
leave a binding whose session was just revoked — the next device then confirms with an OTP
(fails closed) — never a live session on a device no longer recorded (two devices at once).
"""

from __future__ import annotations

from gateway.extensions import db
from gateway.models import Account
from gateway.services import devices
from gateway.services.events import emit
from gateway.services.revocation import revoke_account

REASONS = {"user": "signed_out_by_user", "staff": "signed_out_by_staff"}


def sign_out_everywhere(account: Account, *, by: str) -> int:
    """Revoke everything of ``account`` and clear its device; ``by`` is "user" or "staff".

    Returns how many sessions and refresh-token families were revoked.
    """
    reason = REASONS[by]
    devices.forget(account, by=by)
    db.session.commit()
    revoked = revoke_account(account.id, reason)
    emit("account.signed_out_everywhere", account_id=account.id, by=by, commit=True)
    return revoked
