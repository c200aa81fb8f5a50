"""The online declaration for a VssID account: every typed field parsed into one canonical form,
or refused with a stable code per field.

Why pure, and why one function for the whole form: the page and the JSON API share the field
names, and a person correcting a form must see every problem at once, so
:func:`parse_declaration` checks every field and raises :class:`DeclarationInvalid` with a
``{field: code}`` map (the 422 body, the page's messages). Whether an office code is an active
office is the one fact it cannot know: the caller passes ``office_is_active``.

Fields and their codes (``required`` for an empty required field, ``repeated`` for a field
sent twice, and ``value_too_long`` for any value over TEXT_MAX characters, checked before anything
else reads it):

=================  ======================================================================
bhxh_number        ``invalid_bhxh``: exactly 10 ASCII digits (surrounding spaces trimmed);
                   other Unicode digits (full-width, Arabic-Indic) are refused, not converted
full_name          ``invalid_name`` (no letter, a digit, a symbol or a control character),
                   ``name_too_long``; NFC-normalised, trimmed, inner spaces collapsed
date_of_birth      ``invalid_dob`` (not an ASCII YYYY-MM-DD date), ``dob_in_future``,
                   ``dob_too_early`` (older than MAX_AGE years)
sex                ``invalid_sex``: ``male`` or ``female``
id_number          ``invalid_cccd`` (not 12 ASCII digits), ``unknown_cccd_province``
                   (digits 1-3 not one of the 63 codes), and, when the date of birth and sex
                   are valid, ``cccd_dob_mismatch`` (the century digit or digits 5-6 do not
                   fit the birth year), ``cccd_sex_mismatch`` (the digit 4 parity)
phone              ``invalid_phone``, ``phone_not_mobile``: a Vietnamese mobile, kept E.164
email (optional)   ``invalid_email``
office             ``unknown_office``: the code of an active office
=================  ======================================================================

Age bounds: MIN_AGE 0 to MAX_AGE 120 years on the day of the declaration. A newborn has a
social-insurance number (children under 6 hold health-insurance cards) and, since the 2023
Identification Law, may hold a CCCD; nobody documented is older than 120.

The reference an applicant keeps (``DK-XXXX-XXXX``) is also defined here: eight characters of
an alphabet without the look-alikes 0/O, 1/I/L and U (read as V), so that it can be read over
the phone, copied from an SMS and typed back without ambiguity.
"""

from __future__ import annotations

import datetime
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from policies.identifiers import (
    IdentifierError,
    parse_bhxh,
    parse_cccd,
    parse_email,
    parse_phone,
)

TEXT_FIELDS = ("bhxh_number", "full_name", "date_of_birth", "sex", "id_number", "phone",
               "email", "office")
OPTIONAL = frozenset({"email"})
FILE_FIELDS = ("portrait", "id_front", "id_back")

REQUIRED = "required"
REPEATED = "repeated"
TOO_LONG = "value_too_long"

TEXT_MAX = 256  # characters; no field is longer, so nothing longer is looked at
NAME_MAX = 100  # characters after normalisation
MIN_AGE, MAX_AGE = 0, 120
SEXES = ("male", "female")
OFFICE_MAX = 32
_OFFICE_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_DOB_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Inside a name, besides letters and combining marks: a space, and the punctuation names
# really carry (H'Hen Niê, Jean-Pierre, Jr.). The typographic apostrophe becomes "'".
_NAME_PUNCTUATION = frozenset(" '-.")

REFERENCE_PREFIX = "DK"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # 30 symbols: no 0 O 1 I L U
REFERENCE_LENGTH = 8
_REFERENCE_RE = re.compile(rf"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")


class DeclarationInvalid(ValueError):
    """Every field refused, as ``{field: code}`` (stable codes, in the order of the form)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(", ".join(f"{name}={code}" for name, code in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Declaration:
    """What a person declared, in canonical form."""

    bhxh: str
    full_name: str
    dob: datetime.date
    sex: str
    cccd: str
    phone: str  # E.164
    email: str | None
    office: str


class _Refused(Exception):
    def __init__(self, code: str):
        self.code = code


def parse_full_name(value: str) -> str:
    """The NFC form of a name, trimmed, every run of spaces (a no-break space too) made one
    ASCII space; IdentifierError ``invalid_name`` (no letter; a digit, a symbol, a tab, a line
    break or another control or format character) or ``name_too_long``."""
    name = unicodedata.normalize("NFC", value).replace("\u2019", "'")
    kept = []
    has_letter = False
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Zs":
            ch = " "
        elif category[0] == "L":
            has_letter = True
        elif category[0] != "M" and ch not in _NAME_PUNCTUATION:
            raise IdentifierError("full_name", "invalid_name", "letters, spaces and ' - . only")
        kept.append(ch)
    name = " ".join(part for part in "".join(kept).split(" ") if part)
    if not has_letter:
        raise IdentifierError("full_name", "invalid_name", "a name has letters")
    if len(name) > NAME_MAX:
        raise IdentifierError("full_name", "name_too_long", f"over {NAME_MAX} characters")
    return name


def age_on(dob: datetime.date, today: datetime.date) -> int:
    """Whole years from ``dob`` to ``today`` (a 29 February birthday counts on 1 March)."""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def parse_date_of_birth(value: str, *, today: datetime.date) -> datetime.date:
    """An ASCII ``YYYY-MM-DD`` date within the age bounds, or IdentifierError
    (``invalid_dob``, ``dob_in_future``, ``dob_too_early``)."""
    text = value.strip()
    if not _DOB_RE.fullmatch(text):
        raise IdentifierError("date_of_birth", "invalid_dob", "YYYY-MM-DD")
    try:
        dob = datetime.date.fromisoformat(text)
    except ValueError:
        raise IdentifierError("date_of_birth", "invalid_dob", "no such date") from None
    if dob > today or age_on(dob, today) < MIN_AGE:
        raise IdentifierError("date_of_birth", "dob_in_future", "after today")
    if age_on(dob, today) > MAX_AGE:
        raise IdentifierError("date_of_birth", "dob_too_early", f"over {MAX_AGE} years")
    return dob


def parse_sex(value: str) -> str:
    text = value.strip()
    if text not in SEXES:
        raise IdentifierError("sex", "invalid_sex", "male or female")
    return text


def parse_office(value: str, office_is_active: Callable[[str], bool]) -> str:
    text = value.strip()
    if len(text) > OFFICE_MAX or not _OFFICE_RE.fullmatch(text) or not office_is_active(text):
        raise IdentifierError("office", "unknown_office", "not an active office code")
    return text


def _single(values: Mapping[str, Sequence[str] | str], name: str) -> str:
    raw = values.get(name)
    if raw is None:
        raw = []
    elif isinstance(raw, str):
        raw = [raw]
    if len(raw) > 1:
        raise _Refused(REPEATED)
    text = raw[0] if raw else ""
    if not isinstance(text, str):
        raise _Refused(REQUIRED)
    if len(text) > TEXT_MAX:
        raise _Refused(TOO_LONG)
    if not text.strip():
        raise _Refused(REQUIRED)
    return text


def parse_declaration(values: Mapping[str, Sequence[str] | str], *, today: datetime.date,
                      office_is_active: Callable[[str], bool]) -> Declaration:
    """The declaration in ``values`` (field -> its values, as a form gives them), or
    DeclarationInvalid naming every field refused. Other keys are ignored."""
    parsers: dict[str, Callable[[str], object]] = {
        "bhxh_number": parse_bhxh,
        "full_name": parse_full_name,
        "date_of_birth": lambda text: parse_date_of_birth(text, today=today),
        "sex": parse_sex,
        "id_number": lambda text: text,  # checked below, with the birth date and sex
        "phone": parse_phone,
        "email": parse_email,
        "office": lambda text: parse_office(text, office_is_active),
    }
    parsed: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        try:
            parsed[name] = parsers[name](_single(values, name))
        except _Refused as refused:
            if refused.code == REQUIRED and name in OPTIONAL:
                parsed[name] = None
            else:
                errors[name] = refused.code
        except IdentifierError as exc:
            errors[name] = exc.code
    if "id_number" in parsed:
        try:
            parsed["id_number"] = parse_cccd(parsed["id_number"], dob=parsed.get("date_of_birth"),
                                             sex=parsed.get("sex"))
        except IdentifierError as exc:
            errors["id_number"] = exc.code
    if errors:
        raise DeclarationInvalid({name: errors[name] for name in TEXT_FIELDS if name in errors})
    return Declaration(bhxh=parsed["bhxh_number"], full_name=parsed["full_name"],
                       dob=parsed["date_of_birth"], sex=parsed["sex"], cccd=parsed["id_number"],
                       phone=parsed["phone"], email=parsed["email"], office=parsed["office"])


# --- the applicant's reference ------------------------------------------------------------


def new_reference(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh random reference, ``DK-XXXX-XXXX`` (about 39 bits)."""
    body = "".join(choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{REFERENCE_PREFIX}-{body[:4]}-{body[4:]}"


def parse_reference(value: object) -> str | None:
    """The canonical reference a person typed (any case, with or without the prefix, the
    dashes or spaces), or None when it cannot be one."""
    if not isinstance(value, str) or len(value) > 32:
        return None
    text = "".join(value.split()).upper().replace("-", "")
    if text.startswith(REFERENCE_PREFIX) and len(text) == REFERENCE_LENGTH + 2:
        text = text[2:]
    if not _REFERENCE_RE.fullmatch(text):
        return None
    return f"{REFERENCE_PREFIX}-{text[:4]}-{text[4:]}"
