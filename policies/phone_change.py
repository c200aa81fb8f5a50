"""When a person may change their own registered phone number, without a counter.

The registered phone is the account's second factor and its recovery channel: whoever moves
it can reset the password and take the account. So a password — which the phone exists to
back up — never suffices (issue 9). What does is a **recent level-2 VNeID sign-in** to an
account linked to that VNeID identity: level 2 is verified against the national population
database and counts as presenting one's identity papers (Decree 69/2024), the very thing the
counter checks with the CCCD in hand. Pure: no I/O, no import of the gateway.

What the session records (gateway/flows/vneid_login.py): ``amr`` holds ``vneid`` for a VNeID
sign-in, and ``acr`` is level 2 only when the sign-in's level is 2. A sign-in that proved an
unlinked account (password, then SMS code: ``amr`` also holds ``pwd``) takes the higher of
the identity's and the account's levels, so ``acr`` alone cannot say VNeID was level 2 there;
the link can: it keeps the identity's level when it was made, in that same sign-in. Both must
say 2. A link newer than the session is not the one the session rests on.

Refusal codes (the person is told what to do)::

    phone_change_needs_vneid    the session is not a VNeID sign-in (e.g. a password): sign in
                                with VNeID, or go to a BHXH office
    phone_change_not_linked     the account has no VNeID link the session rests on
    phone_change_needs_level2   the VNeID identity is level 1: raise it in VNeID, or an office
    phone_change_reauth         the VNeID sign-in is older than MAX_AUTH_AGE: sign in again
"""

from __future__ import annotations

from policies.assurance import ACR_LEVEL_2

VNEID = "vneid"
MAX_AUTH_AGE = 600       # seconds a VNeID sign-in stays recent enough to move the phone
CLOCK_SKEW = 60          # an auth_time this far ahead of now is still accepted
STARTS_PER_DAY = 5       # self-service phone changes started per account per day (SMS cost)

NEEDS_VNEID = "phone_change_needs_vneid"
NOT_LINKED = "phone_change_not_linked"
NEEDS_LEVEL2 = "phone_change_needs_level2"
REAUTH = "phone_change_reauth"
REFUSALS = (NEEDS_VNEID, NOT_LINKED, NEEDS_LEVEL2, REAUTH)


def refusal(*, amr: list[str] | tuple[str, ...], acr: str | None, auth_age: float,
            link_level: int | None, link_age: float | None) -> str | None:
    """None when the session may change the phone, else the refusal code (in the order the
    person must fix them). ``auth_age``: seconds since the session's sign-in; ``link_level``
    and ``link_age`` (seconds since the link was made): the account's VNeID link, None when
    it has none."""
    if VNEID not in (amr or ()):
        return NEEDS_VNEID
    if link_level is None or link_age is None or link_age < auth_age:
        return NOT_LINKED
    if acr != ACR_LEVEL_2 or link_level != 2:
        return NEEDS_LEVEL2
    if not -CLOCK_SKEW <= auth_age <= MAX_AUTH_AGE:
        return REAUTH
    return None
