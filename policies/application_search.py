"""What a clerk's search box means: one text, read as a social-insurance number, a CCCD, an
application reference or part of a name.

Why a pure module: the console's queue and the tests must agree on exactly what is found, and
Vietnamese names need care that SQL cannot give on both backends (SQLite's ``lower()`` folds
only ASCII, so "ĐỖ" would never find "Đỗ"). Names are compared through a *name key*, kept in
a column beside the name (``applications.name_key``):

* NFC first: "ễ" typed as e + two combining marks (a Telex keyboard, a copied PDF) and the
  precomposed "ễ" are the same letter;
* then ``casefold`` and NFC again: case-insensitive for every letter, Đ/đ included;
* whitespace runs become one space.

Accents are compared **as typed**: "Nguyễn" finds "NGUYỄN VĂN AN", "nguyen" does not. The
clerk reads the name from the CCCD in front of them, with its accents; folding them away would
make "Lê", "Lễ" and "Le" one name and fill the page with strangers.

A term of exactly 10 ASCII digits is a social-insurance number, 12 a CCCD (exact matches;
other Unicode digits are not numbers here, as everywhere in the gateway). Anything else is
looked for as a reference (exact, case-insensitive, when it could be one) and in names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TERM = 100  # longer input is not something a clerk typed to find one person
_DIGITS_10 = re.compile(r"[0-9]{10}")
_DIGITS_12 = re.compile(r"[0-9]{12}")
_REFERENCE = re.compile(r"[A-Za-z0-9-]{4,20}")


def name_key(name: str) -> str:
    """The form a name is searched in: NFC, case-folded, single spaces."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    return " ".join(folded.split())


@dataclass(frozen=True)
class Query:
    """What to look for: ``bhxh`` or ``cccd`` (exact), else ``reference`` (upper-cased, or
    None when the term cannot be one) and ``name`` (a name key to find inside name keys)."""

    bhxh: str | None = None
    cccd: str | None = None
    reference: str | None = None
    name: str | None = None


def parse_query(text: object) -> Query | None:
    """The query for a search box's text; None for nothing to search (empty, not a string,
    or longer than MAX_TERM)."""
    if not isinstance(text, str):
        return None
    term = " ".join(unicodedata.normalize("NFC", text).split())
    if not term or len(term) > MAX_TERM:
        return None
    if _DIGITS_10.fullmatch(term):
        return Query(bhxh=term)
    if _DIGITS_12.fullmatch(term):
        return Query(cccd=term)
    reference = term.upper() if _REFERENCE.fullmatch(term) else None
    return Query(reference=reference, name=name_key(term))


def like_pattern(fragment: str, escape: str = "\\") -> str:
    """``%fragment%`` for SQL LIKE with ``%``, ``_`` and the escape character escaped, so a
    typed "50%" or "_" is looked for literally."""
    escaped = (fragment.replace(escape, escape * 2).replace("%", escape + "%")
               .replace("_", escape + "_"))
    return f"%{escaped}%"
