"""When a VssID password must be changed, and when to remind its holder beforehand.

A deliberate deviation from the standards. NIST SP 800-63B-4 §3.1.1.2 says verifiers SHALL NOT
require passwords to be changed periodically, and OWASP ASVS 5.0 requirement 6.2.10 says the
application must not require periodic credential rotation: users forced to rotate pick
weaker passwords and change them predictably ("Hoa@2025" → "Hoa@2026"). BHXH, the client,
requires a change at least every 6 months (and a change of the issued password at first
login), so the rule is implemented, but configurable (``max_age_days``) and softened; see
docs/password-policy.md:

- every change goes through ``policies.password_rules.check_new_password`` (blocklist,
  personal data, reuse, and similarity to the current password, which defeats exactly the
  predictable changes rotation provokes);
- reminders during the last ``remind_days`` before expiry, so the change is planned rather
  than forced at a counter (ASVS 6.4.5);
- a forced change (``must_change``) on issue and on any sign of compromise, which is what
  the standards do ask for.

Time model, exact. All instants are timezone-aware (UTC in the gateway); ``now`` is injected.
Day N of a password's life is the half-open interval [changed_at + N days, changed_at +
N+1 days), so day 0 is its first 24 hours. With ``max_age_days = 180`` days 0..180 are
valid and the password is expired from the first instant of day 181, ``expires_at =
changed_at + 181 days``. ``days_left = max_age_days - N``: 0 on the last valid day, negative
once expired. A reminder threshold ``t`` covers the last ``t`` valid days (``days_left < t``).
A ``now`` earlier than ``changed_at`` (clock skew between servers) counts as day 0.

An issued password (a one-time password sent by SMS when an account is issued or reset by
staff) is a different thing: it must be changed at the first sign-in, and if it is never used
it stops working at all after ``issued_password_expires_at`` (ISSUED_PASSWORD_TTL_DAYS, 14 by
default), because a one-time password lying unused in an SMS inbox is a standing invitation to
whoever reads that phone. :func:`issued_password_expired` says so; the sign-in refuses it
(gateway/methods/password.py) and points the person to recovery or the office.

The numbers are the caller's, from the settings (PASSWORD_MAX_AGE_DAYS = 180,
PASSWORD_REMIND_DAYS = 14 by default in config/defaults.py): no second default lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "PasswordState",
    "issued_password_expired",
    "password_expires_at",
    "password_state",
    "reminder_window_key",
]

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PasswordState:
    """Where a password stands at ``now``.

    ``must_change`` is what the login flow acts on: true if the caller said so (issued
    password, sign of compromise) or if the password has expired. ``remind`` is true only
    while neither applies, during the reminder period."""

    expired: bool
    must_change: bool
    days_left: int
    remind: bool
    expires_at: datetime


def _check_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive value would be read in the server's local zone: off by 7 hours in Hanoi.
        raise ValueError(f"{name} must be timezone-aware")


def _thresholds(remind_days: int | Sequence[int]) -> tuple[int, ...]:
    """Reminder thresholds in days, largest first; an int ``0`` means no reminders."""
    values = (remind_days,) if isinstance(remind_days, int) else tuple(remind_days)
    if isinstance(remind_days, int) and remind_days == 0:
        return ()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("remind_days must be positive whole days (or 0 for none)")
    return tuple(sorted(set(values), reverse=True))


def _check_max_age(max_age_days: int) -> None:
    if isinstance(max_age_days, bool) or not isinstance(max_age_days, int) or max_age_days < 1:
        raise ValueError("max_age_days must be a positive whole number of days")


def password_expires_at(changed_at: datetime, *, max_age_days: int) -> datetime:
    """The first instant at which a password set at ``changed_at`` is expired."""
    _check_aware(changed_at, "changed_at")
    _check_max_age(max_age_days)
    return changed_at + (max_age_days + 1) * _DAY


def password_state(
    changed_at: datetime,
    now: datetime,
    *,
    max_age_days: int,
    remind_days: int | Sequence[int],
    must_change: bool = False,
) -> PasswordState:
    """State of a password last set at ``changed_at``, as of ``now`` (see module docstring).

    ``remind_days`` may be one threshold (14: remind on each of the last 14 valid days) or
    several ((14, 3, 1): three reminder windows, see :func:`reminder_window_key`); the
    reminder period is the largest. ``must_change`` comes from the account (issued password
    not yet changed, compromise suspected)."""
    expires_at = password_expires_at(changed_at, max_age_days=max_age_days)
    _check_aware(now, "now")
    thresholds = _thresholds(remind_days)
    day = max(0, (now - changed_at) // _DAY)
    days_left = max_age_days - day
    expired = days_left < 0
    forced = bool(must_change) or expired
    remind = not forced and bool(thresholds) and days_left < thresholds[0]
    return PasswordState(
        expired=expired,
        must_change=forced,
        days_left=days_left,
        remind=remind,
        expires_at=expires_at,
    )


def issued_password_expired(expires_at: datetime | None, now: datetime, *,
                            must_change: bool) -> bool:
    """Whether an issued password, still unchanged at ``now``, has passed ``expires_at``.

    Only an issued password expires this way: once it is changed (``must_change`` false) or
    when none was issued with an expiry (``expires_at`` None), this is false. The instant
    ``expires_at`` itself is already expired (half-open validity, as above)."""
    _check_aware(now, "now")
    if not must_change or expires_at is None:
        return False
    _check_aware(expires_at, "expires_at")
    return now >= expires_at


def reminder_window_key(
    changed_at: datetime,
    now: datetime,
    *,
    max_age_days: int,
    remind_days: int | Sequence[int],
    must_change: bool = False,
) -> str | None:
    """A stable id of the reminder window ``now`` falls in, or None outside any window.

    The id is ``"<expires_at in UTC, ISO 8601>/T-<threshold>"``, e.g.
    ``"2025-07-01T00:00:00+00:00/T-14"``; the threshold is the smallest one whose window
    contains ``now``. Store the last id sent per account and send a reminder only when the
    id differs: one reminder per window, and a new password (new expiry) starts afresh."""
    state = password_state(
        changed_at,
        now,
        max_age_days=max_age_days,
        remind_days=remind_days,
        must_change=must_change,
    )
    if not state.remind:
        return None
    threshold = min(t for t in _thresholds(remind_days) if state.days_left < t)
    return f"{state.expires_at.astimezone(UTC).isoformat()}/T-{threshold}"
