"""policies.linking: every rule by example, then properties over arbitrary facts."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policies.linking import (
    KINDS,
    REASONS,
    Candidate,
    LinkDecision,
    VneidIdentity,
    can_create_from,
    decide,
    name_key,
    names_agree,
    parse_claim_date,
    parse_claim_level,
    parse_claim_sex,
    register_agrees,
)

DOB = date(1990, 5, 17)
PERSON = VneidIdentity(
    subject="techid-1",
    id_number="001090012345",
    full_name="Nguyễn Văn An",
    birthdate=DOB,
    sex="male",
    phone="+84912345678",
    level=2,
    account_type="1",
)


def candidate(account_id=7, *, full_name="Nguyễn Văn An", birthdate=DOB, verified=True,
              linked_subject=None) -> Candidate:
    return Candidate(account_id, full_name, birthdate, verified, linked_subject)


# --- the rules by example -------------------------------------------------------------------


def test_organisation_is_refused_whatever_else_holds():
    org = replace(PERSON, account_type="2")
    assert decide(org, 7, [candidate()], True) == LinkDecision("refuse", "not_a_citizen")


@pytest.mark.parametrize("account_type", [None, "1", " 1 "])
def test_citizen_account_types(account_type):
    identity = replace(PERSON, account_type=account_type)
    assert decide(identity, None, [candidate()], False).kind == "link"


def test_rule1_already_linked_signs_in():
    assert decide(PERSON, 42, [], False) == LinkDecision("sign_in", "already_linked", 42)


def test_rule1_wins_over_conflicts():
    several = [candidate(1), candidate(2, linked_subject="other")]
    assert decide(PERSON, 42, several, True) == LinkDecision("sign_in", "already_linked", 42)


def test_candidate_carrying_this_subject_is_a_sign_in():
    found = [candidate(3, linked_subject="techid-1"), candidate(4)]
    assert decide(PERSON, None, found, False) == LinkDecision("sign_in", "already_linked", 3)


def test_rule2_auto_link():
    assert decide(PERSON, None, [candidate()], False) == LinkDecision(
        "link", "auto_verified_match", 7)


def test_rule2_name_compared_after_nfc_case_and_spaces():
    nfd_upper = unicodedata.normalize("NFD", "  NGUYỄN   VĂN\tAN ")
    assert decide(PERSON, None, [candidate(full_name=nfd_upper)], False).kind == "link"


@pytest.mark.parametrize(
    ("identity", "cand", "reason"),
    [
        (replace(PERSON, level=1), candidate(), "identity_level_1"),
        (PERSON, candidate(verified=False), "account_unverified"),
        (replace(PERSON, level=1), candidate(verified=False), "identity_level_1"),
        (replace(PERSON, full_name=None), candidate(), "identity_incomplete"),
        (replace(PERSON, birthdate=None), candidate(), "identity_incomplete"),
    ],
)
def test_rule3_prove(identity, cand, reason):
    assert decide(identity, None, [cand], True) == LinkDecision("prove", reason, 7)


def test_rule4_create_when_register_knows():
    assert decide(PERSON, None, [], True) == LinkDecision("create", "register_match")


def test_rule4_create_at_level_1_too():
    assert decide(replace(PERSON, level=1), None, [], True).kind == "create"


def test_rule4_declare_when_register_does_not_know():
    assert decide(PERSON, None, [], False) == LinkDecision("declare", "not_in_register")


@pytest.mark.parametrize(
    "changes",
    [
        {"id_number": None}, {"full_name": None}, {"birthdate": None}, {"phone": None},
        {"full_name": "   "}, {"full_name": "A" * 201},
        {"id_number": "00109001234"},  # 11 digits
        {"id_number": "003090012345"},  # no such province
        {"id_number": " 001090012345"},
        {"sex": "female"},  # digit 4 says male
        {"birthdate": date(2001, 5, 17)},  # digits 4-6 say 1990
        {"phone": "+84281234567"},  # a Ho Chi Minh City landline: no SMS
        {"phone": "+14155550100"},
    ],
)
def test_rule4_declare_when_identity_cannot_make_an_account(changes):
    identity = replace(PERSON, **changes)
    assert not can_create_from(identity)
    assert decide(identity, None, [], True) == LinkDecision("declare", "identity_incomplete")


def test_an_identity_without_sex_can_make_an_account():
    assert can_create_from(replace(PERSON, sex=None))


@pytest.mark.parametrize(
    ("cands", "reason", "ids"),
    [
        ([candidate(9), candidate(3)], "several_candidates", (3, 9)),
        ([candidate(linked_subject="someone-else")], "linked_elsewhere", (7,)),
        ([candidate(full_name="Nguyễn Văn Ân")], "name_mismatch", (7,)),
        ([candidate(full_name="Nguyen Van An")], "name_mismatch", (7,)),
        ([candidate(birthdate=date(1990, 5, 18))], "birthdate_mismatch", (7,)),
        ([candidate(full_name="Trần Thị B", birthdate=date(1991, 1, 1))],
         "name_and_birthdate_mismatch", (7,)),
        # A mismatch is a conflict even where rule 2 would not have held anyway.
        ([candidate(verified=False, full_name="Trần Thị B")], "name_mismatch", (7,)),
        ([candidate(linked_subject="x", full_name="Trần Thị B")], "linked_elsewhere", (7,)),
    ],
)
def test_rule5_review(cands, reason, ids):
    assert decide(PERSON, None, cands, True) == LinkDecision("review", reason, None, ids)


def test_rule5_mismatch_on_a_level1_identity_is_still_a_review():
    cands = [candidate(birthdate=date(2001, 1, 1))]
    assert decide(replace(PERSON, level=1), None, cands, True).kind == "review"


def test_one_account_listed_twice_is_one_candidate():
    assert decide(PERSON, None, [candidate(), candidate()], False).kind == "link"


@pytest.mark.parametrize("subject", ["", "   ", None])
def test_identity_needs_a_subject(subject):
    with pytest.raises(ValueError):
        replace(PERSON, subject=subject)


@pytest.mark.parametrize("level", [0, 3, "2", None])
def test_identity_level_is_1_or_2(level):
    with pytest.raises(ValueError):
        replace(PERSON, level=level)


def test_register_agrees():
    assert register_agrees(PERSON, "NGUYỄN VĂN AN", DOB)
    assert not register_agrees(PERSON, "Nguyễn Văn Ân", DOB)
    assert not register_agrees(PERSON, "Nguyễn Văn An", date(1990, 5, 18))
    assert not register_agrees(PERSON, "Nguyễn Văn An", None)
    assert not register_agrees(replace(PERSON, full_name=None), "Nguyễn Văn An", DOB)


# --- claim normalisers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17/05/1990", DOB),
        ("7/5/1990", date(1990, 5, 7)),
        (" 1990-05-17 ", DOB),
        ("29/02/2000", date(2000, 2, 29)),
        ("29/02/1900", None),
        ("31/04/1990", None),
        ("1990-5-17", None),
        ("05/17/1990", None),
        ("17-05-1990", None),
        ("1990/05/17", None),
        ("١٧/٠٥/١٩٩٠", None),  # Arabic-Indic digits are not ASCII digits
        ("", None),
        (None, None),
        (19900517, None),
    ],
)
def test_parse_claim_date(raw, expected):
    assert parse_claim_date(raw) == expected


@given(st.dates())
def test_parse_claim_date_reads_both_formats(day):
    assert parse_claim_date(day.isoformat()) == day
    assert parse_claim_date(f"{day.day:02d}/{day.month:02d}/{day.year:04d}") == day


@given(st.one_of(st.text(), st.integers(), st.none(), st.binary()))
def test_parse_claim_date_never_raises(value):
    result = parse_claim_date(value)
    assert result is None or isinstance(result, date)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Nam", "male"), ("NỮ", "female"), ("nu", "female"), ("Male", "male"), ("f", "female"),
     (unicodedata.normalize("NFD", "Nữ"), "female"), ("1", None), ("", None), (None, None),
     ("other", None), (1, None)],
)
def test_parse_claim_sex(raw, expected):
    assert parse_claim_sex(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", 2), (2, 2), ("LoA2", 2), (" LoA2 ", 2), ("1", 1), ("LoA1", 1), ("loa2", 1),
     (None, 1), (True, 1), (2.0, 1), ([2], 1), ("", 1)],
)
def test_parse_claim_level(raw, expected):
    assert parse_claim_level(raw, ["2", "LoA2"]) == expected


def test_parse_claim_level_empty_configured_value_never_matches():
    assert parse_claim_level("", ["", " "]) == 1


# --- properties -----------------------------------------------------------------------------

names = st.sampled_from(
    ["Nguyễn Văn An", "Nguyễn Văn Ân", "NGUYỄN VĂN AN", "Trần Thị Bích", "Lê Lễ", "Le Le"])
dates = st.sampled_from([DOB, date(1990, 5, 18), date(2001, 1, 1)])
subjects = st.sampled_from(["techid-1", "techid-2", "techid-3"])

identities = st.builds(
    VneidIdentity,
    subject=subjects,
    id_number=st.one_of(st.none(), st.just("001090012345")),
    full_name=st.one_of(st.none(), names),
    birthdate=st.one_of(st.none(), dates),
    sex=st.sampled_from([None, "male", "female"]),
    phone=st.one_of(st.none(), st.just("+84912345678")),
    level=st.sampled_from([1, 2]),
    account_type=st.sampled_from([None, "1", "2", "9"]),
)
candidates = st.builds(
    Candidate,
    account_id=st.integers(1, 6),
    full_name=names,
    birthdate=dates,
    verified=st.booleans(),
    linked_subject=st.one_of(st.none(), subjects),
)
facts = st.tuples(identities, st.one_of(st.none(), st.integers(1, 99)),
                  # One row per account, as the services gather them.
                  st.lists(candidates, max_size=4, unique_by=lambda c: c.account_id),
                  st.booleans())


@given(facts)
def test_decide_is_total_and_its_answers_are_well_formed(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    assert decision.kind in KINDS
    assert decision.reason in REASONS[decision.kind]
    ids = {c.account_id for c in cands}
    if decision.kind in ("sign_in", "link", "prove"):
        assert decision.account_id is not None
        assert decision.account_id == linked or decision.account_id in ids
    else:
        assert decision.account_id is None
    if decision.kind == "review":
        assert decision.candidate_ids and set(decision.candidate_ids) <= ids
    else:
        assert decision.candidate_ids == ()


@given(facts)
def test_never_link_when_names_or_dates_disagree(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    if decision.kind == "link":
        (chosen,) = {c for c in cands}
        assert names_agree(identity.full_name, chosen.full_name)
        assert identity.birthdate == chosen.birthdate


@given(facts)
def test_never_link_a_candidate_linked_elsewhere(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    if decision.kind in ("link", "prove"):
        target = [c for c in cands if c.account_id == decision.account_id]
        assert all(c.linked_subject is None for c in target)
    if decision.kind == "sign_in" and linked is None:
        target = [c for c in cands if c.account_id == decision.account_id]
        assert all(c.linked_subject == identity.subject for c in target)


@given(facts)
def test_link_only_with_everything_rule2_asks(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    if decision.kind == "link":
        assert linked is None and identity.level == 2 and identity.is_citizen
        assert len({c.account_id for c in cands}) == 1
        assert all(c.verified for c in cands)


@given(facts)
def test_organisations_never_get_in(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    assert (decision.kind == "refuse") == (not identity.is_citizen)


@given(facts)
def test_create_only_with_no_candidate_and_a_register_record(args):
    identity, linked, cands, knows = args
    decision = decide(identity, linked, cands, knows)
    if decision.kind == "create":
        assert knows and not cands and linked is None


@given(facts, st.randoms())
def test_candidate_order_does_not_matter(args, rng):
    identity, linked, cands, knows = args
    shuffled = list(cands)
    rng.shuffle(shuffled)
    first, second = decide(identity, linked, cands, knows), decide(identity, linked, shuffled,
                                                                   knows)
    if first.kind == "sign_in" and linked is None:
        # Two candidates carrying this very subject cannot exist (the link is unique); with
        # such contradictory facts only the kind is promised.
        assume(sum(c.linked_subject == identity.subject for c in cands) == 1)
    assert first == second


@given(st.text())
def test_name_key_is_idempotent_and_ignores_form_case_and_spacing(text):
    key = name_key(text)
    assert name_key(key) == key
    assert name_key(unicodedata.normalize("NFD", text)) == key
    assert name_key(f"  {text}\n") == key
