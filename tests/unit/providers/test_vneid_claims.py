"""The claim mapping: what GATEWAY_VNEID_CLAIMS accepts, and how values are read from the
ID token first and userinfo second."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import defaults
from providers.vneid_claims import (
    FIELDS,
    ClaimMapError,
    missing_from,
    parse_claim_map,
    read_fields,
)

PORTAL = parse_claim_map(defaults.VNEID_CLAIMS)
claim_names = st.text(min_size=1, max_size=100).filter(lambda s: s.strip() == s and s)


def test_the_default_is_the_portals_mapping():
    assert PORTAL == {"subject": "TechID", "id_number": "SoDinhDanh", "full_name": "HoVaTen",
                      "birthdate": "NgayThangNamSinh", "sex": "GioiTinh",
                      "phone": "SoDienThoai", "account_type": "LoaiTaiKhoan", "level": "loAs"}


@given(st.dictionaries(st.sampled_from(FIELDS), claim_names))
def test_every_mapping_of_known_fields_to_names_is_accepted_as_is(mapping):
    assert parse_claim_map(json.dumps(mapping)) == mapping


@given(st.dictionaries(st.text(min_size=1).filter(lambda k: k not in FIELDS), claim_names,
                       min_size=1))
def test_any_unknown_field_is_refused(mapping):
    with pytest.raises(ClaimMapError, match="unknown field"):
        parse_claim_map(json.dumps(mapping))


@given(st.one_of(st.integers(), st.lists(st.text()), st.text(), st.none(), st.booleans()))
def test_anything_but_an_object_is_refused(value):
    with pytest.raises(ClaimMapError):
        parse_claim_map(json.dumps(value))


@given(st.text())
def test_arbitrary_text_is_either_a_mapping_or_a_clear_refusal(text):
    try:
        mapping = parse_claim_map(text)
    except ClaimMapError as exc:
        assert str(exc)
    else:
        assert set(mapping) <= set(FIELDS)


def test_values_come_from_the_id_token_first_then_userinfo():
    id_token = {"sub": "s-1", "TechID": "tech-1", "HoVaTen": "Nguyễn Văn An", "loAs": ""}
    userinfo = {"sub": "s-1", "HoVaTen": "Someone Else", "SoDinhDanh": "001085012345",
                "loAs": "LoA2"}
    fields = read_fields(PORTAL, id_token, userinfo)
    assert fields["subject"] == "tech-1"
    assert fields["full_name"] == "Nguyễn Văn An"        # the ID token wins
    assert fields["id_number"] == "001085012345"         # only userinfo had it
    assert fields["level"] == "LoA2"                     # empty in the ID token counts as absent
    assert fields["phone"] is None and fields["birthdate"] is None


def test_the_subject_falls_back_to_sub():
    assert read_fields(PORTAL, {"sub": "abc"})["subject"] == "abc"
    assert read_fields({"full_name": "name"}, {"sub": "abc"})["subject"] == "abc"
    assert read_fields(PORTAL, {})["subject"] is None


def test_userinfo_is_needed_only_while_a_mapped_claim_is_missing():
    full = {name: "x" for name in PORTAL.values()}
    assert not missing_from(full, PORTAL)
    assert missing_from({**full, "SoDienThoai": None}, PORTAL)
    assert missing_from({k: v for k, v in full.items() if k != "loAs"}, PORTAL)
