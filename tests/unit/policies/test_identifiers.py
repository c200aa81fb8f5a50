"""Table-driven and property tests of policies.identifiers: every rule, and the tricks."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.identifiers import (
    CCCD_PROVINCE_CODES,
    CccdInfo,
    IdentifierError,
    describe_cccd,
    login_name,
    mask_bhxh,
    mask_cccd,
    mask_email,
    mask_phone,
    parse_bhxh,
    parse_cccd,
    parse_dob,
    parse_email,
    parse_phone,
)

TODAY = datetime.date(2025, 6, 1)


def _error(func, *args, **kwargs) -> IdentifierError:
    with pytest.raises(IdentifierError) as info:
        func(*args, **kwargs)
    return info.value


# --- BHXH ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0123456789", "0123456789"),
        ("  7912345678\n", "7912345678"),
        ("\t0000000000 ", "0000000000"),
    ],
)
def test_bhxh_accepts(raw, expected):
    assert parse_bhxh(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "012345678",  # 9 digits
        "01234567890",  # 11 digits
        "01234 56789",  # inner space
        "0123-456789",
        "012345678a",
        "+123456789",
        "-123456789",
        "0123456789\n0",
        "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits: isdigit() is True
        "０１２３４５６７８９",  # full-width digits
        "012345678²",  # superscript two
        "012345678\u0669",
        None,
        1234567890,
    ],
)
def test_bhxh_refuses(raw):
    error = _error(parse_bhxh, raw)
    assert (error.field, error.code) == ("bhxh", "invalid_bhxh")
    assert isinstance(error, ValueError)


# --- CCCD ---------------------------------------------------------------------------------

VALID_CCCD = "001099012345"  # Hà Nội, male born 1999


@pytest.mark.parametrize(
    ("raw", "info"),
    [
        ("001099012345", CccdInfo("001", 1900, "male", 99)),
        ("079185000001", CccdInfo("079", 1900, "female", 85)),
        ("096303000001", CccdInfo("096", 2000, "female", 3)),
        ("031200000001", CccdInfo("031", 2000, "male", 0)),
        ("048450000001", CccdInfo("048", 2100, "male", 50)),
        ("048550000001", CccdInfo("048", 2100, "female", 50)),
        ("001612000000", CccdInfo("001", 2200, "male", 12)),
        ("001712000000", CccdInfo("001", 2200, "female", 12)),
        ("001812000000", CccdInfo("001", 2300, "male", 12)),
        ("001912000000", CccdInfo("001", 2300, "female", 12)),
        (" 001099012345 ", CccdInfo("001", 1900, "male", 99)),
    ],
)
def test_describe_cccd(raw, info):
    assert describe_cccd(raw) == info
    assert parse_cccd(raw) == raw.strip()


def test_exactly_63_province_codes():
    assert len(CCCD_PROVINCE_CODES) == 63
    for code in CCCD_PROVINCE_CODES:
        assert parse_cccd(code + "099012345") == code + "099012345"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid_cccd"),
        ("00109901234", "invalid_cccd"),  # 11 digits
        ("0010990123456", "invalid_cccd"),  # 13 digits
        ("001 099 012 345", "invalid_cccd"),
        ("00109901234x", "invalid_cccd"),
        ("００１０９９０１２３４５", "invalid_cccd"),  # full-width
        ("٠٠١٠٩٩٠١٢٣٤٥", "invalid_cccd"),  # Arabic-Indic
        ("000099012345", "unknown_cccd_province"),
        ("003099012345", "unknown_cccd_province"),  # gap in the list
        ("097099012345", "unknown_cccd_province"),
        ("999099012345", "unknown_cccd_province"),
    ],
)
def test_cccd_refuses(raw, code):
    error = _error(parse_cccd, raw)
    assert (error.field, error.code) == ("cccd", code)


@pytest.mark.parametrize(
    ("raw", "dob", "sex"),
    [
        ("001099012345", datetime.date(1999, 12, 31), "male"),
        ("001199012345", datetime.date(1999, 1, 1), "female"),
        ("001200012345", datetime.date(2000, 1, 1), "male"),
        ("001305012345", datetime.date(2005, 7, 4), "female"),
        ("001099012345", None, "male"),
        ("001099012345", datetime.date(1999, 5, 5), None),
    ],
)
def test_cccd_agrees_with_dob_and_sex(raw, dob, sex):
    assert parse_cccd(raw, dob=dob, sex=sex) == raw


@pytest.mark.parametrize(
    ("raw", "dob", "sex", "code"),
    [
        ("001099012345", datetime.date(1998, 12, 31), None, "cccd_dob_mismatch"),  # year
        ("001099012345", datetime.date(2099, 1, 1), None, "cccd_dob_mismatch"),  # century
        ("001299012345", datetime.date(1999, 1, 1), None, "cccd_dob_mismatch"),
        ("001000012345", datetime.date(2000, 1, 1), None, "cccd_dob_mismatch"),
        ("001899012345", datetime.date(1899, 1, 1), None, "cccd_dob_mismatch"),
        ("001099012345", None, "female", "cccd_sex_mismatch"),
        ("001199012345", None, "male", "cccd_sex_mismatch"),
        ("001199012345", datetime.date(1999, 1, 1), "male", "cccd_sex_mismatch"),
    ],
)
def test_cccd_disagrees_with_dob_or_sex(raw, dob, sex, code):
    error = _error(parse_cccd, raw, dob=dob, sex=sex)
    assert (error.field, error.code) == ("cccd", code)


@pytest.mark.parametrize("sex", ["M", "Male", "", "other"])
def test_cccd_refuses_unknown_sex_argument(sex):
    assert _error(parse_cccd, VALID_CCCD, sex=sex).code == "invalid_sex"


# --- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0912 345 678",
        "091.234.5678",
        "091-234-5678",
        "+84 912 345 678",
        "+84-91-234-5678",
        " 0912345678 ",
    ],
)
def test_phone_accepts(raw):
    assert parse_phone(raw) == "+84912345678"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid_phone"),
        ("091234567", "invalid_phone"),  # too short
        ("09123456789", "invalid_phone"),  # too long
        ("+14155552671", "invalid_phone"),  # valid, but not Vietnamese
        ("+4915123456789", "invalid_phone"),
        ("0912345678 ext. 12", "invalid_phone"),
        ("0912345678;ext=12", "invalid_phone"),
        ("(091) 234 5678", "invalid_phone"),
        ("09I2345678", "invalid_phone"),
        ("0912FLOWER", "invalid_phone"),  # keypad letters, which phonenumbers would map
        ("０９１２３４５６７８", "invalid_phone"),  # full-width digits
        ("٠٩١٢٣٤٥٦٧٨", "invalid_phone"),
        ("++84912345678", "invalid_phone"),
        ("0712345678", "invalid_phone"),  # no such prefix
        ("1" * 40, "invalid_phone"),
        ("02438253300", "phone_not_mobile"),  # Hà Nội fixed line
    ],
)
def test_phone_refuses(raw, code):
    error = _error(parse_phone, raw)
    assert (error.field, error.code) == ("phone", code)


# --- e-mail -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nguyen.van.a@example.vn", "nguyen.van.a@example.vn"),
        ("Nguyen.Van.A@Example.VN", "Nguyen.Van.A@example.vn"),  # only the domain is folded
        ("a+tag@mail.gov.vn", "a+tag@mail.gov.vn"),
        ("  x@sub-domain.example.com ", "x@sub-domain.example.com"),
        ("a" * 64 + "@example.vn", "a" * 64 + "@example.vn"),
    ],
)
def test_email_accepts(raw, expected):
    assert parse_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "example.vn",
        "@example.vn",
        "a@",
        "a@@example.vn",
        "a@b@example.vn",
        "a@localhost",  # no dot in the domain
        "a b@example.vn",
        "a@exa mple.vn",
        "a\x00@example.vn",
        "a@example.vn\r\nBcc: x@evil.example",
        "a\t@example.vn",
        "a" * 65 + "@example.vn",  # local part > 64
        "a@" + "b" * 64 + ".vn",  # DNS label > 63
        "a@" + ("b" * 60 + ".") * 5 + "vn",  # > 254 in total
        ".a@example.vn",
        "a.@example.vn",
        "a..b@example.vn",
        '"a b"@example.vn',
        "a@.example.vn",
        "a@example..vn",
        "a@example.vn.",
        "a@-example.vn",
        "a@example-.vn",
        "a@exam_ple.vn",
        "a@[127.0.0.1]",
        "a@127.0.0.1",
        "nguyễn@example.vn",
        "a@ví-dụ.vn",
    ],
)
def test_email_refuses(raw):
    error = _error(parse_email, raw)
    assert (error.field, error.code) == ("email", "invalid_email")


# --- date of birth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1990-05-17", datetime.date(1990, 5, 17)),
        ("1900-01-01", datetime.date(1900, 1, 1)),
        ("2025-06-01", TODAY),
        ("2000-02-29", datetime.date(2000, 2, 29)),
        (" 1990-05-17\n", datetime.date(1990, 5, 17)),
    ],
)
def test_dob_accepts(raw, expected):
    assert parse_dob(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid_dob"),
        ("17/05/1990", "invalid_dob"),
        ("1990-5-17", "invalid_dob"),
        ("19900517", "invalid_dob"),  # fromisoformat alone would accept it
        ("1990-W20-1", "invalid_dob"),
        ("1990-05-17T00:00", "invalid_dob"),
        ("1990-02-30", "invalid_dob"),
        ("1990-13-01", "invalid_dob"),
        ("1999-02-29", "invalid_dob"),
        ("１９９０-０５-１７", "invalid_dob"),
        ("2025-06-02", "dob_in_future"),
        ("9999-12-31", "dob_in_future"),
        ("1899-12-31", "dob_too_early"),
        ("0001-01-01", "dob_too_early"),
    ],
)
def test_dob_refuses(raw, code):
    error = _error(parse_dob, raw, today=TODAY)
    assert (error.field, error.code) == ("dob", code)


# --- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "raw", "masked"),
    [
        (mask_phone, "+84912345623", "+84 9** *** *23"),
        (mask_phone, "0912 345 623", "+84 9** *** *23"),
        (mask_bhxh, "0123456789", "******6789"),
        (mask_cccd, "001099012345", "********2345"),
        (mask_email, "nguyen.van.a@example.vn", "n***@example.vn"),
        (mask_email, "A@Example.VN", "A***@example.vn"),
    ],
)
def test_masks(func, raw, masked):
    assert func(raw) == masked


@pytest.mark.parametrize("func", [mask_phone, mask_bhxh, mask_cccd, mask_email])
@pytest.mark.parametrize("raw", ["", "garbage", "123", None, 42, b"0123456789", "\x00" * 3])
def test_masks_malformed(func, raw):
    assert func(raw) == "***"


# --- properties ---------------------------------------------------------------------------

PARSERS = [
    parse_bhxh,
    parse_cccd,
    describe_cccd,
    parse_phone,
    parse_email,
    lambda value: parse_dob(value, today=TODAY),
]
DIGIT_LIKE = st.text(
    alphabet=st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９²+-. @"), max_size=16
)


@pytest.mark.parametrize("parse", PARSERS)
@given(value=st.one_of(st.text(), DIGIT_LIKE))
def test_parsers_raise_only_identifier_error(parse, value):
    try:
        parse(value)
    except IdentifierError:
        pass


@given(value=st.one_of(st.text(), DIGIT_LIKE))
def test_parse_cccd_with_context_raises_only_identifier_error(value):
    try:
        parse_cccd(value, dob=datetime.date(1999, 1, 1), sex="male")
    except IdentifierError:
        pass


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_bhxh_accepts_every_ten_ascii_digits(value):
    assert parse_bhxh(value) == value


@given(st.one_of(st.text(), DIGIT_LIKE))
def test_bhxh_accepts_only_ten_ascii_digits(value):
    stripped = value.strip()
    ten_digits = len(stripped) == 10 and all(c in "0123456789" for c in stripped)
    try:
        assert parse_bhxh(value) == stripped
        assert ten_digits
    except IdentifierError:
        assert not ten_digits


@pytest.mark.parametrize(("mask", "shown"), [(mask_bhxh, 4), (mask_cccd, 4)])
@given(value=st.one_of(st.text(), DIGIT_LIKE, st.text(alphabet="0123456789", min_size=10)))
def test_masks_show_at_most_last_four(mask, shown, value):
    masked = mask(value)
    if masked != "***":
        stripped = value.strip()
        assert masked == "*" * (len(stripped) - shown) + stripped[-shown:]


@given(value=st.one_of(st.text(), DIGIT_LIKE, st.from_regex(r"\+849[0-9]{8}", fullmatch=True)))
def test_mask_phone_shows_at_most_last_two(value):
    masked = mask_phone(value)
    if masked != "***":
        e164 = parse_phone(value)
        assert masked == f"+84 {e164[3]}** *** *{e164[-2:]}"
        assert sum(c.isdigit() for c in masked) == 5  # "84", first digit, last two


@pytest.mark.parametrize("mask", [mask_phone, mask_bhxh, mask_cccd, mask_email])
@given(value=st.one_of(st.text(), st.binary(), st.integers(), st.none()))
def test_masks_never_raise(mask, value):
    assert isinstance(mask(value), str)


# --- login_name: the one normalisation every sign-in path keys on ------------------------


@given(st.from_regex(r"[0-9]{10}", fullmatch=True), st.text(" \t\n\r\u00a0\u3000", max_size=40),
       st.text(" \t\n\r\u00a0\u3000", max_size=40))
def test_login_name_trims_whitespace_around_ten_digits(digits, before, after):
    assert login_name(before + digits + after) == digits


@given(st.text(max_size=300))
def test_login_name_is_ten_ascii_digits_or_none(value):
    name = login_name(value)
    assert name is None or (len(name) == 10 and name.isascii() and name.isdigit())
    assert login_name(name) == name  # idempotent: a normalised name stays itself


@given(st.from_regex(r"[0-9]{10}", fullmatch=True), st.text(min_size=1, max_size=100),
       st.text(" \t", min_size=1, max_size=80))
def test_login_name_refuses_anything_after_the_padding(digits, tail, padding):
    value = digits + padding + tail
    assert login_name(value) is None or not tail.strip()


@pytest.mark.parametrize("value", ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "012345678", "01234567890",
                                   "0123456789x", "012345678²", None, 123456789, b"0123456789",
                                   "0123 456789", "", "  "])
def test_login_name_refuses(value):
    assert login_name(value) is None
