"""Which new passwords a VssID account may choose: length, blocklist, personal data, reuse.

Why these rules and no others (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 5.0 V6.2): length and a
blocklist are what make passwords hard to guess; composition rules ("must contain a digit")
only teach users to append "1!", so there are none. Because BHXH also requires a change every
6 months (see ``policies.password_age`` and docs/password-policy.md), every change is checked
against the personal data printed on the insurance card and against the current password,
so a forced change cannot be satisfied with "Hoa@2025" → "Hoa@2026".

:func:`check_new_password` returns stable violation codes, in the fixed order of
:data:`VIOLATION_CODES`, for the UI to translate; an empty list means acceptable. It never
raises on arbitrary text (lone surrogates, huge inputs): every check is linear in the input.

Normalisation: the password is put in Unicode NFC first, as ``hash_password`` does, so the
same visible password typed with precomposed or combining diacritics (Telex, VNI, mobile
keyboards) gets the same verdict. Comparisons (blocklist, personal data, similarity) use a
*folded* form on top of that: NFKD, case-folded, combining marks dropped and ``đ`` → ``d``,
so "Mật Khẩu", "MAT KHAU" and full-width "ｍａｔｋｈａｕ" are one word. The *compact* form
also drops spaces, dots, dashes, underscores and slashes.

Pure: no I/O besides reading the two blocklist files in ``policies/data`` once per process,
and no import of the gateway: the caller passes the hash verifier (``verify``) that checks
earlier passwords (gateway.services.passwords passes gateway.crypto.password_hashing's).
Each costs one hash verification (Argon2id, ~40 ms), so callers should pass only the last
few hashes.

Longer than 250 lines on purpose: it is one policy whose rules share one normalisation (the
folded and compact forms), and each rule's exact definition is written beside its code;
split, a reader would lose the one place that says what a "too similar" password is.
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

import phonenumbers

__all__ = [
    "MAX_LENGTH",
    "MAX_NUMBER_STEP",
    "MIN_LENGTH",
    "VIOLATION_CODES",
    "PersonalData",
    "check_new_password",
    "common_passwords",
    "length_violations",
]

MIN_LENGTH = 8  # code points of the NFC form
MAX_LENGTH = 128  # well above the 64 NIST and ASVS ask us to allow; hashing cost is bounded
VIOLATION_CODES = (
    "too_short",
    "too_long",
    "common_password",
    "contains_personal_data",
    "reused_password",
    "too_similar",
)

# A blocklist word found only after stripping digits/punctuation must be at least this long:
# Django's list has one-letter entries ("a", "i"), and "a" + seven random symbols is not a
# common password, whereas "le123456" (a family name plus a run of digits) is.
_MIN_STRIPPED = 2
# Personal values shorter than this are not looked for (an empty or truncated value in the
# account record must not make every password "contain" it).
_MIN_PERSONAL = 6
# Largest difference between two numbers that counts as "the same number, bumped".
MAX_NUMBER_STEP = 10
_MAX_NUMBER_DIGITS = 18  # longer digit runs are not numbers anyone increments

_SEPARATORS_RE = re.compile(r"[\s._/\-]+")
# "Letter" = a word character that is neither a digit nor "_"; everything else (digits,
# punctuation, symbols, spaces) is what users add around a word to satisfy old rules.
_LEADING_RE = re.compile(r"^[\W\d_]+")
_TRAILING_RE = re.compile(r"[\W\d_]+$")
_DIGIT_RUN_RE = re.compile(r"([0-9]+)")
_NON_DIGITS_RE = re.compile(r"[^0-9]+")

_DATA = ("common-passwords.txt.gz", "common-passwords-vi.txt")
# Beyond what the hasher accepts (gateway.crypto.password_hashing.MAX_PASSWORD_LENGTH) a
# password could never be set, so it is only reported as too long: the other checks would
# spend time on a megabyte of text for a verdict that cannot change.
_MAX_CHECKED = 1024


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What the account record knows about its holder; a password must not contain it.

    ``phone`` is E.164 (``+84912345623``). ``full_name`` may carry diacritics. Missing values
    are ``None``; malformed ones are used as far as they go and never cause an exception."""

    bhxh: str
    cccd: str | None = None
    phone: str | None = None
    dob: date | None = None
    full_name: str | None = None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """Case, diacritics and compatibility variants removed; used only for comparisons."""
    text = unicodedata.normalize("NFKD", text).casefold()
    # casefold can introduce characters with combining marks again ("İ" → "i̇").
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return text.replace("đ", "d")  # the one Vietnamese letter with no decomposition


def _compact(text: str) -> str:
    return _SEPARATORS_RE.sub("", _fold(text))


def _strip_edges(folded: str) -> str:
    return _TRAILING_RE.sub("", _LEADING_RE.sub("", folded))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The blocklist in compact form: Django's list plus the Vietnamese one (README.md)."""
    folder = resources.files(__package__) / "data"
    django_list = gzip.decompress((folder / _DATA[0]).read_bytes()).decode("utf-8")
    vietnamese = (folder / _DATA[1]).read_text(encoding="utf-8")
    lines = django_list.splitlines()
    lines += (line for line in vietnamese.splitlines() if not line.startswith("#"))
    return frozenset(entry for entry in map(_compact, lines) if entry)


def _blocklist_candidates(compact: str) -> Iterator[str]:
    yield compact
    for stripped in (_TRAILING_RE.sub("", compact), _strip_edges(compact)):
        if len(stripped) >= _MIN_STRIPPED:
            yield stripped


def _is_common(password: str) -> bool:
    compact = _compact(password)
    if not compact:
        # Only spaces, dots, dashes…: the first thing anyone would try after the list.
        return bool(password)
    blocklist = common_passwords()
    return any(candidate in blocklist for candidate in _blocklist_candidates(compact))


def _phone_tokens(phone: str) -> set[str]:
    try:
        number = phonenumbers.parse(phone, None if phone.startswith("+") else "VN")
    except (phonenumbers.NumberParseException, ValueError, TypeError):
        return {_NON_DIGITS_RE.sub("", _fold(phone))}
    # The local form "0912345623" contains the national significant number "912345623", so
    # one token covers both, and "+84…" / "84…" as well.
    return {phonenumbers.national_significant_number(number)}


def _date_tokens(dob: date) -> set[str]:
    day, month, year = f"{dob.day:02d}", f"{dob.month:02d}", f"{dob.year:04d}"
    return {
        day + month + year,  # 01021990, and 01/02/1990 or 01.02.1990 once compacted
        year + month + day,  # 19900201, and the ISO form 1990-02-01
        day + month + year[2:],  # 010290
        f"{dob.day}{dob.month}{year}",  # 121990 for 1/2/1990, as often written by hand
    }


def _personal_tokens(personal: PersonalData) -> set[str]:
    tokens: set[str] = set()
    for number in (personal.bhxh, personal.cccd):
        if isinstance(number, str):
            tokens.add(_compact(number))
    if isinstance(personal.phone, str):
        tokens |= _phone_tokens(personal.phone)
    if isinstance(personal.dob, date):
        tokens |= _date_tokens(personal.dob)
    if isinstance(personal.full_name, str):
        tokens.add(_compact(personal.full_name))  # "Nguyễn Văn An" → "nguyenvanan"
    return {token for token in tokens if len(token) >= _MIN_PERSONAL}


def _contains_personal_data(password: str, personal: PersonalData) -> bool:
    compact = _compact(password)
    return any(token in compact for token in _personal_tokens(personal))


def _within_one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of adjacent characters; O(n)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]


def _number_bumped(a: str, b: str) -> bool:
    """Identical except one run of digits, whose values differ by at most MAX_NUMBER_STEP."""
    parts_a, parts_b = _DIGIT_RUN_RE.split(a), _DIGIT_RUN_RE.split(b)
    if len(parts_a) != len(parts_b) or parts_a[::2] != parts_b[::2]:
        return False
    changed = [(x, y) for x, y in zip(parts_a[1::2], parts_b[1::2], strict=True) if x != y]
    if len(changed) != 1:
        return False
    x, y = changed[0]
    if max(len(x), len(y)) > _MAX_NUMBER_DIGITS:
        return False
    return abs(int(x) - int(y)) <= MAX_NUMBER_STEP


def _too_similar(new: str, current: str) -> bool:
    """True if ``new`` differs from ``current`` only trivially. With both in folded form
    (NFKD, case-folded, diacritics removed, ``đ`` → ``d``), that is when any of:

    1. their *cores* are equal and not empty, the core being the folded form with all
       leading and trailing digits, punctuation, symbols and spaces removed:
       "Hoa@2025" → "Hoa@2026", "hoa#1999", "HOA2025!" (core "hoa");
    2. they are at most one edit apart (one character inserted, deleted or replaced, or two
       adjacent characters swapped), which includes differing only in case or diacritics:
       "abcdefgh1" → "abcdefgh2", "Mật khẩu 77" → "mat khau 77";
    3. they are identical except for one run of ASCII digits whose numeric values differ by
       at most 10 (MAX_NUMBER_STEP): "Xuan2029Hoa" → "Xuan2030Hoa", "1234-2029" → "1234-2030".
    """
    a, b = _fold(new), _fold(current)
    core = _strip_edges(a)
    if core and core == _strip_edges(b):
        return True
    return _within_one_edit(a, b) or _number_bumped(a, b)


def length_violations(password: str) -> list[str]:
    """``too_short`` or ``too_long`` (MIN_LENGTH..MAX_LENGTH code points of the NFC form), or
    nothing: the one length bound of every password the gateway sets, checked alone where
    the other rules do not apply (an operator creating an account) and first by
    :func:`check_new_password`."""
    length = len(_nfc(password))
    if length < MIN_LENGTH:
        return ["too_short"]
    if length > MAX_LENGTH:
        return ["too_long"]
    return []


def check_new_password(
    password: str,
    *,
    personal: PersonalData,
    current_password: str | None = None,
    previous_hashes: Sequence[str] = (),
    verify: Callable[[str, str], object] | None = None,
) -> list[str]:
    """Violation codes for a proposed new password, in the order of VIOLATION_CODES.

    - ``too_short`` / ``too_long``: fewer than MIN_LENGTH or more than MAX_LENGTH code points
      in NFC form. Beyond 1,024 code points ``too_long`` is the only code reported.
    - ``common_password``: in the blocklist (compact form), also with trailing, or leading and
      trailing, digits and punctuation removed ("Password123!" → "password", "2024hanoi" →
      "hanoi") when what is left has at least 2 characters; a password made only of spaces,
      dots, dashes, underscores or slashes counts as common too.
    - ``contains_personal_data``: the compact form contains the BHXH number, the CCCD, the
      phone's national significant number (so also its local form with a leading 0 and its
      international forms), the birth date as ddmmyyyy, yyyymmdd, ddmmyy or unpadded dmyyyy
      (so also dd/mm/yyyy and yyyy-mm-dd), or the full name without diacritics and spaces;
      values shorter than 6 characters are ignored.
    - ``reused_password``: equal (after NFC) to ``current_password``, or accepted by
      ``verify(stored_hash, password)`` for one of ``previous_hashes`` (the caller's hash
      verifier, required with ``previous_hashes``: without it reuse cannot be judged, and
      a ValueError says so rather than letting an old password through); it stops at the
      first match.
    - ``too_similar``: differs only trivially from ``current_password`` (see
      :func:`_too_similar` for the exact definition); not reported when it is equal.
    """
    if previous_hashes and verify is None:
        raise ValueError("previous_hashes need the verify function that checks them")
    text = _nfc(password)
    codes = length_violations(text)
    if len(text) > _MAX_CHECKED:
        return codes
    if _is_common(text):
        codes.append("common_password")
    if _contains_personal_data(text, personal):
        codes.append("contains_personal_data")

    current = None if current_password is None else _nfc(current_password)
    reused = current is not None and current == text
    if not reused and previous_hashes:
        # The raw password, not its NFC form: verify_password tries both for legacy hashes.
        reused = any(verify(stored, password) for stored in previous_hashes)
    if reused:
        codes.append("reused_password")
    if current is not None and current != text and _too_similar(text, current):
        codes.append("too_similar")
    return codes
