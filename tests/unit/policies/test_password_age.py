"""Tests of policies.password_age: the exact expiry boundaries (day 179/180/181), reminder
windows and their one-reminder-per-window keys, with ``now`` injected."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import defaults
from policies import password_age
from policies.password_age import PasswordState

CHANGED = datetime(2025, 1, 1, 8, 30, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
EXPIRES = CHANGED + 181 * DAY  # 2025-07-01T08:30Z
# The numbers come from the settings (the policy has no defaults); these are the defaults'.
POLICY = {"max_age_days": defaults.PASSWORD_MAX_AGE_DAYS,
          "remind_days": defaults.PASSWORD_REMIND_DAYS}


def password_state(changed_at, now, **kwargs) -> PasswordState:
    return password_age.password_state(changed_at, now, **{**POLICY, **kwargs})


def password_expires_at(changed_at, **kwargs):
    return password_age.password_expires_at(
        changed_at, **{"max_age_days": POLICY["max_age_days"], **kwargs})


def reminder_window_key(changed_at, now, **kwargs) -> str | None:
    return password_age.reminder_window_key(changed_at, now, **{**POLICY, **kwargs})


def at(delta: timedelta) -> PasswordState:
    return password_state(CHANGED, CHANGED + delta)


def test_defaults_are_six_months_and_two_weeks():
    assert (POLICY["max_age_days"], POLICY["remind_days"]) == (180, 14)
    assert password_expires_at(CHANGED) == EXPIRES == datetime(2025, 7, 1, 8, 30, tzinfo=UTC)


def test_the_policy_carries_no_defaults_of_its_own():
    # One source for every default: config/defaults.py.
    for function in (password_age.password_state, password_age.reminder_window_key):
        with pytest.raises(TypeError, match="max_age_days|remind_days"):
            function(CHANGED, CHANGED)
    with pytest.raises(TypeError, match="max_age_days"):
        password_age.password_expires_at(CHANGED)


@pytest.mark.parametrize(
    ("delta", "expired", "days_left", "remind"),
    [
        (timedelta(0), False, 180, False),
        (166 * DAY, False, 14, False),
        (167 * DAY - SECOND, False, 14, False),
        (167 * DAY, False, 13, True),  # first reminder day: the last 14 valid days begin
        (179 * DAY, False, 1, True),  # day 179
        (180 * DAY - SECOND, False, 1, True),
        (180 * DAY, False, 0, True),  # day 180: the last valid day
        (181 * DAY - SECOND, False, 0, True),
        (181 * DAY, True, -1, False),  # day 181: expired
        (400 * DAY, True, -220, False),
    ],
)
def test_boundaries(delta, expired, days_left, remind):
    state = at(delta)
    assert state == PasswordState(
        expired=expired,
        must_change=expired,
        days_left=days_left,
        remind=remind,
        expires_at=EXPIRES,
    )


def test_must_change_overrides_age_and_silences_reminders():
    for delta in (timedelta(0), 170 * DAY, 200 * DAY):
        state = password_state(CHANGED, CHANGED + delta, must_change=True)
        assert state.must_change and not state.remind
    assert not password_state(CHANGED, CHANGED + DAY, must_change=True).expired


def test_clock_skew_counts_as_day_zero():
    state = password_state(CHANGED, CHANGED - 3 * DAY)
    assert (state.expired, state.days_left, state.remind) == (False, 180, False)


def test_other_time_zones_are_the_same_instant():
    hanoi = timezone(timedelta(hours=7))
    now = (CHANGED + 181 * DAY - SECOND).astimezone(hanoi)
    assert password_state(CHANGED.astimezone(hanoi), now) == password_state(
        CHANGED, now.astimezone(UTC)
    )
    assert not password_state(CHANGED, now).expired
    assert password_state(CHANGED, now + SECOND).expired


@pytest.mark.parametrize(
    ("max_age_days", "remind_days", "delta", "expected"),
    [
        (90, 7, 83 * DAY, (False, 7, False)),
        (90, 7, 84 * DAY, (False, 6, True)),
        (90, 7, 90 * DAY, (False, 0, True)),
        (90, 7, 91 * DAY, (True, -1, False)),
        (180, 0, 180 * DAY, (False, 0, False)),  # no reminders
        (180, (14, 3, 1), 167 * DAY, (False, 13, True)),
        (1, 1, DAY, (False, 0, True)),
        (1, 1, 2 * DAY, (True, -1, False)),
    ],
)
def test_configurable(max_age_days, remind_days, delta, expected):
    state = password_state(
        CHANGED, CHANGED + delta, max_age_days=max_age_days, remind_days=remind_days
    )
    assert (state.expired, state.days_left, state.remind) == expected


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_age_days": 0}, ValueError),
        ({"max_age_days": -5}, ValueError),
        ({"max_age_days": True}, ValueError),
        ({"remind_days": -1}, ValueError),
        ({"remind_days": (14, 0)}, ValueError),
        ({"remind_days": "14"}, ValueError),
    ],
)
def test_invalid_policy(kwargs, error):
    with pytest.raises(error):
        password_state(CHANGED, CHANGED, **kwargs)


def test_naive_datetimes_are_refused():
    naive = datetime(2025, 1, 1, 8, 30)
    with pytest.raises(ValueError, match="timezone-aware"):
        password_state(naive, CHANGED)
    with pytest.raises(ValueError, match="timezone-aware"):
        password_state(CHANGED, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        reminder_window_key(CHANGED, naive)


# --- reminder windows -----------------------------------------------------------------------


def test_one_window_key_for_the_whole_reminder_period():
    keys = {
        reminder_window_key(CHANGED, CHANGED + n * DAY + h * timedelta(hours=1))
        for n in range(0, 200)
        for h in (0, 13)
    }
    assert keys == {None, "2025-07-01T08:30:00+00:00/T-14"}
    assert reminder_window_key(CHANGED, CHANGED + 167 * DAY - SECOND) is None
    assert reminder_window_key(CHANGED, CHANGED + 167 * DAY) == "2025-07-01T08:30:00+00:00/T-14"
    assert reminder_window_key(CHANGED, EXPIRES - SECOND) == "2025-07-01T08:30:00+00:00/T-14"
    assert reminder_window_key(CHANGED, EXPIRES) is None  # expired: forced change instead
    assert reminder_window_key(CHANGED, CHANGED + 170 * DAY, must_change=True) is None


def test_several_thresholds_give_one_window_each():
    def key(day: int) -> str | None:
        return reminder_window_key(CHANGED, CHANGED + day * DAY, remind_days=(1, 14, 3))

    prefix = "2025-07-01T08:30:00+00:00/"
    assert key(166) is None
    assert [key(day) for day in (167, 177)] == [prefix + "T-14"] * 2  # days_left 13..3
    assert [key(day) for day in (178, 179)] == [prefix + "T-3"] * 2  # days_left 2..1
    assert key(180) == prefix + "T-1"  # days_left 0, the last day
    assert key(181) is None


def test_a_new_password_starts_new_windows():
    now = CHANGED + 170 * DAY
    first = reminder_window_key(CHANGED, now)
    assert first is not None
    changed_again = now - timedelta(minutes=5)
    assert reminder_window_key(changed_again, now) is None
    later = reminder_window_key(changed_again, changed_again + 170 * DAY)
    assert later is not None and later != first


def test_key_is_in_utc_whatever_the_input_zone():
    hanoi = timezone(timedelta(hours=7))
    key = reminder_window_key(CHANGED.astimezone(hanoi), (CHANGED + 170 * DAY).astimezone(hanoi))
    assert key == "2025-07-01T08:30:00+00:00/T-14"


@settings(max_examples=200, deadline=None)
@given(
    changed=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    max_age_days=st.integers(min_value=1, max_value=400),
    remind_days=st.integers(min_value=0, max_value=60),
)
def test_state_properties(changed, age, max_age_days, remind_days):
    now = changed + age
    state = password_state(changed, now, max_age_days=max_age_days, remind_days=remind_days)
    whole_days = age // DAY
    assert state.days_left == max_age_days - whole_days
    assert state.expired == (whole_days > max_age_days) == (now >= state.expires_at)
    assert state.must_change == state.expired
    assert state.remind == (not state.expired and state.days_left < remind_days)
    key = reminder_window_key(changed, now, max_age_days=max_age_days, remind_days=remind_days)
    assert (key is not None) == state.remind
    if key is not None:
        # Every instant of the same window gives the same key.
        last_valid = state.expires_at - SECOND
        assert key == reminder_window_key(
            changed, last_valid, max_age_days=max_age_days, remind_days=remind_days
        )


# ------------------------------------------------------------------ issued passwords

ISSUED_EXPIRES = CHANGED + 14 * DAY


@pytest.mark.parametrize(("now", "expired"), [
    (CHANGED, False),
    (ISSUED_EXPIRES - SECOND, False),
    (ISSUED_EXPIRES, True),              # the expiry instant itself is expired
    (ISSUED_EXPIRES + 400 * DAY, True),
])
def test_an_issued_password_expires_at_its_instant(now, expired):
    assert password_age.issued_password_expired(ISSUED_EXPIRES, now, must_change=True) is expired


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_a_changed_or_never_expiring_password_is_not_an_expired_issued_one(now):
    assert not password_age.issued_password_expired(ISSUED_EXPIRES, now, must_change=False)
    assert not password_age.issued_password_expired(None, now, must_change=True)


def test_issued_expiry_needs_aware_instants():
    with pytest.raises(ValueError):
        password_age.issued_password_expired(ISSUED_EXPIRES, datetime(2025, 1, 2),
                                             must_change=True)
    with pytest.raises(ValueError):
        password_age.issued_password_expired(datetime(2025, 1, 2), CHANGED, must_change=True)
    later = ISSUED_EXPIRES.astimezone(timezone(timedelta(hours=7)))
    assert password_age.issued_password_expired(ISSUED_EXPIRES, later, must_change=True)
