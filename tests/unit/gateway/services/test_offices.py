"""The office list: validators, the CSV loader's refusals (nothing written), replace semantics
(offices leaving the list become inactive, never deleted), and the shipped list."""

import csv
import io
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Event, Office
from gateway.services import offices
from policies.identifiers import CCCD_PROVINCE_CODES

HEADER = "code,name,province\n"
GOOD = HEADER + "BHXH-001,Bảo hiểm xã hội thành phố Hà Nội,001\n" \
                "BHXH-079,Bảo hiểm xã hội thành phố Hồ Chí Minh,079\n"


# --- validators (pure: no database) -----------------------------------------------------

@given(st.from_regex(r"[A-Z0-9]{1,8}(-[A-Z0-9]{1,8}){0,2}", fullmatch=True))
def test_codes_of_the_documented_form_are_accepted_unchanged(code):
    if len(code) >= 2:
        assert offices.parse_code(code) == code


@given(st.text(max_size=40))
def test_a_code_accepted_is_short_ascii_upper_alnum_and_single_dashes(code):
    try:
        parsed = offices.parse_code(code)
    except ValidationError as exc:
        assert exc.code == "invalid_code"
        return
    assert parsed == code and 2 <= len(code) <= 32 and code.isascii()
    assert all(part and part.isalnum() and part == part.upper() for part in code.split("-"))


@pytest.mark.parametrize("code", ["", "B", "bhxh-001", "BHXH--001", "-BHXH", "BHXH-", "BHXH 001",
                                  "BHXH_001", "BHXH-０01", "A" * 33])
def test_malformed_codes_are_refused(code):
    with pytest.raises(ValidationError) as exc:
        offices.parse_code(code)
    assert exc.value.code == "invalid_code"


@given(st.text(max_size=260))
def test_a_name_accepted_is_nfc_trimmed_bounded_and_free_of_control_characters(name):
    try:
        parsed = offices.parse_name(name)
    except ValidationError as exc:
        assert exc.code in ("invalid_name", "name_too_long")
        return
    assert parsed == unicodedata.normalize("NFC", parsed) == parsed.strip()
    assert 1 <= len(parsed) <= offices.NAME_MAX
    assert not any(unicodedata.category(ch) == "Cc" for ch in parsed)
    assert offices.parse_name(parsed) == parsed  # idempotent


def test_a_decomposed_name_is_stored_precomposed():
    decomposed = unicodedata.normalize("NFD", "Bảo hiểm xã hội tỉnh Đắk Lắk")
    assert offices.parse_name(f"  {decomposed} ") == "Bảo hiểm xã hội tỉnh Đắk Lắk"


@pytest.mark.parametrize(("name", "code"), [("", "invalid_name"), ("   ", "invalid_name"),
                                            ("BHXH\x00", "invalid_name"),
                                            ("a\u202eb", "invalid_name"),
                                            ("Ă" * 201, "name_too_long")])
def test_bad_names_are_refused(name, code):
    with pytest.raises(ValidationError) as exc:
        offices.parse_name(name)
    assert exc.value.code == code


@given(st.text(max_size=5))
def test_only_the_63_cccd_province_codes_are_provinces(value):
    try:
        assert offices.parse_province(value) in CCCD_PROVINCE_CODES
    except ValidationError as exc:
        assert exc.code == "invalid_province" and value not in CCCD_PROVINCE_CODES


# --- the file ------------------------------------------------------------------------------

def errors_of(data):
    with pytest.raises(offices.OfficeFileError) as exc:
        offices.parse_file(data.encode("utf-8") if isinstance(data, str) else data)
    return [(e.line, e.code) for e in exc.value.errors]


def test_bom_and_crlf_are_accepted():
    data = ("\ufeff" + GOOD.replace("\n", "\r\n")).encode("utf-8")
    assert [r.code for r in offices.parse_file(data)] == ["BHXH-001", "BHXH-079"]


def test_a_last_line_without_newline_is_accepted():
    assert len(offices.parse_file(GOOD.rstrip("\n").encode())) == 2


@pytest.mark.parametrize("header", ["code,name\n", "code;name;province\n", "Code,Name,Province\n",
                                    "name,code,province\n", "code,name,province,extra\n", ""])
def test_a_bad_header_is_refused(header):
    assert errors_of(header + "BHXH-001,Hà Nội,001\n") == [(1, "bad_header")]


def test_every_bad_row_is_reported_with_its_line_and_code():
    data = (HEADER
            + "BHXH-001,Bảo hiểm xã hội thành phố Hà Nội,001\n"  # 2 fine
            + "BHXH-002,Hà Giang\n"                              # 3 wrong column count
            + "BHXH-001,Trùng mã,001\n"                          # 4 duplicate
            + "BHXH-100,Không có tỉnh này,100\n"                 # 5 bad province
            + f"BHXH-004,{'Ă' * 201},004\n"                      # 6 over-long name
            + "bhxh-006,Bắc Kạn,006\n"                           # 7 bad code
            + "BHXH-008,Tuyên Quang,008,thừa\n"                  # 8 wrong column count
            + "\n")                                              # 9 empty line
    assert errors_of(data) == [(3, "wrong_column_count"), (4, "duplicate_code"),
                               (5, "invalid_province"), (6, "name_too_long"), (7, "invalid_code"),
                               (8, "wrong_column_count"), (9, "wrong_column_count")]


def test_a_truncated_last_line_is_refused():
    assert errors_of(GOOD + 'BHXH-010,"Bảo hiểm xã hội tỉnh Lào') == [(4, "truncated_line")]
    assert errors_of(GOOD + "BHXH-010,Bảo hiểm xã hội tỉnh Lào") == [(4, "wrong_column_count")]


def test_not_utf8_and_empty_lists_are_refused():
    assert errors_of(HEADER.encode() + "BHXH-096,Cà Mau,096\n".encode("cp1258")) == [
        (2, "bad_encoding")]
    assert errors_of(HEADER) == [(1, "no_offices")]
    assert errors_of(b"x" * (offices.MAX_FILE_BYTES + 1)) == [(0, "file_too_large")]


# --- replacing the list --------------------------------------------------------------------

def test_a_refused_file_writes_nothing(app):
    offices.load_file(GOOD.encode(), via="test")
    before = [(o.code, o.name, o.active) for o in offices.list_offices()]
    events_before = Event.query.count()
    with pytest.raises(offices.OfficeFileError):
        offices.load_file((HEADER + "BHXH-002,Hà Giang,002\nBHXH-002,Hà Giang,002\n").encode(),
                          via="test")
    db.session.expire_all()
    assert [(o.code, o.name, o.active) for o in offices.list_offices()] == before
    assert Event.query.count() == events_before


def test_replacing_deactivates_missing_offices_and_keeps_them(app):
    first = offices.load_file(GOOD.encode(), via="test")
    assert first == {"added": 2, "updated": 0, "unchanged": 0, "deactivated": 0, "active": 2}
    second = offices.load_file((HEADER + "BHXH-079,Bảo hiểm xã hội TP. Hồ Chí Minh,079\n"
                                "BHXH-002,Bảo hiểm xã hội tỉnh Hà Giang,002\n").encode(),
                               via="test")
    assert second == {"added": 1, "updated": 1, "unchanged": 0, "deactivated": 1, "active": 2}
    db.session.expire_all()
    stored = {o.code: (o.name, o.active) for o in Office.query.all()}
    assert stored == {"BHXH-001": ("Bảo hiểm xã hội thành phố Hà Nội", False),
                      "BHXH-079": ("Bảo hiểm xã hội TP. Hồ Chí Minh", True),
                      "BHXH-002": ("Bảo hiểm xã hội tỉnh Hà Giang", True)}
    # Back in the list: active again.
    third = offices.load_file(GOOD.encode(), via="test")
    assert third == {"added": 0, "updated": 2, "unchanged": 0, "deactivated": 1, "active": 2}
    assert db.session.get(Office, "BHXH-001").active is True
    loaded = Event.query.filter_by(name="offices.loaded").order_by(Event.id).all()
    assert [e.data for e in loaded][-1] == {"via": "test", **third}
    assert len(loaded) == 3


def test_the_shipped_list_loads_with_the_63_provincial_offices(app):
    counts = offices.load_file(offices.shipped_file(), via="test")
    rows = offices.list_offices()
    assert counts["added"] == len(rows) == counts["active"]
    provincial = [o for o in rows if o.code.count("-") == 1]
    assert len(provincial) == 63
    assert {o.province for o in provincial} == CCCD_PROVINCE_CODES
    assert all(o.code == f"BHXH-{o.province}" and o.name.startswith("Bảo hiểm xã hội ")
               for o in provincial)
    districts = [o for o in rows if o.code.count("-") == 2]
    assert {o.province for o in districts} >= {"001", "079"}
    assert all(o.code.startswith(f"BHXH-{o.province}-") for o in districts)
    assert db.session.get(Office, "BHXH-079").name == "Bảo hiểm xã hội thành phố Hồ Chí Minh"
    text = offices.shipped_file().decode("utf-8")
    assert text == unicodedata.normalize("NFC", text)
    assert len(list(csv.reader(io.StringIO(text)))) == len(rows) + 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(CCCD_PROVINCE_CODES)), min_size=1, max_size=6,
                unique=True))
def test_any_valid_list_loads_as_exactly_the_active_offices(app, provinces):
    data = HEADER + "".join(f"BHXH-{p},Văn phòng {p},{p}\n" for p in provinces)
    offices.load_file(data.encode(), via="test")
    db.session.expire_all()
    active = {o.code for o in offices.list_offices() if o.active}
    assert active == {f"BHXH-{p}" for p in provinces}
