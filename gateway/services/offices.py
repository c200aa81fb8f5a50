"""The list of BHXH offices: validate a CSV of them and replace the stored list with it.

File format (the shipped list is gateway/data/offices.csv): UTF-8, with or without a BOM,
LF or CRLF line ends, header exactly ``code,name,province``, then one office per row:

* ``code``: 2-32 characters, upper-case ASCII letters and digits in groups joined by single
  dashes (``BHXH-079``, ``BHXH-079-Q1``). The shipped list uses ``BHXH-<province code>`` for
  a provincial office and ``BHXH-<province code>-<district>`` for a district office. ASCII
  only, so a code is the same string in a URL, a form, an SMS and a log.
* ``name``: the Vietnamese name, NFC-normalised (a name typed with combining accents equals
  the precomposed one), surrounding spaces trimmed, 1-200 characters, no control characters.
* ``province``: the 3-digit province code of the CCCD numbering (policies/identifiers.py
  CCCD_PROVINCE_CODES), the same code an applicant's CCCD starts with.

Every row is checked and every error reported with its line number and a stable code
(`OfficeFileError.errors`); nothing is written when any row is bad. A valid file replaces
the list in ONE transaction: its offices are added or updated and active; offices no longer
in the file become inactive rather than deleted, because applications and staff accounts
reference office codes long after an office closes. One `offices.loaded` event with the
counts is written in the same transaction.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import NamedTuple

from gateway.clock import utcnow
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Office
from gateway.services import events
from policies.identifiers import CCCD_PROVINCE_CODES

HEADER = ["code", "name", "province"]
CODE_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
CODE_MAX = 32
NAME_MAX = 200
MAX_FILE_BYTES = 1_000_000  # ~10,000 offices; the real list has under a thousand


class OfficeRow(NamedTuple):
    code: str
    name: str
    province: str


class RowError(NamedTuple):
    line: int
    code: str  # stable: bad_header, wrong_column_count, invalid_code, duplicate_code, ...
    detail: str = ""


class OfficeFileError(ValidationError):
    """A file refused as a whole; ``errors`` lists every problem found, by line."""

    def __init__(self, errors: list[RowError]):
        super().__init__("invalid_offices_file", field="file",
                         detail=f"{len(errors)} error(s), first on line {errors[0].line}")
        self.errors = errors


def parse_code(value: str) -> str:
    """The office code, or ValidationError ``invalid_code``. Not upper-cased for the caller:
    a file with ``bhxh-079`` is refused rather than silently changed."""
    if (not isinstance(value, str) or not 2 <= len(value) <= CODE_MAX
            or not CODE_RE.fullmatch(value)):
        raise ValidationError("invalid_code", field="code",
                              detail="A-Z, 0-9 in groups joined by '-', 2-32 characters")
    return value


def parse_name(value: str) -> str:
    """The NFC form of a trimmed name, or ValidationError (``invalid_name``,
    ``name_too_long``)."""
    if not isinstance(value, str):
        raise ValidationError("invalid_name", field="name", detail="not text")
    name = unicodedata.normalize("NFC", value).strip()
    if not name or any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")
                       or ch in "\u2028\u2029" for ch in name):
        raise ValidationError("invalid_name", field="name", detail="empty or control characters")
    if len(name) > NAME_MAX:
        raise ValidationError("name_too_long", field="name", detail=f"over {NAME_MAX} characters")
    return name


def parse_province(value: str) -> str:
    """A CCCD province code ("001".."096", only the 63 in use), or ``invalid_province``."""
    if not isinstance(value, str) or value not in CCCD_PROVINCE_CODES:
        raise ValidationError("invalid_province", field="province",
                              detail="a 3-digit CCCD province code")
    return value


def parse_file(data: bytes) -> list[OfficeRow]:
    """Every office of a CSV file, or OfficeFileError with every error found."""
    if len(data) > MAX_FILE_BYTES:
        raise OfficeFileError([RowError(0, "file_too_large", f"over {MAX_FILE_BYTES} bytes")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise OfficeFileError([RowError(line, "bad_encoding", "not UTF-8")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[RowError] = []
    rows: list[OfficeRow] = []
    seen: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header != HEADER:
            raise OfficeFileError([RowError(1, "bad_header", "expected code,name,province")])
        for fields in reader:
            line = reader.line_num
            if len(fields) != len(HEADER):
                errors.append(RowError(line, "wrong_column_count",
                                       f"{len(fields)} columns, expected 3"))
                continue
            try:
                row = OfficeRow(parse_code(fields[0]), parse_name(fields[1]),
                                parse_province(fields[2]))
            except ValidationError as exc:
                errors.append(RowError(line, exc.code, exc.field or ""))
                continue
            if row.code in seen:
                errors.append(RowError(line, "duplicate_code",
                                       f"{row.code} also on line {seen[row.code]}"))
                continue
            seen[row.code] = line
            rows.append(row)
    except csv.Error as exc:  # an unterminated quote at the end: the file was cut short
        errors.append(RowError(reader.line_num, "truncated_line", str(exc)))
    if not errors and not rows:
        errors.append(RowError(1, "no_offices", "the file lists no office"))
    if errors:
        raise OfficeFileError(errors)
    return rows


def replace_all(rows: list[OfficeRow], *, via: str) -> dict:
    """Make ``rows`` the active offices, in one transaction; others become inactive (kept).

    Returns the counts, which the `offices.loaded` event also carries.
    """
    now = utcnow()
    existing = {office.code: office for office in db.session.query(Office).all()}
    counts = {"added": 0, "updated": 0, "unchanged": 0, "deactivated": 0}
    try:
        for row in rows:
            office = existing.pop(row.code, None)
            if office is None:
                db.session.add(Office(code=row.code, name=row.name, province=row.province,
                                      active=True, updated_at=now))
                counts["added"] += 1
            elif (office.name, office.province, office.active) != (row.name, row.province, True):
                office.name, office.province, office.active = row.name, row.province, True
                office.updated_at = now
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        for office in existing.values():
            if office.active:
                office.active, office.updated_at = False, now
                counts["deactivated"] += 1
        counts["active"] = len(rows)
        events.emit("offices.loaded", via=via, **counts)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return counts


def load_file(data: bytes, *, via: str) -> dict:
    """Validate the whole file, then replace the list with it (nothing written if refused)."""
    return replace_all(parse_file(data), via=via)


def shipped_file() -> bytes:
    """The office list shipped with the gateway (gateway/data/offices.csv)."""
    from importlib.resources import files

    return files("gateway").joinpath("data/offices.csv").read_bytes()


def list_offices(*, include_inactive: bool = True) -> list[Office]:
    query = db.session.query(Office)
    if not include_inactive:
        query = query.filter(Office.active.is_(True))
    return query.order_by(Office.code).all()
