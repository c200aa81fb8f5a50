"""The pure lockout rules (policies/lockout.py): lock lengths and the per-address verdict."""

from dataclasses import MISSING, fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.settings import ConfigError, load_settings
from policies.lockout import (
    AddressVerdict,
    LockoutRules,
    address_verdict,
    alarm_on,
    lock_duration,
)

# The defaults of config/defaults.py, written out: the rules carry none of their own.
RULES = LockoutRules(threshold=5, durations=(60, 300, 900), address_limit=50,
                     address_limit_under_attack=10, address_window=600, address_delay_ms=2000,
                     global_alarm_per_minute=1000)
positions = st.integers(min_value=1, max_value=10**6)
failures = st.integers(min_value=0, max_value=10**6)
rules = st.builds(
    LockoutRules,
    threshold=st.integers(1, 20),
    durations=st.lists(st.integers(1, 3600), min_size=1, max_size=4).map(tuple),
    address_window=st.integers(1, 3600),
    address_limit=st.integers(1, 500),
    address_limit_under_attack=st.integers(1, 500),
    address_delay_ms=st.integers(0, 10_000),
    global_alarm_per_minute=st.integers(1, 10**5),
)


def test_locks_grow_then_stay_capped():
    assert [lock_duration(n, RULES) for n in range(0, 6)] == [0, 60, 300, 900, 900, 900]


@given(positions, failures, rules)
def test_outside_the_alarm_nothing_is_refused(position, global_failures, r):
    if not alarm_on(global_failures, r):
        assert not address_verdict(position, global_failures, r).refuse


@given(positions, failures, rules)
def test_the_wait_is_zero_or_the_configured_delay(position, global_failures, r):
    verdict = address_verdict(position, global_failures, r)
    assert verdict.delay_ms in (0, r.address_delay_ms)
    assert not (verdict.refuse and verdict.delay_ms)


@given(positions, rules)
def test_within_the_limit_no_cost_past_it_a_wait(position, r):
    verdict = address_verdict(position, 0, r)
    expected = r.address_delay_ms if position > r.address_limit else 0
    assert verdict == AddressVerdict(delay_ms=expected)


@given(positions, positions, failures, rules)
def test_verdicts_never_get_kinder_further_along(a, b, global_failures, r):
    first, later = sorted((a, b))
    x = address_verdict(first, global_failures, r)
    y = address_verdict(later, global_failures, r)
    assert (y.refuse, y.delay_ms) >= (x.refuse, x.delay_ms)


@given(positions, rules)
def test_under_the_alarm_refused_exactly_past_the_tighter_limit(position, r):
    verdict = address_verdict(position, r.global_alarm_per_minute, r)
    assert verdict == AddressVerdict(refuse=position > r.address_limit_under_attack)


def test_the_rules_carry_no_defaults_of_their_own():
    # One source for every default: config/defaults.py.
    assert all(f.default is MISSING and f.default_factory is MISSING
               for f in fields(LockoutRules))


def test_defaults_from_settings():
    assert LockoutRules.from_config(load_settings({}, environ={})) == RULES


@pytest.mark.parametrize("value", [-1, 10_001])
def test_delay_out_of_range_is_refused_at_start(value):
    with pytest.raises(ConfigError, match="ADDRESS_DELAY_MS"):
        load_settings({"ADDRESS_DELAY_MS": value}, environ={})
