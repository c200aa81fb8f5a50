"""Parse, validate and mask the identifiers a Vietnamese citizen types into the gateway.

Why a separate, pure module: every identifier (BHXH, CCCD, phone, e-mail, date of birth)
crosses a trust boundary, so each is parsed once into one canonical form and anything else
is refused with :class:`IdentifierError`, whose stable ``code`` the UI translates. The
parsers never raise any other exception on arbitrary text, so callers need one ``except``.

Digits are matched with ``[0-9]`` rather than ``str.isdigit()``: the latter accepts
Arabic-Indic, full-width and superscript digits, which would let two spellings of one
number exist and could slip past look-ups done elsewhere on the ASCII form.

The mask functions exist so that logs and answers can show enough to recognise a value
without disclosing it; they never raise, because logging must not break a request.
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

import phonenumbers

_BHXH_RE = re.compile(r"[0-9]{10}")
_CCCD_RE = re.compile(r"[0-9]{12}")
_PHONE_CHARS_RE = re.compile(r"\+?[0-9][0-9 .\-]*")
_DOB_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 5322 dot-atom for the local part (no quoted strings, no comments): conservative, so
# that an address stored here is accepted by every mail system we hand it to.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

# The 63 provincial codes of Circular 07/2016/TT-BCA (digits 1-3 of a CCCD).
CCCD_PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
    "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 "
    "067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
_FIRST_CENTURY = 1900  # century digit 0/1
_LAST_CENTURY = 2300  # century digit 8/9
_MIN_DOB = datetime.date(1900, 1, 1)
_SEXES = ("male", "female")
_MAX_LOGIN_INPUT = 256  # longer input is not a login name, whatever it holds


class IdentifierError(ValueError):
    """A value that is not a valid identifier; ``field`` and ``code`` are stable for the UI."""

    def __init__(self, field: str, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.field = field
        self.code = code


class CccdInfo(NamedTuple):
    """What a CCCD number itself says about its holder (no check digit exists)."""

    province_code: str  # "001".."096"
    century_start: int  # 1900, 2000, ... 2300
    sex: str  # "male" or "female"
    birth_year_two_digits: int  # 0..99


def _text(value: object, field: str) -> str:
    """Strip surrounding whitespace (users paste), refusing non-strings up front."""
    if not isinstance(value, str):
        raise IdentifierError(field, f"invalid_{field}", f"{field} must be text")
    return value.strip()


def parse_bhxh(value: str) -> str:
    """Return the 10-digit social-insurance (BHXH) number, or raise IdentifierError."""
    text = _text(value, "bhxh")
    if not _BHXH_RE.fullmatch(text):
        raise IdentifierError("bhxh", "invalid_bhxh", "a BHXH number is exactly 10 digits")
    return text


def login_name(value: object) -> str | None:
    """The login name every sign-in path keys on: the 10-digit social-insurance number once
    surrounding whitespace is trimmed, or None.

    None means "no such account", never an error the person sees: a malformed name is simply
    an unknown account. It exists so that the lock, the throttles and the look-up all use the
    same string; a name normalised twice in two ways (pad it, then let one path cut at 64
    characters and another strip again) would get a fresh lock key for every padding.
    """
    if not isinstance(value, str) or len(value) > _MAX_LOGIN_INPUT:
        return None
    text = value.strip()
    return text if _BHXH_RE.fullmatch(text) else None


def describe_cccd(value: str) -> CccdInfo:
    """Decode province, century, sex and year digits of a syntactically valid CCCD."""
    text = _text(value, "cccd")
    if not _CCCD_RE.fullmatch(text):
        raise IdentifierError("cccd", "invalid_cccd", "a CCCD number is exactly 12 digits")
    if text[:3] not in CCCD_PROVINCE_CODES:
        raise IdentifierError("cccd", "unknown_cccd_province", "unknown CCCD province code")
    century_digit = int(text[3])
    return CccdInfo(
        province_code=text[:3],
        century_start=_FIRST_CENTURY + 100 * (century_digit // 2),
        sex=_SEXES[century_digit % 2],
        birth_year_two_digits=int(text[4:6]),
    )


def parse_cccd(value: str, *, dob: datetime.date | None = None, sex: str | None = None) -> str:
    """Return the 12-digit citizen identity (CCCD) number, or raise IdentifierError.

    When the caller knows the date of birth or sex (from the BHXH record), the number must
    agree with them: this catches a mistyped or borrowed number that is otherwise well formed.
    """
    if sex is not None and sex not in _SEXES:
        raise IdentifierError("sex", "invalid_sex", "sex must be 'male' or 'female'")
    info = describe_cccd(value)
    if dob is not None:
        if not isinstance(dob, datetime.date):
            raise IdentifierError("dob", "invalid_dob", "dob must be a date")
        century = dob.year - dob.year % 100
        if century != info.century_start or dob.year % 100 != info.birth_year_two_digits:
            raise IdentifierError("cccd", "cccd_dob_mismatch", "CCCD does not match birth year")
    if sex is not None and sex != info.sex:
        raise IdentifierError("cccd", "cccd_sex_mismatch", "CCCD does not match sex")
    return value.strip()


def parse_phone(value: str) -> str:
    """Return a Vietnamese mobile number in E.164 ("+84912345678"), or raise IdentifierError.

    The character set is checked before ``phonenumbers`` sees the text, because that library
    is deliberately lenient (letters as keypad digits, extensions, non-ASCII digits).
    """
    text = _text(value, "phone")
    if len(text) > 32 or not _PHONE_CHARS_RE.fullmatch(text):
        raise IdentifierError("phone", "invalid_phone", "not a phone number")
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        raise IdentifierError("phone", "invalid_phone", "not a phone number") from None
    if number.country_code != 84 or number.extension or not phonenumbers.is_valid_number(number):
        raise IdentifierError("phone", "invalid_phone", "not a valid Vietnamese number")
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise IdentifierError("phone", "phone_not_mobile", "an SMS-capable mobile is required")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(value: str) -> str:
    """Return the address with its domain lower-cased, or raise IdentifierError.

    Deliberately stricter than RFC 5322 (no quoted local parts, ASCII only, a dotted domain):
    an address we accept must be deliverable and unambiguous when compared later. The local
    part keeps its case because, strictly, only the domain is case-insensitive.
    """
    text = _text(value, "email")
    if len(text) > 254 or text.count("@") != 1:
        raise IdentifierError("email", "invalid_email", "not an e-mail address")
    local, _, domain = text.partition("@")
    labels = domain.split(".")
    if (
        not 0 < len(local) <= 64
        or not _LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise IdentifierError("email", "invalid_email", "not an e-mail address")
    return f"{local}@{domain.lower()}"


def parse_dob(value: str, *, today: datetime.date) -> datetime.date:
    """Return the ISO ``YYYY-MM-DD`` date of birth, not in the future nor before 1900."""
    text = _text(value, "dob")
    if not _DOB_RE.fullmatch(text):
        raise IdentifierError("dob", "invalid_dob", "date of birth must be YYYY-MM-DD")
    try:
        dob = datetime.date.fromisoformat(text)
    except ValueError:
        raise IdentifierError("dob", "invalid_dob", "no such date") from None
    if dob > today:
        raise IdentifierError("dob", "dob_in_future", "date of birth is in the future")
    if dob < _MIN_DOB:
        raise IdentifierError("dob", "dob_too_early", "date of birth is before 1900")
    return dob


# --- masking ------------------------------------------------------------------------------
# Each mask re-parses its input, so a malformed or unexpected value is never echoed: it
# becomes "***". Catching every exception is deliberate: a mask runs inside logging.

_MALFORMED = "***"


def mask_phone(value: str) -> str:
    """``"+84912345623"`` -> ``"+84 9** *** *23"``: country code, first and last two digits."""
    try:
        national = parse_phone(value)[3:]
        hidden = national[0] + "*" * (len(national) - 3) + national[-2:]
        return f"+84 {hidden[:3]} {hidden[3:6]} {hidden[6:]}"
    except Exception:
        return _MALFORMED


def mask_bhxh(value: str) -> str:
    """``"0123456789"`` -> ``"******6789"``: only the last four digits."""
    try:
        return "*" * 6 + parse_bhxh(value)[-4:]
    except Exception:
        return _MALFORMED


def mask_cccd(value: str) -> str:
    """``"001099012345"`` -> ``"********2345"``: only the last four digits."""
    try:
        return "*" * 8 + parse_cccd(value)[-4:]
    except Exception:
        return _MALFORMED


def mask_email(value: str) -> str:
    """``"nguyen.van.a@example.vn"`` -> ``"n***@example.vn"``: first letter and domain."""
    try:
        local, _, domain = parse_email(value).partition("@")
        return f"{local[0]}***@{domain}"
    except Exception:
        return _MALFORMED
