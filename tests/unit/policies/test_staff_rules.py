"""Staff rules (policies/staff_rules.py): usernames, roles and offices, reasons, TOTP codes and
their steps, and who may do what at the console."""

from __future__ import annotations

import string

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import staff_rules as R

SECRET = pyotp.random_base32(32)


@pytest.mark.parametrize("name", ["abc", "clerk.an", "nguyen_van-an", "a1b", "demo.clerk",
                                  "x" * 32])
def test_good_usernames(name):
    assert R.parse_username(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 33, "Clerk", "1clerk", "0123456789", "clerk.",
                                  "clerk..an", ".clerk", "cle rk", "clérk", "clerk\n", "",
                                  "a-", "a_-b", "ｃlerk", None, 12345])
def test_bad_usernames(name):
    with pytest.raises(R.StaffRuleError) as refused:
        R.parse_username(name)
    assert (refused.value.field, refused.value.code) == ("username", "invalid_username")


@given(st.text(max_size=40))
def test_a_username_is_lower_ascii_starting_with_a_letter_or_refused(text):
    try:
        name = R.parse_username(text)
    except R.StaffRuleError:
        return
    assert name == text and 3 <= len(name) <= 32 and name[0] in string.ascii_lowercase
    assert set(name) <= set(string.ascii_lowercase + string.digits + "._-")
    assert name[-1] not in "._-" and not any(a in "._-" and b in "._-"
                                             for a, b in zip(name, name[1:], strict=False))


def test_roles_and_offices():
    R.check_role_office("office_staff", "BHXH-001")
    R.check_role_office("post_office_agent", "BHXH-001")
    R.check_role_office("supervisor", None)
    R.check_role_office("supervisor", "BHXH-001")
    for role in ("office_staff", "post_office_agent"):
        with pytest.raises(R.StaffRuleError, match="office_required"):
            R.check_role_office(role, None)
    for role in ("admin", "", None, "Supervisor"):
        with pytest.raises(R.StaffRuleError, match="invalid_role"):
            R.check_role_office(role, "BHXH-001")


def test_who_may_do_what():
    assert [r for r in R.ROLES if R.may_act_on_accounts(r)] == ["office_staff", "supervisor"]
    assert [r for r in R.ROLES if R.may_read_audit(r)] == ["supervisor"]
    assert not R.may_act_on_accounts("admin") and not R.may_read_audit("")
    assert [r for r in R.ROLES if R.may_review_links(r)] == ["office_staff", "supervisor"]
    assert not R.may_review_links("post_office_agent") and not R.may_review_links("")


@pytest.mark.parametrize(("value", "code"), [("", "reason_required"), ("    ", "reason_required"),
                                             ("abcd", "reason_required"), (None, "reason_required"),
                                             ("x" * 501, "invalid_reason"),
                                             ("lý do\x00 ẩn", "invalid_reason"),
                                             ("lý do\x1b[31m", "invalid_reason")])
def test_bad_reasons(value, code):
    with pytest.raises(R.StaffRuleError, match=code):
        R.parse_reason(value)


@given(st.text(max_size=600))
def test_a_reason_is_kept_as_typed_trimmed_or_refused(text):
    try:
        reason = R.parse_reason(text)
    except R.StaffRuleError as exc:
        assert exc.code in ("reason_required", "invalid_reason") and exc.field == "reason"
        return
    assert reason == text.strip() and 5 <= len(reason) <= 500


@pytest.mark.parametrize(("typed", "code"), [("123456", "123456"), (" 123 456 ", "123456"),
                                             ("12345", None), ("1234567", None),
                                             ("１２３４５６", None), ("12345a", None),
                                             ("٣٣٣٣٣٣", None), ("", None), (None, None),
                                             ("1" * 17, None)])
def test_totp_codes_typed(typed, code):
    assert R.totp_code(typed) == code


@given(st.text(max_size=20))
def test_a_typed_code_is_six_ascii_digits_or_nothing(text):
    code = R.totp_code(text)
    assert code is None or (len(code) == 6 and set(code) <= set(string.digits))


def test_the_matching_step_is_within_one_step_either_side():
    totp = pyotp.TOTP(SECRET)
    now = 1_800_000_000 // 30

    def code_at(step):
        return totp.at(step * 30)

    for offset in (-1, 0, 1):
        assert R.matching_step(code_at(now + offset), now, code_at) == now + offset
    for offset in (-3, -2, 2, 3):
        code = code_at(now + offset)
        if code not in {code_at(now + d) for d in (-1, 0, 1)}:
            assert R.matching_step(code, now, code_at) is None
    assert R.matching_step("", now, code_at) is None


def test_the_step_of_a_time():
    assert R.totp_step(0) == 0 and R.totp_step(29) == 0 and R.totp_step(30) == 1
