"""The migration files' records: every dirty case has its stable reason, clean values their one
canonical form, and the remembered phone answers never differ from phonenumbers'."""

from __future__ import annotations

import datetime
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.identifiers import IdentifierError, parse_phone
from policies.migration_rows import (
    MobileNumbers,
    RowRejected,
    masked_bhxh,
    masked_id_number,
    parse_legacy,
    parse_timestamp,
    parse_verification,
    parse_vneid,
)

TODAY = datetime.date(2026, 11, 29)
MD5 = "md5$muoi$" + "0" * 32
ROW = ["0123456789", "Nguyễn Văn An", "1985-04-12", "male", "001085012345", "0912 345 678",
       "an@example.vn", MD5, "2021-05-03 08:15:22", "active"]


def legacy(**changes):
    fields = list(ROW)
    names = ["bhxh", "name", "dob", "sex", "id", "phone", "email", "hash", "created", "status"]
    for key, value in changes.items():
        fields[names.index(key)] = value
    return parse_legacy(fields, today=TODAY, phones=MobileNumbers())


def reason(**changes) -> tuple[str, str]:
    with pytest.raises(RowRejected) as caught:
        legacy(**changes)
    return caught.value.reason, caught.value.field


def test_a_clean_row():
    account = legacy()
    assert account.bhxh == "0123456789" and account.cccd == "001085012345"
    assert account.phone == "+84912345678" and account.old_id_number is None
    assert account.created_at == datetime.datetime(2021, 5, 3, 1, 15, 22, tzinfo=datetime.UTC)


@pytest.mark.parametrize("changes,expected", [
    ({"id": "003085012345"}, ("unknown_cccd_province", "id_number")),
    ({"id": "001285012345"}, ("cccd_dob_mismatch", "id_number")),
    ({"id": "001084012345"}, ("cccd_dob_mismatch", "id_number")),
    ({"id": "001185012345"}, ("cccd_sex_mismatch", "id_number")),
    ({"id": "00108501234"}, ("invalid_id_number", "id_number")),
    ({"id": "0010850123O5"}, ("invalid_id_number", "id_number")),
    ({"phone": "024 3826 1234"}, ("phone_not_mobile", "phone")),
    ({"phone": "09123"}, ("invalid_phone", "phone")),
    ({"phone": "+1 415 555 0100"}, ("invalid_phone", "phone")),
    ({"phone": ""}, ("missing_field", "phone")),
    ({"bhxh": ""}, ("missing_field", "bhxh_number")),
    ({"bhxh": "012345678"}, ("invalid_bhxh", "bhxh_number")),
    ({"name": "  "}, ("missing_field", "full_name")),
    ({"name": "An\u200bB"}, ("invalid_name", "full_name")),
    ({"name": "A" * 201}, ("invalid_name", "full_name")),
    ({"dob": "1985-02-30"}, ("invalid_dob", "date_of_birth")),
    ({"dob": "12.04.1985"}, ("invalid_dob", "date_of_birth")),
    ({"dob": "2999-01-01"}, ("invalid_dob", "date_of_birth")),
    ({"sex": "x"}, ("invalid_sex", "sex")),
    ({"email": "an@@example.vn"}, ("invalid_email", "email")),
    ({"hash": "plain:123456"}, ("invalid_password_hash", "password_hash")),
    ({"hash": "md5$salt$xyz"}, ("invalid_password_hash", "password_hash")),
    ({"hash": "sha256$x$" + "0" * 64}, ("invalid_password_hash", "password_hash")),
    ({"created": "yesterday"}, ("invalid_created_at", "created_at")),
    ({"created": "0001-01-01 03:00:00"}, ("invalid_created_at", "created_at")),
    ({"status": "deleted"}, ("invalid_status", "status")),
])
def test_each_dirty_value_has_its_reason(changes, expected):
    assert reason(**changes) == expected


def test_wrong_column_counts():
    for fields in (ROW[:-1], [*ROW, "x"], []):
        with pytest.raises(RowRejected) as caught:
            parse_legacy(fields, today=TODAY, phones=MobileNumbers())
        assert caught.value.reason == "wrong_column_count"


def test_accepted_spellings():
    nfd = unicodedata.normalize("NFD", "  Nguyễn   Văn  An ")
    assert legacy(name=nfd).full_name == "Nguyễn Văn An"
    assert legacy(dob="12/04/1985").dob == datetime.date(1985, 4, 12)
    assert legacy(sex="Nữ", id="001185012345").sex == "female"
    assert legacy(sex="").sex is None and legacy(id="").cccd is None
    assert legacy(id="123456789").old_id_number == "123456789"
    assert legacy(status="LOCKED").status == "locked" and legacy(email="").email is None
    for phone in ("0912345678", "091.234.5678", "+84 912 345 678", "84912345678"):
        assert legacy(phone=phone).phone == "+84912345678"
    bcrypt = "bcrypt$$2b$04$" + "a" * 53
    pbkdf2 = "pbkdf2_sha256$1000$muoi$" + "A" * 43 + "="
    assert legacy(hash=bcrypt).password_hash == bcrypt
    assert legacy(hash=pbkdf2).password_hash == pbkdf2


def test_timestamps_without_an_offset_are_viet_nam_time():
    assert parse_timestamp("2021-05-03T08:15:22+00:00", "created_at").hour == 8
    assert parse_timestamp("2021-05-03T08:15:22Z", "created_at").hour == 8
    assert parse_timestamp("2021-05-03 08:15", "created_at").hour == 1


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.builds(lambda p, d, sep: p + sep.join([d[:3], d[3:6], d[6:]]),
              st.sampled_from(["0", "+84", "+84 ", "84", ""]),
              st.text("0123456789", min_size=9, max_size=9),
              st.sampled_from(["", " ", ".", "-", "  ", "--"])),
    st.text("0123456789 +.-()", max_size=16),
))
def test_remembered_phone_answers_equal_phonenumbers(value):
    """The memory per (first four digits, length) answers exactly what parse_phone would,
    whatever the spelling, and whatever was asked before it."""
    phones = MobileNumbers()
    for attempt in range(2):  # the second time from the memory
        try:
            expected = ("ok", parse_phone(value))
        except IdentifierError as exc:
            expected = ("refused", exc.code)
        try:
            got = ("ok", phones.parse(value))
        except RowRejected as exc:
            got = ("refused", exc.reason)
        assert got == expected, (value, attempt)


@given(st.lists(st.text(max_size=30), min_size=10, max_size=10))
def test_arbitrary_fields_are_parsed_or_refused_never_crash(fields):
    try:
        parse_legacy(fields, today=TODAY, phones=MobileNumbers())
    except RowRejected as exc:
        assert exc.reason and exc.reason.isascii()


def test_masks_show_four_digits_at_most():
    assert masked_bhxh("0123456789") == "******6789" and masked_bhxh("12") == "***"
    assert masked_id_number("001085012345") == "********2345"
    assert masked_id_number("123456789") == "*****6789"
    assert masked_id_number("00108501234X") == "***" and masked_id_number("") == ""


def test_verification_lines():
    result = parse_verification(["001085012345", "Nguyễn Văn An", "1985-04-12", "có",
                                 "2024-01-02T03:04:05Z"], today=TODAY)
    assert result.verified and result.verified_at.year == 2024
    assert not parse_verification(["001085012345", "An", "1985-04-12", "false", ""],
                                  today=TODAY).verified
    for fields, code in ((["123456789", "An", "1985-04-12", "true", "2024-01-01 00:00"],
                          "invalid_id_number"),
                         (["001085012345", "An", "1985-04-12", "perhaps", ""],
                          "invalid_verified"),
                         (["001085012345", "An", "1985-04-12", "true", ""], "missing_field"),
                         (["001085012345", "An"], "wrong_column_count")):
        with pytest.raises(RowRejected) as caught:
            parse_verification(fields, today=TODAY)
        assert caught.value.reason == code


def test_vneid_lines():
    subject = parse_vneid(["abc123", "001085012345", "Nguyễn Văn An", "12/04/1985", "2"],
                          today=TODAY)
    assert subject.level == 2 and subject.dob == datetime.date(1985, 4, 12)
    for fields, code in ((["a b", "001085012345", "An", "1985-04-12", "2"], "invalid_subject"),
                         (["abc", "001085012345", "An", "1985-04-12", "3"], "invalid_level"),
                         (["abc", "003085012345", "An", "1985-04-12", "2"],
                          "unknown_cccd_province")):
        with pytest.raises(RowRejected) as caught:
            parse_vneid(fields, today=TODAY)
        assert caught.value.reason == code
