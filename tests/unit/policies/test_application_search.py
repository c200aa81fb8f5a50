"""The console's search box (policies/application_search.py): numbers are exact, references
case-insensitive, names NFC and case-folded with accents kept as typed, LIKE patterns
literal."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.application_search import MAX_TERM, Query, like_pattern, name_key, parse_query


@pytest.mark.parametrize(("typed", "query"), [
    ("0123456789", Query(bhxh="0123456789")),
    (" 0123456789 ", Query(bhxh="0123456789")),
    ("079085001234", Query(cccd="079085001234")),
    ("hs7k2m9qxa", Query(reference="HS7K2M9QXA", name="hs7k2m9qxa")),
    ("Nguyễn Văn", Query(reference=None, name="nguyễn văn")),
    ("ĐỖ  THỊ", Query(reference=None, name="đỗ thị")),
    ("012345678", Query(reference="012345678", name="012345678")),   # not 10 digits
    ("١٢٣٤٥٦٧٨٩٠", Query(reference=None, name="١٢٣٤٥٦٧٨٩٠")),          # not ASCII digits
])
def test_what_a_term_means(typed, query):
    assert parse_query(typed) == query


@pytest.mark.parametrize("typed", ["", "   ", None, 42, "x" * (MAX_TERM + 1)])
def test_nothing_to_search(typed):
    assert parse_query(typed) is None


def test_combining_marks_and_case_do_not_matter_accents_do():
    composed = name_key("Nguyễn Văn Ánh")
    assert name_key(unicodedata.normalize("NFD", "NGUYỄN   VĂN ÁNH")) == composed
    assert name_key("Nguyen Van Anh") != composed
    assert name_key("Lê") != name_key("Lễ") != name_key("Le")


@given(st.text(max_size=60))
def test_a_name_key_is_stable_normal_and_lower(text):
    key = name_key(text)
    assert name_key(key) == key
    assert unicodedata.is_normalized("NFC", key)
    assert key == key.strip() and "  " not in key
    assert name_key(text.upper()) == name_key(text.lower()) or not text.isascii()


@given(st.text(max_size=MAX_TERM))
def test_every_term_parses_to_one_meaning(text):
    query = parse_query(text)
    if query is None:
        return
    numbers = [query.bhxh, query.cccd]
    if any(numbers):
        assert query.reference is None and query.name is None and numbers.count(None) == 1
        assert re.fullmatch(r"[0-9]{10}|[0-9]{12}", query.bhxh or query.cccd)
    else:
        assert query.name and (query.reference is None
                               or re.fullmatch(r"[A-Z0-9-]{4,20}", query.reference))


@given(st.text(max_size=30))
def test_like_patterns_match_the_fragment_literally(fragment):
    pattern = like_pattern(fragment)
    assert pattern.startswith("%") and pattern.endswith("%")
    body = pattern[1:-1]
    # every %, _ and escape in the body is escaped: unescaping gives the fragment back
    assert re.sub(r"\\(.)", r"\1", body) == fragment
    assert not re.search(r"(?<!\\)(?:\\\\)*[%_]", body.replace("\\\\", ""))
