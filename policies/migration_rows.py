"""Reading one record of the files the migration jobs import, into one clean value or a reason.

Pure (no I/O, no gateway import), so that every rule of the dirty data is testable on its own
and the same in a worker on any host. Each file's record is a list of CSV fields (the job has
already split the physical line); a parser returns a clean tuple, or raises :class:`RowRejected`
whose ``reason`` is a stable code (docs/operations.md lists them) and ``field`` the column.

The legacy export (``import-legacy``)::

    bhxh_number,full_name,date_of_birth,sex,id_number,phone,email,password_hash,created_at,status

* ``bhxh_number`` — 10 digits (the login name); required.
* ``full_name`` — NFC-normalised (an export written with combining accents, NFD, gives the
  same name as a precomposed one), inner whitespace collapsed, 1-200 characters, no control
  characters; required.
* ``date_of_birth`` — ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (how Vietnamese forms write it), not in
  the future nor before 1900; required.
* ``sex`` — ``male``/``female``, ``m``/``f``, ``nam``/``nữ`` (any case); empty is unknown.
* ``id_number`` — a 12-digit CCCD whose province, century-and-sex and year digits agree with
  the row (policies.identifiers.parse_cccd), or an old 9-digit ID (CMND, kept apart: it
  matches no VNeID identity); empty is none.
* ``phone`` — a Vietnamese mobile in any usual spelling (``0912 345 678``, ``+84 91…``,
  ``091.234.5678``), stored E.164; required (it receives the one-time codes).
* ``email`` — optional, policies.identifiers.parse_email.
* ``password_hash`` — one of the tagged legacy formats gateway/crypto/password_hashing.py
  verifies (``bcrypt$``, ``pbkdf2_sha256$``, ``sha1$``, ``md5$``), checked for shape here.
* ``created_at`` — ``YYYY-MM-DD HH:MM:SS`` (or ISO 8601 with ``T``); without an offset it is
  the old system's local time, Viet Nam (UTC+7).
* ``status`` — ``active`` or ``locked``.

The speed of this module is the import's: phonenumbers takes ~70 µs a number, more than
everything else in a row together. ``MobileNumbers`` asks it once per (first four digits,
length) of a national number written in one of the two usual spellings — every number type
of Viet Nam's metadata is decided by at most its first four digits (a property test holds the
cache to phonenumbers' answer) — and anything else is asked directly.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import NamedTuple

from policies.identifiers import (
    CCCD_PROVINCE_CODES,
    IdentifierError,
    parse_cccd,
    parse_email,
    parse_phone,
)

LEGACY_HEADER = ("bhxh_number", "full_name", "date_of_birth", "sex", "id_number", "phone",
                 "email", "password_hash", "created_at", "status")
VERIFICATION_HEADER = ("id_number", "full_name", "date_of_birth", "verified", "verified_at")
VNEID_HEADER = ("vneid_subject", "id_number", "full_name", "date_of_birth", "level")

NAME_MAX = 200
VIETNAM = datetime.timezone(datetime.timedelta(hours=7))
_MIN_DOB = datetime.date(1900, 1, 1)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VN_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}"
                        r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?")
_OLD_ID = re.compile(r"[0-9]{9}")
_BHXH = re.compile(r"[0-9]{10}")
_DIGITS = re.compile(r"[0-9]+")
_SEXES = {"male": "male", "m": "male", "nam": "male",
          "female": "female", "f": "female", "nữ": "female", "nu": "female"}
_STATUSES = ("active", "locked")
# The tagged legacy formats (gateway/crypto/password_hashing.py verifies them; these are their
# shapes, so that a value the gateway could never verify is refused at import, not at sign-in).
_HASHES = {
    "bcrypt": re.compile(r"\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}"),
    "pbkdf2_sha256": re.compile(r"[0-9]{1,7}\$[^$\s]{1,128}\$[A-Za-z0-9+/]{43}="),
    "sha1": re.compile(r"[^$\s]{0,128}\$[0-9a-fA-F]{40}"),
    "md5": re.compile(r"[^$\s]{0,128}\$[0-9a-fA-F]{32}"),
}
_SEPARATORS = str.maketrans("", "", " .-")


class RowRejected(ValueError):
    """A record that is not imported; ``reason`` is the stable code of the report."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(f"{reason}: {field}" if field else reason)
        self.reason = reason
        self.field = field


class LegacyAccount(NamedTuple):
    bhxh: str
    full_name: str
    dob: datetime.date
    sex: str | None
    cccd: str | None
    old_id_number: str | None
    phone: str
    email: str | None
    password_hash: str
    created_at: datetime.datetime
    status: str


def _required(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise RowRejected("missing_field", field)
    return text


def _rejected(exc: IdentifierError, field: str) -> RowRejected:
    return RowRejected(exc.code, field)


def parse_name(value: str, field: str = "full_name") -> str:
    """The NFC form with whitespace collapsed; ``invalid_name`` for control characters or
    more than 200 characters."""
    name = " ".join(unicodedata.normalize("NFC", _required(value, field)).split())
    # isprintable: no control, format, surrogate, private-use or unassigned character (the
    # whitespace that split() did not already turn into single spaces included).
    if len(name) > NAME_MAX or not name.isprintable():
        raise RowRejected("invalid_name", field)
    return name


def parse_date(value: str, *, today: datetime.date, field: str = "date_of_birth"
               ) -> datetime.date:
    text = _required(value, field)
    try:
        if _ISO_DATE.fullmatch(text):
            day = datetime.date.fromisoformat(text)
        elif match := _VN_DATE.fullmatch(text):
            day = datetime.date(int(match[3]), int(match[2]), int(match[1]))
        else:
            raise RowRejected("invalid_dob", field)
    except ValueError as exc:
        if isinstance(exc, RowRejected):
            raise
        raise RowRejected("invalid_dob", field) from None
    if day > today or day < _MIN_DOB:
        raise RowRejected("invalid_dob", field)
    return day


def parse_timestamp(value: str, field: str) -> datetime.datetime:
    """An instant in UTC; a time without an offset is Viet Nam's (UTC+7)."""
    text = _required(value, field)
    if not _TIMESTAMP.fullmatch(text):
        raise RowRejected(f"invalid_{field}", field)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowRejected(f"invalid_{field}", field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:  # 0001-01-01 before 07:00 in Viet Nam: no such instant in UTC
        raise RowRejected(f"invalid_{field}", field) from None


def parse_sex(value: str) -> str | None:
    text = unicodedata.normalize("NFC", value.strip()).lower()
    if not text:
        return None
    if text not in _SEXES:
        raise RowRejected("invalid_sex", "sex")
    return _SEXES[text]


def parse_id_number(value: str, *, dob: datetime.date | None, sex: str | None
                    ) -> tuple[str | None, str | None]:
    """(CCCD, old 9-digit ID): at most one is set. A 12-digit number must agree with the
    row's date of birth and sex (``unknown_cccd_province``, ``cccd_dob_mismatch``,
    ``cccd_sex_mismatch``); anything but 12 or 9 digits is ``invalid_id_number``."""
    text = value.strip()
    if not text:
        return None, None
    if _OLD_ID.fullmatch(text):
        return None, text
    if len(text) != 12 or not _DIGITS.fullmatch(text):
        raise RowRejected("invalid_id_number", "id_number")
    try:
        return parse_cccd(text, dob=dob, sex=sex), None
    except IdentifierError as exc:
        raise _rejected(exc, "id_number") from None


def parse_password_hash(value: str) -> str:
    text = _required(value, "password_hash")
    tag, separator, body = text.partition("$")
    shape = _HASHES.get(tag) if separator else None
    if shape is None or len(text) > 255 or not shape.fullmatch(body):
        raise RowRejected("invalid_password_hash", "password_hash")
    return text


def parse_status(value: str) -> str:
    text = _required(value, "status").lower()
    if text not in _STATUSES:
        raise RowRejected("invalid_status", "status")
    return text


class MobileNumbers:
    """``parse_phone`` with a memory of what phonenumbers said per (first four digits, length).

    Only the two spellings whose national number is plain are answered from the memory
    (``0`` or ``+84`` then nine digits, with spaces, dots or dashes anywhere); any other is
    parsed in full. The memory holds at most 10,000 × 2 small entries.
    """

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}

    def parse(self, value: str) -> str:
        text = value.strip()
        if not _PLAIN.fullmatch(text):
            try:
                return parse_phone(value)
            except IdentifierError as exc:
                raise _rejected(exc, "phone") from None
        national = text.translate(_SEPARATORS)[-9:]
        if (code := self.refusal(national)) is not None:
            raise RowRejected(code, "phone")
        return "+84" + national

    def refusal(self, national: str) -> str | None:
        """parse_phone's code refusing the mobile ``0`` + ``national`` (nine digits), or None
        when it is a mobile, from the memory of its first four digits."""
        key = national[:4]
        if key not in self._known:
            try:
                parse_phone("0" + national)
                self._known[key] = None
            except IdentifierError as exc:
                self._known[key] = exc.code
        return self._known[key]


# ``0`` or ``+84``, then nine digits with at most one space, dot or dash between two of them,
# the first not a 0 (``+84 0…`` is not the number ``0 0…``: phonenumbers answers it apart).
_PLAIN = re.compile(r"(?:0|\+84)[1-9](?:[ .\-]?[0-9]){8}")


def parse_legacy(fields: list[str], *, today: datetime.date, phones: MobileNumbers
                 ) -> LegacyAccount:
    """One record of the legacy export (its 10 fields), or RowRejected."""
    if len(fields) != len(LEGACY_HEADER):
        raise RowRejected("wrong_column_count")
    bhxh_text, name, dob_text, sex_text, id_text, phone, email, hash_text, created, status = (
        fields)
    bhxh = bhxh_text.strip()
    if not _BHXH.fullmatch(bhxh):  # the rule of policies.identifiers.parse_bhxh, inline
        raise RowRejected("invalid_bhxh" if bhxh else "missing_field", "bhxh_number")
    full_name = parse_name(name)
    dob = parse_date(dob_text, today=today)
    sex = parse_sex(sex_text)
    cccd, old_id = parse_id_number(id_text, dob=dob, sex=sex)
    number = phones.parse(_required(phone, "phone"))
    address = None
    if email.strip():
        try:
            address = parse_email(email)
        except IdentifierError:
            raise RowRejected("invalid_email", "email") from None
    password_hash = parse_password_hash(hash_text)
    created_at = parse_timestamp(created, "created_at")
    return LegacyAccount(bhxh, full_name, dob, sex, cccd, old_id, number, address,
                         password_hash, created_at, parse_status(status))


# --- the fast path of a clean legacy line ------------------------------------------------------
#
# Most lines of an export are clean and written the one way the old system writes them. For
# those, one regular expression over the whole line splits and checks the fixed shapes at
# once, and the few checks left are done inline. It only ever *accepts* what parse_legacy
# accepts, with the same value (a property test holds it to that on generated lines, clean
# and dirty): any line it is not sure of — a quote, a space too many, another spelling, a
# value refused — returns None, and the caller gives the line to parse_legacy, which stays
# the one definition of the rules and of the reasons.

_CLEAN_LINE = re.compile(
    r"([0-9]{10}),"  # bhxh_number
    r'([^,"\s](?:[^,"\t\n\r\f\v]*[^,"\s])?),'  # full_name: trimmed, no quote (see below)
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}),"  # date_of_birth, ISO
    r"(male|female)?,"  # sex, the canonical spelling or none
    r"([0-9]{12}|[0-9]{9})?,"  # id_number: a CCCD, an old ID, or none
    r"((?:0|\+84)[1-9](?:[ .\-]?[0-9]){8}),"  # phone: _PLAIN's spellings
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"[a-z]{2,24})?,"  # email: a dot-atom local part, a lower-case dotted domain, or none
    r'(bcrypt|pbkdf2_sha256|sha1|md5)\$([^,"\s]+),'  # password_hash: tag, then body
    r"([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}),"  # created_at, local time
    r"(active|locked)")  # status


_VIETNAM_OFFSET = VIETNAM.utcoffset(None)


def parse_legacy_clean(line: str, *, today: datetime.date, phones: MobileNumbers
                       ) -> LegacyAccount | None:
    """The record of a clean line (the whole physical line, its line end removed) exactly as
    ``parse_legacy(line.split(","), …)`` gives it, or None: then ask parse_legacy."""
    match = _CLEAN_LINE.fullmatch(line)
    if match is None:
        return None
    bhxh, name, dob_text, sex, id_number, phone, email, tag, body, created, status = (
        match.groups())
    if (len(name) > NAME_MAX or "  " in name or not name.isprintable()
            or not unicodedata.is_normalized("NFC", name)):
        return None
    try:
        dob = datetime.date.fromisoformat(dob_text)
        # Viet Nam's offset taken off by hand: astimezone costs more than the rest.
        created_at = datetime.datetime.fromisoformat(created).replace(
            tzinfo=datetime.UTC) - _VIETNAM_OFFSET
    except (ValueError, OverflowError):
        return None
    if dob > today or dob < _MIN_DOB:
        return None
    cccd = old_id = None
    if id_number is not None:
        if len(id_number) == 9:
            old_id = id_number
        else:
            if id_number[:3] not in CCCD_PROVINCE_CODES:
                return None
            century = int(id_number[3])
            if (dob.year // 100 != 19 + century // 2 or dob.year % 100 != int(id_number[4:6])
                    or (sex is not None and (sex == "female") != (century % 2 == 1))):
                return None
            cccd = id_number
    national = phone.translate(_SEPARATORS)[-9:]
    if phones.refusal(national) is not None:
        return None
    if email is not None and (len(email) > 254 or email.index("@") > 64):
        return None
    if len(tag) + 1 + len(body) > 255 or not _HASHES[tag].fullmatch(body):
        return None
    return LegacyAccount(bhxh, name, dob, sex, cccd, old_id, "+84" + national, email,
                         f"{tag}${body}", created_at, status)


def masked_bhxh(value: str) -> str:
    """The last four digits of a 10-digit number for the report, or ``***``."""
    text = value.strip()
    return "******" + text[-4:] if len(text) == 10 and _DIGITS.fullmatch(text) else "***"


def masked_id_number(value: str) -> str:
    """The last four digits of a 12- or 9-digit number for the report, or ``***`` (a
    malformed value is never echoed)."""
    text = value.strip()
    if len(text) in (9, 12) and _DIGITS.fullmatch(text):
        return "*" * (len(text) - 4) + text[-4:]
    return "***" if text else ""


# --- population-database results (import-verification) -------------------------------------

_TRUE = {"true", "1", "yes", "y", "có", "co"}
_FALSE = {"false", "0", "no", "n", "không", "khong"}


class VerificationResult(NamedTuple):
    id_number: str
    full_name: str
    dob: datetime.date
    verified: bool
    verified_at: datetime.datetime | None


def parse_cccd_only(value: str) -> str:
    """A 12-digit CCCD with a known province (the population database knows no other)."""
    text = _required(value, "id_number")
    if len(text) != 12 or not _DIGITS.fullmatch(text):
        raise RowRejected("invalid_id_number", "id_number")
    try:
        return parse_cccd(text)
    except IdentifierError as exc:
        raise _rejected(exc, "id_number") from None


def parse_verification(fields: list[str], *, today: datetime.date) -> VerificationResult:
    """One line of ``id_number,full_name,date_of_birth,verified,verified_at``. ``verified``
    is true/false (also 1/0, yes/no, có/không); ``verified_at`` is required when true and
    ignored when false."""
    if len(fields) != len(VERIFICATION_HEADER):
        raise RowRejected("wrong_column_count")
    id_text, name, dob_text, verified_text, at_text = fields
    id_number = parse_cccd_only(id_text)
    full_name = parse_name(name)
    dob = parse_date(dob_text, today=today)
    flag = unicodedata.normalize("NFC", _required(verified_text, "verified")).lower()
    if flag not in _TRUE and flag not in _FALSE:
        raise RowRejected("invalid_verified", "verified")
    verified = flag in _TRUE
    at = parse_timestamp(at_text, "verified_at") if verified else None
    return VerificationResult(id_number, full_name, dob, verified, at)


# --- VNeID subjects (link-vneid) ----------------------------------------------------------------

SUBJECT_MAX = 255
_SUBJECT = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space: a TechID or an OIDC sub


class VneidSubject(NamedTuple):
    subject: str
    id_number: str
    full_name: str
    dob: datetime.date
    level: int


def parse_vneid(fields: list[str], *, today: datetime.date) -> VneidSubject:
    """One line of ``vneid_subject,id_number,full_name,date_of_birth,level``; level is 1 or
    2 (the national system's explicit level, never inferred)."""
    if len(fields) != len(VNEID_HEADER):
        raise RowRejected("wrong_column_count")
    subject_text, id_text, name, dob_text, level_text = fields
    subject = _required(subject_text, "vneid_subject")
    if len(subject) > SUBJECT_MAX or not _SUBJECT.fullmatch(subject):
        raise RowRejected("invalid_subject", "vneid_subject")
    id_number = parse_cccd_only(id_text)
    full_name = parse_name(name)
    dob = parse_date(dob_text, today=today)
    level = _required(level_text, "level")
    if level not in ("1", "2"):
        raise RowRejected("invalid_level", "level")
    return VneidSubject(subject, id_number, full_name, dob, int(level))
