"""policies.declaration: every field of the online declaration, with properties over
arbitrary input (hypothesis), and the applicant's reference."""

from __future__ import annotations

import datetime
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from policies.declaration import (
    MAX_AGE,
    NAME_MAX,
    REFERENCE_ALPHABET,
    TEXT_FIELDS,
    TEXT_MAX,
    DeclarationInvalid,
    age_on,
    new_reference,
    parse_date_of_birth,
    parse_declaration,
    parse_full_name,
    parse_reference,
)
from policies.identifiers import CCCD_PROVINCE_CODES, IdentifierError

TODAY = datetime.date(2026, 6, 15)
OFFICES = {"BHXH-001", "BHXH-079-Q1"}
CODES = {"required", "repeated", "value_too_long", "invalid_bhxh", "invalid_name",
         "name_too_long", "invalid_dob", "dob_in_future", "dob_too_early", "invalid_sex",
         "invalid_cccd", "unknown_cccd_province", "cccd_dob_mismatch", "cccd_sex_mismatch",
         "invalid_phone", "phone_not_mobile", "invalid_email", "unknown_office"}
# Digits that are not ASCII: full-width, Arabic-Indic, Devanagari, mathematical bold.
OTHER_DIGITS = "０１２３４５６７８９٠١٢٣٤٥٦٧٨٩०१२३४५६७८९𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"


def cccd(dob: datetime.date, sex: str, province: str = "001", serial: str = "012345") -> str:
    digit = (dob.year // 100 - 19) * 2 + (sex == "female")
    return f"{province}{digit}{dob.year % 100:02d}{serial}"


def valid(**overrides) -> dict[str, str]:
    values = {"bhxh_number": "0123456789", "full_name": "Nguyễn Văn An",
              "date_of_birth": "1985-04-12", "sex": "male", "id_number": "001085012345",
              "phone": "0912345623", "email": "an.nguyen@example.vn", "office": "BHXH-001"}
    values.update(overrides)
    return values


def parse(values):
    return parse_declaration(values, today=TODAY, office_is_active=OFFICES.__contains__)


def refused(values) -> dict[str, str]:
    with pytest.raises(DeclarationInvalid) as caught:
        parse(values)
    return caught.value.fields


def test_a_valid_declaration_in_canonical_form():
    declared = parse(valid(full_name="  Nguye\u0302\u0303n   Văn\u00a0An ", phone="091 234 5623",
                           email="An.Nguyen@EXAMPLE.vn", bhxh_number=" 0123456789 "))
    assert declared.bhxh == "0123456789"
    assert declared.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", declared.full_name)
    assert declared.dob == datetime.date(1985, 4, 12)
    assert (declared.sex, declared.cccd) == ("male", "001085012345")
    assert declared.phone == "+84912345623"
    assert declared.email == "An.Nguyen@example.vn"
    assert declared.office == "BHXH-001"


def test_every_field_is_reported_at_once_in_form_order():
    fields = refused({"full_name": "A1", "sex": "other", "phone": "12", "office": "BHXH-999",
                      "email": "not-an-address", "date_of_birth": "15/06/1990"})
    assert list(fields) == [name for name in TEXT_FIELDS if name in fields]
    assert fields == {"bhxh_number": "required", "full_name": "invalid_name",
                      "date_of_birth": "invalid_dob", "sex": "invalid_sex",
                      "id_number": "required", "phone": "invalid_phone",
                      "email": "invalid_email", "office": "unknown_office"}


def test_email_is_optional_and_other_fields_are_not():
    assert parse(valid(email="")).email is None
    assert parse({k: v for k, v in valid().items() if k != "email"}).email is None
    for name in TEXT_FIELDS:
        if name != "email":
            assert refused(valid(**{name: "   "}))[name] == "required"


def test_a_field_sent_twice_is_refused_not_chosen():
    values = {k: [v] for k, v in valid().items()}
    values["bhxh_number"] = ["0123456789", "9876543210"]
    values["email"] = ["a@example.vn", "b@example.vn"]
    assert refused(values) == {"bhxh_number": "repeated", "email": "repeated"}


def test_overlong_values_are_refused_before_they_are_read():
    fields = refused(valid(full_name="A" * (TEXT_MAX + 1), email="a" * 300 + "@x.vn",
                           office="B" * 1000))
    assert fields == {"full_name": "value_too_long", "email": "value_too_long",
                      "office": "value_too_long"}
    assert refused(valid(full_name="Á" * (NAME_MAX + 1))) == {"full_name": "name_too_long"}


@pytest.mark.parametrize(("typed", "code"), [
    ("0123456789", None), ("012345678", "invalid_bhxh"), ("01234567890", "invalid_bhxh"),
    ("012345678x", "invalid_bhxh"), ("０１２３４５６７８９", "invalid_bhxh"),
    ("٠١٢٣٤٥٦٧٨٩", "invalid_bhxh"), ("+123456789", "invalid_bhxh")])
def test_the_social_insurance_number(typed, code):
    if code is None:
        assert parse(valid(bhxh_number=typed)).bhxh == typed
    else:
        assert refused(valid(bhxh_number=typed)) == {"bhxh_number": code}


@given(st.text(alphabet="0123456789", min_size=10, max_size=10),
       st.integers(0, 9), st.sampled_from(OTHER_DIGITS))
def test_any_other_unicode_digit_is_refused_not_converted(digits, at, other):
    assert parse(valid(bhxh_number=digits)).bhxh == digits
    mixed = digits[:at] + other + digits[at + 1:]
    assert unicodedata.digit(other) is not None  # it is a digit to Unicode...
    assert refused(valid(bhxh_number=mixed)) == {"bhxh_number": "invalid_bhxh"}  # ...not to us


@given(st.text(max_size=120))
def test_a_name_is_refused_or_canonical(text):
    try:
        name = parse_full_name(text)
    except IdentifierError as exc:
        assert exc.code in {"invalid_name", "name_too_long"}
        return
    assert unicodedata.is_normalized("NFC", name)
    assert name == name.strip() and "  " not in name and 0 < len(name) <= NAME_MAX
    assert any(unicodedata.category(ch).startswith("L") for ch in name)
    assert not any(unicodedata.category(ch)[0] in "CNSP" and ch not in "'-."
                   for ch in name)
    assert parse_full_name(name) == name  # idempotent


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=20),
       st.sampled_from(["\t", "\n", "\r", "\x00", "\u200b", "\u202e", "\u2028", "1", "@", "🙂"]))
def test_control_characters_digits_and_symbols_make_a_name_invalid(letters, bad):
    # Letters alone are a name, in NFC (OHM SIGN U+2126 becomes GREEK CAPITAL OMEGA)
    assert parse_full_name(letters) == unicodedata.normalize("NFC", letters)
    with pytest.raises(IdentifierError) as caught:
        parse_full_name(letters + bad + letters)
    assert caught.value.code == "invalid_name"


@given(st.text(alphabet="aăâeêioôơuưyAĂÂEÊIOÔƠUƯY ", min_size=1, max_size=40)
       .filter(str.strip))
def test_composed_and_decomposed_spellings_are_one_name(name):
    assert parse_full_name(unicodedata.normalize("NFD", name)) == parse_full_name(name)


def test_names_people_really_have():
    assert parse_full_name("H'Hen Niê") == "H'Hen Niê"
    assert parse_full_name("H\u2019Hen Niê") == "H'Hen Niê"
    assert parse_full_name("Jean-Pierre Nguyễn") == "Jean-Pierre Nguyễn"
    assert parse_full_name("李小龍") == "李小龍"


@given(st.dates(min_value=datetime.date(1800, 1, 1), max_value=datetime.date(2200, 12, 31)))
def test_the_date_of_birth_bounds(dob):
    text = dob.isoformat()
    if dob > TODAY:
        expected = "dob_in_future"
    elif age_on(dob, TODAY) > MAX_AGE:
        expected = "dob_too_early"
    else:
        assert parse_date_of_birth(text, today=TODAY) == dob
        return
    with pytest.raises(IdentifierError) as caught:
        parse_date_of_birth(text, today=TODAY)
    assert caught.value.code == expected


def test_age_bounds_at_their_edges():
    assert parse_date_of_birth("2026-06-15", today=TODAY)  # born today: age 0
    assert parse_date_of_birth("1905-06-16", today=TODAY)  # 120 until tomorrow
    with pytest.raises(IdentifierError) as caught:
        parse_date_of_birth("1905-06-15", today=TODAY)  # 121 today
    assert caught.value.code == "dob_too_early"
    with pytest.raises(IdentifierError) as caught:
        parse_date_of_birth("2026-06-16", today=TODAY)
    assert caught.value.code == "dob_in_future"
    assert age_on(datetime.date(1906, 6, 15), TODAY) == 120
    assert age_on(datetime.date(1906, 6, 16), TODAY) == 119
    assert age_on(datetime.date(2000, 2, 29), datetime.date(2001, 2, 28)) == 0


@pytest.mark.parametrize("typed", ["1985-4-12", "1985/04/12", "12-04-1985", "1985-02-30",
                                   "１９８５-04-12", "1985-04-12T00:00", ""])
def test_dates_that_are_not_iso_dates(typed):
    assert refused(valid(date_of_birth=typed)).get("date_of_birth") in {"invalid_dob",
                                                                         "required"}


@given(st.dates(min_value=datetime.date(1906, 7, 1), max_value=TODAY),
       st.sampled_from(["male", "female"]), st.sampled_from(sorted(CCCD_PROVINCE_CODES)))
def test_a_cccd_agrees_with_the_birth_date_and_sex(dob, sex, province):
    number = cccd(dob, sex, province)
    declared = parse(valid(date_of_birth=dob.isoformat(), sex=sex, id_number=number))
    assert declared.cccd == number
    other_sex = "female" if sex == "male" else "male"
    assert refused(valid(date_of_birth=dob.isoformat(), sex=other_sex, id_number=number)) \
        == {"id_number": "cccd_sex_mismatch"}
    other_year = dob.replace(year=dob.year - 1 if dob.year > 1907 else dob.year + 1, day=1)
    assert refused(valid(date_of_birth=other_year.isoformat(), sex=sex, id_number=number)) \
        == {"id_number": "cccd_dob_mismatch"}


@given(st.integers(0, 999).map(lambda n: f"{n:03d}"))
def test_the_province_code_must_be_one_of_the_63(province):
    assume(province not in CCCD_PROVINCE_CODES)
    assert refused(valid(id_number=cccd(datetime.date(1985, 4, 12), "male", province))) \
        == {"id_number": "unknown_cccd_province"}


def test_century_digit_and_year_digits():
    born = datetime.date(2003, 1, 2)
    assert parse(valid(date_of_birth="2003-01-02", sex="female",
                       id_number=cccd(born, "female"))).cccd.startswith("0013")
    # digit 4 says 1900s while the person was born in 2003
    assert refused(valid(date_of_birth="2003-01-02", sex="female", id_number="001103012345")) \
        == {"id_number": "cccd_dob_mismatch"}
    assert refused(valid(id_number="00108501234")) == {"id_number": "invalid_cccd"}
    assert refused(valid(id_number="００１０８５０１２３４５")) == {"id_number": "invalid_cccd"}


def test_a_cccd_is_checked_alone_when_the_birth_date_or_sex_is_wrong():
    assert refused(valid(sex="x")) == {"sex": "invalid_sex"}
    assert refused(valid(date_of_birth="1985-13-01")) == {"date_of_birth": "invalid_dob"}
    assert refused(valid(sex="x", id_number="999085012345")) == {
        "sex": "invalid_sex", "id_number": "unknown_cccd_province"}


@given(st.sampled_from(["3", "5", "7", "8", "9"]), st.text("0123456789", min_size=8, max_size=8))
def test_vietnamese_mobiles_become_e164(first, rest):
    try:
        declared = parse(valid(phone=f"0{first}{rest}"))
    except DeclarationInvalid as exc:  # a range phonenumbers does not (yet) know
        assert exc.fields["phone"] in {"invalid_phone", "phone_not_mobile"}
        return
    assert declared.phone == f"+84{first}{rest}"
    assert parse(valid(phone=f"+84 {first}{rest}")).phone == declared.phone


@pytest.mark.parametrize(("typed", "code"), [
    ("02438253456", "phone_not_mobile"), ("+14155552671", "invalid_phone"),
    ("０９１２３４５６２３", "invalid_phone"), ("0912345623 ext 5", "invalid_phone"),
    ("09123", "invalid_phone")])
def test_phones_that_are_not_vietnamese_mobiles(typed, code):
    assert refused(valid(phone=typed)) == {"phone": code}


@pytest.mark.parametrize("office", ["BHXH-002", "bhxh-001", "BHXH--001", "BHXH-001 ", "X" * 33])
def test_the_office_must_be_an_active_office_code(office):
    if office.strip() == "BHXH-001":
        assert parse(valid(office=office)).office == "BHXH-001"
    else:
        assert refused(valid(office=office)) == {"office": "unknown_office"}


field_values = st.one_of(st.text(max_size=300), st.lists(st.text(max_size=40), max_size=3))


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from([*TEXT_FIELDS, "other"]), field_values))
def test_any_input_is_a_declaration_or_codes_for_each_field(values):
    try:
        declared = parse(values)
    except DeclarationInvalid as exc:
        assert exc.fields and set(exc.fields) <= set(TEXT_FIELDS)
        assert set(exc.fields.values()) <= CODES
        return
    assert declared.office in OFFICES


@given(st.randoms(use_true_random=False))
def test_references_are_read_back_however_they_are_typed(rnd):
    reference = new_reference(rnd.choice)
    assert parse_reference(reference) == reference
    body = reference[3:].replace("-", "")
    for typed in (reference.lower(), body, f" dk {body[:4]} {body[4:]} ", f"DK{body}"):
        assert parse_reference(typed) == reference


@pytest.mark.parametrize("typed", ["DK-ABCD-EFG0", "DK-ABCD-EFGO", "DK-ABCD-EFGI",
                                   "DK-ABCD-EFGL", "DK-ABCD-EFGU", "DK-ABCD-EFG",
                                   "XX-ABCD-EFGH", "DK-ABCD-EFGH-J", "", None, "Ｄ" * 10])
def test_what_cannot_be_a_reference(typed):
    assert parse_reference(typed) is None


def test_the_alphabet_has_no_look_alikes():
    assert not set("01OILU") & set(REFERENCE_ALPHABET)
    assert len(set(REFERENCE_ALPHABET)) == len(REFERENCE_ALPHABET) == 30
