"""The pure OTP rules: code shape, binding of the digest, windows, and the refusal order."""

from dataclasses import MISSING, fields
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.settings import ConfigError, load_settings
from policies import otp_rules as rules

LIMITS = rules.OtpLimits(ttl=300, resend_cooldown=60, max_attempts=5, failure_budget=10,
                         daily_cap_account=10, daily_cap_phone=10)
KEY = b"k" * 32


@pytest.mark.parametrize("code", ["000000", "123456", "999999"])
def test_six_ascii_digits_are_well_formed(code):
    assert rules.is_well_formed(code)


@pytest.mark.parametrize("code", ["12345", "1234567", " 123456", "123456 ", "12345a", "",
                                  "１２３４５６", "١٢٣٤٥٦", "12345\n", "+12345", 123456, None,
                                  b"123456", ["123456"]])
def test_anything_else_is_malformed(code):
    assert not rules.is_well_formed(code)


def test_codes_are_zero_padded_and_bounded():
    assert rules.format_code(0) == "000000"
    assert rules.format_code(42) == "000042"
    assert rules.format_code(999_999) == "999999"
    for bad in (-1, 1_000_000):
        with pytest.raises(ValueError):
            rules.format_code(bad)


def test_digest_binds_purpose_flow_and_code():
    base = rules.code_digest(KEY, "takeover", "flow-1", "123456")
    assert base == rules.code_digest(KEY, "takeover", "flow-1", "123456")
    others = {
        rules.code_digest(KEY, "recovery", "flow-1", "123456"),
        rules.code_digest(KEY, "takeover", "flow-2", "123456"),
        rules.code_digest(KEY, "takeover", "flow-1", "123457"),
        rules.code_digest(b"x" * 32, "takeover", "flow-1", "123456"),
    }
    assert base not in others and len(others) == 4
    assert "123456" not in base and len(base) == 64
    assert rules.digests_match(base, base) and not rules.digests_match(base, others.pop())


@pytest.mark.parametrize("purpose, ok", [("takeover", True), ("phone_change", True),
                                         ("a", True), ("", False), ("Takeover", False),
                                         ("take:over", False), ("x" * 33, False), (None, False)])
def test_purpose_names(purpose, ok):
    assert rules.is_valid_purpose(purpose) is ok


@pytest.mark.parametrize("flow_id, ok", [("AbC_-09", True), ("x" * 64, True), ("x" * 65, False),
                                         ("", False), ("a:b", False), ("{a}", False),
                                         ("ä", False), (7, False)])
def test_flow_ids(flow_id, ok):
    assert rules.is_valid_flow_id(flow_id) is ok


def test_validity_minutes_never_promise_more_time():
    assert rules.validity_minutes(300) == 5
    assert rules.validity_minutes(599) == 9
    assert rules.validity_minutes(600) == 10
    assert rules.validity_minutes(59) == 1


def test_daily_window_ends_at_utc_midnight():
    now = datetime(2026, 11, 22, 23, 59, 30, tzinfo=UTC)
    assert rules.utc_day(now) == "20261122"
    assert rules.seconds_to_end_of_utc_day(now) == 31
    assert rules.seconds_to_end_of_utc_day(datetime(2026, 11, 22, tzinfo=UTC)) == 86401
    # 06:30 in Hanoi is still the previous UTC day
    hanoi = datetime(2026, 11, 23, 6, 30, tzinfo=timezone(timedelta(hours=7)))
    assert rules.utc_day(hanoi) == "20261122"
    assert rules.seconds_to_end_of_utc_day(hanoi) == 30 * 60 + 1


def test_caps_count_the_current_request():
    assert not rules.over_cap(10, 10)
    assert rules.over_cap(11, 10)


def test_refusal_before_comparing():
    assert rules.before_compare(tries=1, failures=0, limits=LIMITS) is None
    assert rules.before_compare(tries=5, failures=9, limits=LIMITS) is None
    assert rules.before_compare(tries=6, failures=0, limits=LIMITS) == rules.ATTEMPTS_EXCEEDED
    assert rules.before_compare(tries=1, failures=10, limits=LIMITS) == rules.BUDGET_EXHAUSTED
    assert rules.before_compare(tries=9, failures=10, limits=LIMITS) == rules.BUDGET_EXHAUSTED


def test_answer_to_a_wrong_try():
    assert rules.after_wrong_try(tries=1, failures=1, limits=LIMITS) == rules.INVALID
    assert rules.after_wrong_try(tries=4, failures=9, limits=LIMITS) == rules.INVALID
    assert rules.after_wrong_try(tries=5, failures=5, limits=LIMITS) == rules.ATTEMPTS_EXCEEDED
    assert rules.after_wrong_try(tries=2, failures=10, limits=LIMITS) == rules.BUDGET_EXHAUSTED
    assert rules.after_wrong_try(tries=5, failures=10, limits=LIMITS) == rules.BUDGET_EXHAUSTED


def test_the_limits_carry_no_defaults_of_their_own():
    # One source for every default: config/defaults.py.
    assert all(f.default is MISSING and f.default_factory is MISSING
               for f in fields(rules.OtpLimits))


def test_limits_come_from_config(tmp_path):
    settings = load_settings({"OTP_TTL": 120, "OTP_MAX_ATTEMPTS": 3}, environ={},
                             instance_path=tmp_path)
    limits = rules.OtpLimits.from_config(settings)
    assert (limits.ttl, limits.max_attempts, limits.resend_cooldown) == (120, 3, 60)
    assert (limits.failure_budget, limits.daily_cap_account, limits.daily_cap_phone) == (10, 10, 10)


@pytest.mark.parametrize("name, value", [("OTP_TTL", 601), ("OTP_TTL", 0),
                                         ("OTP_RESEND_COOLDOWN", 0), ("OTP_MAX_ATTEMPTS", 0),
                                         ("OTP_FAILURE_BUDGET", 0), ("OTP_DAILY_CAP_ACCOUNT", 0),
                                         ("OTP_DAILY_CAP_PHONE", -1), ("OUTBOX_MAX_ATTEMPTS", 0)])
def test_settings_out_of_range_refuse_to_start(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"GATEWAY_{name}"):
        load_settings({name: value}, environ={}, instance_path=tmp_path)


def test_ten_minutes_is_the_longest_lifetime(tmp_path):
    assert load_settings({"OTP_TTL": 600}, environ={}, instance_path=tmp_path)["OTP_TTL"] == 600
    with pytest.raises(ConfigError, match="GATEWAY_OTP_TTL"):
        load_settings(environ={"GATEWAY_OTP_TTL": "900"}, instance_path=tmp_path)
