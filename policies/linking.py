"""Which VssID account a VNeID identity belongs to: the linking rules as one pure function.

Why one pure function: the sign-in flow (gateway/flows/vneid_login.py) and the migration's
batch linking (issue 11) must reach the same answer for the same facts, and a national
register must be able to say, for any facts, exactly what happens. `decide` reads only its
arguments; the services gather the facts and store what it returns.

The link key is the upstream's stable **subject**, never the identity number: a CCCD can be
cancelled and re-issued to someone else, so it only *finds* candidate accounts.

The rules, in the order they are tried (issue 10):

0. an organisation's identity (``account_type`` present and not ``"1"``) → ``refuse``;
1. the subject is already linked → ``sign_in`` to that account;
5. a conflict — several candidates, the one candidate linked to another subject, or its name
   or birth date disagreeing with the identity — → ``review`` by staff, never a link;
2. exactly one candidate, verified (level-2 counter check or the population-register flag),
   name and birth date agreeing, and a level-2 identity → ``link`` at once
   (``auto_verified_match``);
3. one candidate but rule 2 does not hold → ``prove``: the person shows the account's
   password and an OTP to its phone before the link is made;
4. no candidate → ``create`` an account when the insurance register knows the person (and
   the identity carries what an account needs, well formed), else ``declare`` (apply, or
   visit an office).

Conflicts are checked before rule 2 because they are what rule 2 must never overlook: a
disagreeing name is a reason to stop, not merely a reason to ask for a password.

Names agree after Unicode NFC, case folding and collapsing whitespace; nothing else is
forgiven (no accent stripping: "Lê" and "Lễ" are different people to a register).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from policies.identifiers import IdentifierError, parse_cccd, parse_phone

# --- decisions -----------------------------------------------------------------------------

SIGN_IN = "sign_in"
LINK = "link"
PROVE = "prove"
CREATE = "create"
DECLARE = "declare"
REVIEW = "review"
REFUSE = "refuse"
KINDS = (SIGN_IN, LINK, PROVE, CREATE, DECLARE, REVIEW, REFUSE)

# Stable reason codes, per kind (programs, the review queue and events read them).
REASONS: dict[str, tuple[str, ...]] = {
    SIGN_IN: ("already_linked",),
    LINK: ("auto_verified_match",),
    PROVE: ("identity_level_1", "account_unverified", "identity_incomplete"),
    CREATE: ("register_match",),
    DECLARE: ("not_in_register", "identity_incomplete"),
    REVIEW: (
        "several_candidates",
        "linked_elsewhere",
        "name_mismatch",
        "birthdate_mismatch",
        "name_and_birthdate_mismatch",
        # Not from decide(): the services open it when the register's social-insurance
        # number already belongs to an account the identity number did not find.
        "register_number_in_use",
    ),
    REFUSE: ("not_a_citizen",),
}
REVIEW_REASONS = REASONS[REVIEW]

CITIZEN_ACCOUNT_TYPE = "1"
NAME_MAX = 200  # the accounts table's full_name
LEVELS = (1, 2)


@dataclass(frozen=True)
class VneidIdentity:
    """What the upstream said about the person, already mapped from its claims and normalised
    (providers/vneid.py does the mapping; the parsers below do the normalising)."""

    subject: str  # the upstream's stable subject (TechID, else sub)
    id_number: str | None  # 12-digit CCCD
    full_name: str | None
    birthdate: date | None
    sex: str | None  # "male" | "female" | None
    phone: str | None  # E.164 or None
    level: int  # 1 or 2, from the explicit level claim only
    account_type: str | None  # "1" = individual citizen

    def __post_init__(self) -> None:
        # Refused here rather than decided about: an identity without a subject cannot be
        # linked to anything, and a level outside 1..2 is a mapping bug upstream of us.
        if not isinstance(self.subject, str) or not self.subject.strip():
            raise ValueError("a VNeID identity needs a non-empty subject")
        if self.level not in LEVELS:
            raise ValueError("a VNeID identity's level is 1 or 2")

    @property
    def is_citizen(self) -> bool:
        """Individual citizens only: a present account type must say "1". An absent one means
        the channel did not send the claim, and the person is taken as a citizen (issue 10:
        "account_type 1 when present")."""
        return self.account_type is None or self.account_type.strip() == CITIZEN_ACCOUNT_TYPE


@dataclass(frozen=True)
class Candidate:
    """An account whose CCCD equals the identity number, as the services found it."""

    account_id: int
    full_name: str
    birthdate: date
    verified: bool  # level-2 counter verification or the population flag
    linked_subject: str | None  # the subject this account is linked to, if any


@dataclass(frozen=True)
class LinkDecision:
    """What to do: ``kind`` (one of KINDS), the account it concerns (sign_in, link, prove),
    a stable ``reason`` and, for a review, every candidate account staff must look at."""

    kind: str
    reason: str
    account_id: int | None = None
    candidate_ids: tuple[int, ...] = ()


# --- the rules -----------------------------------------------------------------------------


def decide(
    identity: VneidIdentity,
    linked_account_id: int | None,
    candidates: Sequence[Candidate],
    register_knows: bool,
) -> LinkDecision:
    """Apply rules 0-5 to the facts. Total: every input gives exactly one decision.

    ``linked_account_id`` is the account already linked to ``identity.subject`` (or None);
    ``candidates`` the accounts whose CCCD equals ``identity.id_number``; ``register_knows``
    whether the insurance register holds a record for that number that agrees with the
    identity (see :func:`register_agrees`).
    """
    if not identity.is_citizen:
        return LinkDecision(REFUSE, "not_a_citizen")
    if linked_account_id is not None:
        return LinkDecision(SIGN_IN, "already_linked", account_id=linked_account_id)
    mine = [c for c in candidates if c.linked_subject == identity.subject]
    if mine:
        # The caller's candidate already carries this subject's link (the link look-up and
        # the candidate look-up ran a moment apart): it is rule 1, not a new link.
        return LinkDecision(SIGN_IN, "already_linked", account_id=mine[0].account_id)
    ids = tuple(sorted({c.account_id for c in candidates}))
    if len(ids) > 1:
        return LinkDecision(REVIEW, "several_candidates", candidate_ids=ids)
    if not candidates:
        return _no_candidate(identity, register_knows)
    candidate = candidates[0]
    if candidate.linked_subject is not None:
        return LinkDecision(REVIEW, "linked_elsewhere", candidate_ids=ids)
    mismatch = _mismatch(identity, candidate)
    if mismatch:
        return LinkDecision(REVIEW, mismatch, candidate_ids=ids)
    if identity.full_name is None or identity.birthdate is None:
        return LinkDecision(PROVE, "identity_incomplete", account_id=candidate.account_id)
    if identity.level < 2:
        return LinkDecision(PROVE, "identity_level_1", account_id=candidate.account_id)
    if not candidate.verified:
        return LinkDecision(PROVE, "account_unverified", account_id=candidate.account_id)
    return LinkDecision(LINK, "auto_verified_match", account_id=candidate.account_id)


def _no_candidate(identity: VneidIdentity, register_knows: bool) -> LinkDecision:
    if not register_knows:
        return LinkDecision(DECLARE, "not_in_register")
    if not can_create_from(identity):
        return LinkDecision(DECLARE, "identity_incomplete")
    return LinkDecision(CREATE, "register_match")


def can_create_from(identity: VneidIdentity) -> bool:
    """Whether the identity holds what an account needs, well formed: a CCCD (so that the
    account is found again) agreeing with the birth date and sex it states, a name, a birth
    date and a Vietnamese mobile number (every OTP and notice goes there). An identity
    lacking one, or contradicting itself, cannot become an account (``identity_incomplete``).
    """
    if not (identity.id_number and identity.full_name and identity.full_name.strip()
            and len(identity.full_name) <= NAME_MAX and identity.birthdate and identity.phone):
        return False
    try:
        parse_cccd(identity.id_number, dob=identity.birthdate, sex=identity.sex)
        parse_phone(identity.phone)
    except IdentifierError:
        return False
    return identity.id_number == identity.id_number.strip()


def _mismatch(identity: VneidIdentity, candidate: Candidate) -> str | None:
    """The review reason when a detail the identity *states* disagrees with the account; a
    detail the identity leaves out is not a disagreement (rule 3 asks for proof instead)."""
    name_differs = identity.full_name is not None and not names_agree(
        identity.full_name, candidate.full_name)
    date_differs = identity.birthdate is not None and identity.birthdate != candidate.birthdate
    if name_differs and date_differs:
        return "name_and_birthdate_mismatch"
    if name_differs:
        return "name_mismatch"
    if date_differs:
        return "birthdate_mismatch"
    return None


def register_agrees(identity: VneidIdentity, full_name: str, birthdate: date | None) -> bool:
    """Whether an insurance-register record (found by the identity number) is this person:
    the name agrees and so does the birth date. ``register_knows`` is this, for the record."""
    return (
        identity.full_name is not None
        and identity.birthdate is not None
        and names_agree(identity.full_name, full_name)
        and identity.birthdate == birthdate
    )


# --- comparing and normalising claims --------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The form two names are compared in: NFC, case-folded, whitespace collapsed.

    NFC is applied again after case folding because folding can decompose (e.g. "ǰ"), and a
    key that is not in one normal form would make equal names compare unequal."""
    folded = unicodedata.normalize("NFC", name).casefold()
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFC", folded)).strip()


def names_agree(first: str, second: str) -> bool:
    return name_key(first) == name_key(second)


_DMY_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_claim_date(value: object) -> date | None:
    """A birth-date claim as the portal (``dd/mm/yyyy``) or OIDC (``YYYY-MM-DD``) sends it;
    None for anything else, an impossible date included. Never raises: a claim we cannot read
    is a claim we do not have, and the rules treat it so."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _DMY_RE.fullmatch(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = _ISO_RE.fullmatch(text)
        if not match:
            return None
        year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


_SEX_VALUES = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "nữ": "female",
    "nu": "female",
    "female": "female",
    "f": "female",
}


def parse_claim_sex(value: object) -> str | None:
    """``"male"``/``"female"`` from the portal's Vietnamese (``Nam``/``Nữ``) or OIDC's English
    values, any case; None for anything else (no numeric codes: their meaning differs between
    upstream channels, and a wrong guess would be worse than none)."""
    if not isinstance(value, str):
        return None
    return _SEX_VALUES.get(name_key(value))


def parse_claim_level(value: object, level2_values: Iterable[str]) -> int:
    """2 only when the explicit level claim is one of the configured level-2 values (compared
    as trimmed text, so a JSON number 2 and the string "2" agree), else 1. Never from ``acr``:
    Keycloak-style upstreams send ``acr: "1"`` by default whatever the account's level."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return 1
    values = {str(v).strip() for v in level2_values if str(v).strip()}
    return 2 if str(value).strip() in values else 1
