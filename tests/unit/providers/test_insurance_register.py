"""The insurance register's CSV: the shipped sandbox file, and every malformed line named."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.insurance_register import (
    SHIPPED,
    CsvInsuranceRegister,
    RegisterFileError,
    register_for,
)
from providers.vneid_sandbox import load_citizens

HEADER = "id_number,bhxh_number,full_name,date_of_birth\n"


def _file(tmp_path, text: str):
    path = tmp_path / "register.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_register_knows_the_sandbox_participants():
    register = register_for({"INSURANCE_REGISTER_FILE": ""})
    assert register.path == str(SHIPPED)
    dung = register.find("048195000789")
    assert (dung.bhxh_number, dung.full_name, dung.date_of_birth) == (
        "4812345670", "Phạm Thị Dung", date(1995, 2, 28))
    citizens = {c.id_number for c in load_citizens()}
    # Every register entry is a sandbox citizen; Hoàng Văn Em and the organisation are not in it.
    assert {r for r in citizens if register.find(r)} == citizens - {"056200001111",
                                                                    "001079005555"}
    assert register.find("999999999999") is None and register.find(None) is None


def test_a_named_file_is_read(tmp_path):
    path = _file(tmp_path, HEADER + "001085099901,0199990001,  Nguyễn   Thị Kiểm Thử ,1985-01-02\n")
    register = register_for({"INSURANCE_REGISTER_FILE": str(path)})
    assert register.find("001085099901").full_name == "Nguyễn Thị Kiểm Thử"
    assert len(register) == 1


def test_every_bad_line_is_named(tmp_path):
    text = HEADER + "\n".join([
        "001085099901,0199990001,Một,1985-01-02",
        "00108509990,0199990002,Hai,1985-01-02",        # 11 digits
        "001085099903,019999000,Ba,1985-01-02",         # 9 digits
        "001085099904,0199990004,,1985-01-02",          # no name
        "001085099905,0199990005,Năm,02/01/1985",       # not ISO
        "001085099906,0199990006,Sáu,2025-W01-1",       # ISO week: not a date of birth
        "001085099901,0199990007,Bảy,1985-01-02",       # CCCD twice
        "001085099908,0199990001,Tám,1985-01-02",       # number twice
        "001085099909,0199990009,Chín",                 # a field short
        "",
        "001085099910,0199990010,Mười,1985-02-30",      # no such day
    ]) + "\n"
    with pytest.raises(RegisterFileError) as info:
        CsvInsuranceRegister(_file(tmp_path, text))
    assert [e.split(":")[0] for e in info.value.errors] == [
        f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9, 10, 12)]
    assert "appears twice" in info.value.errors[5]


@pytest.mark.parametrize("text", ["", "id,bhxh,name,dob\n", "\ufeffid_number,bhxh_number\n"])
def test_a_wrong_header_is_refused(tmp_path, text):
    with pytest.raises(RegisterFileError, match="line 1: the header"):
        CsvInsuranceRegister(_file(tmp_path, text))


def test_a_byte_order_mark_is_tolerated_and_other_encodings_are_not(tmp_path):
    assert len(CsvInsuranceRegister(_file(tmp_path, "\ufeff" + HEADER))) == 0
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "001085099901,0199990001,Nguy\xe9n,1985-01-02\n").encode("latin-1"))
    with pytest.raises(RegisterFileError, match="not UTF-8"):
        CsvInsuranceRegister(path)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=20), max_size=6), max_size=8))
def test_any_content_is_read_or_refused_with_reasons(tmp_path_factory, rows):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path = tmp_path_factory.mktemp("r") / "r.csv"
    path.write_text(HEADER + buffer.getvalue(), encoding="utf-8")
    try:
        register = CsvInsuranceRegister(path)
    except RegisterFileError as exc:
        assert exc.errors
    else:
        assert len(register) <= len(rows)
