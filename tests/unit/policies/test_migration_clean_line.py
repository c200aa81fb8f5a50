"""The fast path of a clean legacy line (parse_legacy_clean) is the full policy (parse_legacy),
only faster: whatever line it accepts, parse_legacy accepts with the very same record — on
generated lines, clean, nearly clean and dirty — and it does accept the usual clean lines."""

from __future__ import annotations

import datetime
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from policies.migration_rows import (
    MobileNumbers,
    RowRejected,
    parse_legacy,
    parse_legacy_clean,
)

TODAY = datetime.date(2026, 11, 29)
CLEAN = ("0123456789,Nguyễn Văn An,1985-04-12,male,001085012345,0912 345 678,an@example.vn,"
         "md5$muoi$" + "0" * 32 + ",2021-05-03 08:15:22,active")

_digits = st.text("0123456789", min_size=1, max_size=13)
_names = st.one_of(
    st.sampled_from(["Nguyễn Văn An", "Trần Thị Ngọc Hà", "Lê  An", " Lê An", "Lê An ", "Lê\tAn",
                     "Lê\u00a0An", "An\u200bB", "A" * 200, "A" * 201, "Ω", "\u2126",
                     'Lê "An"', "Đỗ", unicodedata.normalize("NFD", "Phạm Thu Hằng")]),
    st.text(st.characters(blacklist_characters=",\n\r"), min_size=0, max_size=12))
_dates = st.one_of(
    st.dates(datetime.date(1890, 1, 1), datetime.date(2030, 12, 31)).map(str),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999),
              st.integers(0, 13), st.integers(0, 32)),
    st.sampled_from(["12/04/1985", "1985-4-12", " 1985-04-12", "1985-02-29", "2000-02-29"]))
_sexes = st.sampled_from(["male", "female", "", "m", "f", "Nam", "nữ", "MALE", " male", "x"])
_cccds = st.one_of(
    st.builds(lambda province, century, year, rest: f"{province}{century}{year:02d}{rest}",
              st.sampled_from(["001", "079", "003", "096", "100"]), st.integers(0, 9),
              st.integers(0, 99), st.text("0123456789", min_size=6, max_size=6)),
    _digits, st.sampled_from(["", "123456789", " 001085012345", "0010850123O5"]))
_phones = st.one_of(
    st.builds(lambda p, d, sep: p + sep.join([d[:3], d[3:6], d[6:]]),
              st.sampled_from(["0", "+84", "84", "+84 ", ""]),
              st.text("0123456789", min_size=8, max_size=10),
              st.sampled_from(["", " ", ".", "-", "  "])),
    st.sampled_from(["024 3826 1234", "0912345678 ", "(091) 234 5678"]))
_emails = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}",
              st.from_regex(r"[A-Za-z0-9_+.!#-]{0,70}", fullmatch=True),
              st.sampled_from(["example.vn", "Example.VN", "vnpt.com.vn", "a.b", "x", "-a.vn",
                               "a..vn", "a.123", "mail." + "a" * 70 + ".vn", "ví.vn"])),
    st.sampled_from(["", " an@example.vn", "an@@example.vn", "an@example.vn "]))
_hashes = st.one_of(
    st.builds(lambda tag, salt, hexa: f"{tag}${salt}${hexa}",
              st.sampled_from(["md5", "sha1", "MD5", "sha256"]),
              st.text("abc$ 019", max_size=4), st.text("0123456789abcdefA", min_size=30,
                                                       max_size=41)),
    st.sampled_from(["bcrypt$$2b$04$" + "a" * 53, "bcrypt$$2b$04$" + "a" * 52,
                     "pbkdf2_sha256$1000$muoi$" + "A" * 43 + "=",
                     "sha1$" + "s" * 200 + "$" + "0" * 40, "plain"]))
_timestamps = st.one_of(
    st.datetimes(datetime.datetime(1, 1, 1), datetime.datetime(9999, 12, 31))
    .map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
    st.builds(lambda h, m, s: f"2021-05-03 {h:02d}:{m:02d}:{s:02d}", st.integers(0, 25),
              st.integers(0, 61), st.integers(0, 61)),
    st.sampled_from(["2021-05-03T08:15:22Z", "2021-05-03 08:15", "0001-01-01 03:00:00",
                     "2021-05-03 08:15:22+07:00", "yesterday"]))
_statuses = st.sampled_from(["active", "locked", "Active", "LOCKED", "deleted", ""])


@st.composite
def _nearly_clean(draw):
    """A line whose CCCD is built from its own date of birth and sex, with one digit or
    value off at times: mismatches the independent fields would hardly ever draw."""
    dob = draw(st.dates(datetime.date(1890, 1, 1), datetime.date(2030, 12, 31)))
    sex = draw(st.sampled_from(["male", "female", ""]))
    century = 2 * ((dob.year // 100) - 19) + (sex == "female") + draw(
        st.sampled_from([0, 0, 0, 1, -1, 2]))
    year = (dob.year % 100 + draw(st.sampled_from([0, 0, 0, 1]))) % 100
    province = draw(st.sampled_from(["001", "079", "096", "003"]))
    cccd = f"{province}{century % 10}{year:02d}012345"
    fields = CLEAN.split(",")
    fields[1], fields[2], fields[3] = draw(_names), str(dob), sex
    fields[4] = draw(st.sampled_from([cccd, cccd, "", "123456789"]))
    fields[5] = draw(st.sampled_from(["0912345678", "0912 345 678", "+84 912345678",
                                      "0243826123", "+84012345678"]))
    fields[8] = draw(st.sampled_from([fields[8], "0001-01-01 03:00:00", "2021-02-29 10:00:00"]))
    return ",".join(fields)


_lines = st.one_of(
    _nearly_clean(),
    st.tuples(st.from_regex(r"[0-9 ]{9,11}", fullmatch=True) | st.just("0123456789"),
              _names, _dates, _sexes, _cccds, _phones, _emails, _hashes, _timestamps,
              _statuses).map(",".join),
    st.text(max_size=200))


def full(line: str, phones: MobileNumbers):
    try:
        return parse_legacy(line.split(","), today=TODAY, phones=phones)
    except RowRejected:
        return None


@settings(max_examples=500, deadline=None)
@given(_lines)
@example(CLEAN)
@example(CLEAN.replace("2021-05-03 08:15:22", "0001-01-01 03:00:00"))
def test_the_fast_path_accepts_only_what_the_policy_accepts_and_the_same_record(line):
    phones = MobileNumbers()
    fast = parse_legacy_clean(line, today=TODAY, phones=phones)
    if fast is not None:
        assert '"' not in line  # so that split(",") is the line's CSV fields
        assert full(line, MobileNumbers()) == fast


def test_the_usual_clean_lines_take_the_fast_path():
    phones = MobileNumbers()
    spellings = [CLEAN,
                 CLEAN.replace(",male,001085012345,", ",,001085012345,"),
                 CLEAN.replace(",male,001085012345,", ",female,001185012345,"),
                 CLEAN.replace("001085012345", "123456789"),
                 CLEAN.replace("001085012345", ""),
                 CLEAN.replace("0912 345 678", "+84912345678"),
                 CLEAN.replace("0912 345 678", "091.234.5678"),
                 CLEAN.replace("an@example.vn", ""),
                 CLEAN.replace(",active", ",locked"),
                 CLEAN.replace("md5$muoi$" + "0" * 32, "bcrypt$$2b$04$" + "a" * 53),
                 CLEAN.replace("md5$muoi$" + "0" * 32, "sha1$s1$" + "f" * 40)]
    for line in spellings:
        fast = parse_legacy_clean(line, today=TODAY, phones=phones)
        assert fast is not None, line
        assert fast == full(line, MobileNumbers())
    assert parse_legacy_clean(CLEAN, today=TODAY, phones=phones).created_at == (
        datetime.datetime(2021, 5, 3, 1, 15, 22, tzinfo=datetime.UTC))


def test_lines_it_is_not_sure_of_go_to_the_policy():
    """Accepted by the policy after normalising, or refused with a reason: not the fast
    path's to decide."""
    phones = MobileNumbers()
    for line in (CLEAN.replace("Nguyễn", unicodedata.normalize("NFD", "Nguyễn")),
                 CLEAN.replace(",male,", ",Nam,"),
                 CLEAN.replace("1985-04-12", "12/04/1985"),
                 CLEAN.replace("001085012345", "003085012345"),
                 CLEAN.replace("0912 345 678", "024 3826 1234"),
                 CLEAN.replace(",active", ",deleted"),
                 CLEAN.replace("Nguyễn Văn An", '"Nguyễn, Văn An"'),
                 CLEAN + ",x"):
        assert parse_legacy_clean(line, today=TODAY, phones=phones) is None, line
