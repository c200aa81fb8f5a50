"""VNeID links: gather the facts, apply the linking rules' decision, resolve cases, unlink.

The rules are policies/linking.py `decide` (pure, shared with the migration's batch linking);
this module gathers its facts from the database and carries out what it decides, each change
in one transaction with its SMS (outbox), its events and its audit record:

* ``settle(identity, register_knows=, bhxh=)`` — what a VNeID sign-in does once the upstream
  has answered: sign in to the linked account, link automatically (rule 2), create a linked
  account from the identity (rule 4), or open a review case (rule 5); it returns the decision
  untouched when a person must act first (``prove``, ``declare``, ``refuse``);
* ``link_proven(identity, account_id)`` — rule 3's link, once the sign-in flow has seen the
  account's password and an OTP to its phone;
* ``resolve_case(case_id, ...)`` — staff link a case's identity to an account, or reject it;
* ``unlink(account, ...)`` — remove a link (audited; the account's sessions end).

The race. The link table is UNIQUE on the subject and on the account, so the database decides
every race: of two VNeID identities linking one account at once exactly one insert succeeds;
of one identity linking twice at once (two tabs, a double submit), one. The loser's whole
transaction — its SMS, events and audit record included — rolls back, and `AlreadyLinkedError`
names what was taken. `settle` and `link_proven` then decide once more on the new facts: the
identity that lost to itself now signs in (rule 1), the one that lost to another identity goes
to review (rule 5, ``linked_elsewhere``).

Subjects in events and logs appear only as ``subject_ref`` (the first 16 hex digits of their
SHA-256): enough to follow one person through the logs, nothing to look up elsewhere. The link
row and the audit record keep the subject itself: they are the register of who was linked.

Exceptions::

    AlreadyLinkedError (409)  account_already_linked | subject_already_linked
    ConflictError (409)       not_linked (unlink), case_not_open (resolve)
    ValidationError (400)     unknown_account, unknown_case, reason_required, ...
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Account, LinkReview, VneidLink
from gateway.services import audit, link_reviews
from gateway.services.accounts import create_account, find_by_login
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from gateway.services.sign_out import sign_out_everywhere
from policies.linking import (
    CREATE,
    LINK,
    PROVE,
    REVIEW,
    SIGN_IN,
    Candidate,
    LinkDecision,
    VneidIdentity,
    decide,
)

#: Who acts when a person's own VNeID sign-in makes the change.
SIGN_IN_ACTOR = audit.Actor("system:vneid")


class AlreadyLinkedError(ConflictError):
    """The one-to-one rule refused a link: ``account_already_linked`` (the account has another
    VNeID subject) or ``subject_already_linked`` (the subject has another account)."""

    code = "already_linked"


@dataclass(frozen=True)
class Settlement:
    """What was done for a sign-in: the decision carried out (after any lost race, the one
    decided on the new facts), the account signed in to or linked, the review case opened."""

    decision: LinkDecision
    account: Account | None = None
    case: LinkReview | None = None


def subject_ref(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()[:16]


# --- the facts -------------------------------------------------------------------------------


def find_link(subject: str) -> VneidLink | None:
    return VneidLink.query.filter_by(subject=subject).first() if subject else None


def link_of_account(account_id: int) -> VneidLink | None:
    return VneidLink.query.filter_by(account_id=account_id).first()


def is_verified(account: Account) -> bool:
    """Level 2 (verified in person at a counter) or verified against the population database."""
    return account.level >= 2 or account.population_verified_at is not None


def candidates_for(identity: VneidIdentity) -> list[Candidate]:
    """Every account whose CCCD equals the identity number, with the subject it is linked to."""
    if not identity.id_number:
        return []
    rows = db.session.execute(
        select(Account, VneidLink.subject)
        .outerjoin(VneidLink, VneidLink.account_id == Account.id)
        .where(Account.cccd == identity.id_number)
        .order_by(Account.id)
    ).all()
    return [Candidate(account.id, account.full_name, account.dob, is_verified(account), subject)
            for account, subject in rows]


def decide_for(identity: VneidIdentity, *, register_knows: bool) -> LinkDecision:
    """The rules applied to what the database holds now. ``register_knows``: the insurance
    register has a record for the identity number that agrees with the identity
    (policies.linking.register_agrees)."""
    link = find_link(identity.subject)
    return decide(identity, link.account_id if link else None, candidates_for(identity),
                  register_knows)


# --- a sign-in's decision carried out --------------------------------------------------------


def settle(identity: VneidIdentity, *, register_knows: bool,
           bhxh: str | None = None) -> Settlement:
    """Decide and carry out what needs no further act of the person (see the module's doc).

    ``bhxh`` is the social-insurance number the insurance register gave for the identity
    number: required when the register knows the person (rule 4 makes the account with it).
    """
    return _with_one_retry(lambda: _apply(identity, decide_for(
        identity, register_knows=register_knows), bhxh))


def link_proven(identity: VneidIdentity, account_id: int) -> Settlement:
    """Rule 3's link, after the person proved control of ``account_id`` (password, then OTP).

    The rules run again on today's facts: the account still has to be the identity's one
    candidate, unlinked and agreeing (else what they now say is done: a review case, or the
    decision returned untouched); an identity linked meanwhile (a double submit) signs in.
    """

    def attempt() -> Settlement:
        decision = decide_for(identity, register_knows=False)
        if decision.kind in (PROVE, LINK) and decision.account_id == account_id:
            account = db.session.get(Account, account_id)
            link(identity, account, how="proof", reason=decision.reason)
            return Settlement(decision, account=account)
        return _apply(identity, decision, None)

    return _with_one_retry(attempt)


def _with_one_retry(attempt) -> Settlement:
    try:
        return attempt()
    except AlreadyLinkedError:
        # A lost race: the facts changed under us. Decide once more on the new ones; a
        # second loss in a row is reported as it is.
        return attempt()


def _apply(identity: VneidIdentity, decision: LinkDecision, bhxh: str | None) -> Settlement:
    if decision.kind == SIGN_IN:
        return Settlement(decision, account=db.session.get(Account, decision.account_id))
    if decision.kind == LINK:
        account = db.session.get(Account, decision.account_id)
        link(identity, account, how="auto", reason=decision.reason)
        return Settlement(decision, account=account)
    if decision.kind == CREATE:
        return _create(identity, decision, bhxh)
    if decision.kind == REVIEW:
        return Settlement(decision, case=link_reviews.open_case(identity, decision,
                                                                  actor=SIGN_IN_ACTOR))
    # prove, declare, refuse: the person acts next (the sign-in flow says what to do).
    account = db.session.get(Account, decision.account_id) if decision.account_id else None
    return Settlement(decision, account=account)


def _create(identity: VneidIdentity, decision: LinkDecision, bhxh: str | None) -> Settlement:
    """Rule 4: an account made from the identity, at its level, with no password, linked."""
    if not bhxh:
        raise ValueError("rule 4 needs the social-insurance number the register gave")
    taken = find_by_login(bhxh)
    if taken is not None and find_link(identity.subject) is not None:
        # This very identity made the account (and its link) in another request between our
        # decision and now: a lost race, decided again on the new facts (the retry signs in).
        raise AlreadyLinkedError("account_already_linked", field="bhxh",
                                 detail="the register's number got an account")
    if taken is not None:
        # The register's number already has an account, which the identity number did not
        # find (no CCCD on it, or another one): a person must look at both.
        review = LinkDecision(REVIEW, "register_number_in_use", candidate_ids=(taken.id,))
        return Settlement(review, case=link_reviews.open_case(identity, review,
                                                                actor=SIGN_IN_ACTOR))
    try:
        account = create_account(
            bhxh=bhxh, name=identity.full_name, dob=identity.birthdate.isoformat(),
            phone=identity.phone, password=None, cccd=identity.id_number, sex=identity.sex,
            level=identity.level, via="vneid")
    except ConflictError as exc:
        # The same number was taken a moment ago: by this very identity in another request
        # (the retry then signs in), or by someone else (the retry opens a case).
        raise AlreadyLinkedError("account_already_linked", field="bhxh",
                                 detail="the register's number got an account") from exc
    link(identity, account, how="created", reason=decision.reason)
    return Settlement(decision, account=account)


# --- the one place a link is written ---------------------------------------------------------


def link(identity: VneidIdentity, account: Account, *, how: str, reason: str,
         actor: audit.Actor = SIGN_IN_ACTOR, review_id: int | None = None) -> VneidLink:
    """Link ``identity`` to ``account`` in one transaction, committed: the link row; the
    account raised to level 2 when the identity is level 2; an SMS to the account's phone;
    events ``account.level_raised`` and ``vneid.linked``; an audit record. A link the UNIQUE
    constraints refuse rolls it all back and raises AlreadyLinkedError.
    """
    now = utcnow()
    before = account.level
    row = VneidLink(account_id=account.id, subject=identity.subject, how=how, reason=reason,
                    review_id=review_id, level=identity.level, level_before=before,
                    linked_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _refusal(identity.subject, account.id) from None
    changes = {"vneid_subject": [None, identity.subject], "how": [None, how]}
    if identity.level == 2 and before < 2:
        account.level = 2
        changes["level"] = [before, 2]
        emit("account.level_raised", account_id=account.id, before=before, after=2,
             via="vneid_link")
    template = "vneid_account_created" if how == "created" else "vneid_linked"
    enqueue_sms(account.phone, template, {"at": now})
    emit("vneid.linked", account_id=account.id, how=how, reason=reason, level=identity.level,
         subject_ref=subject_ref(identity.subject), review_id=review_id)
    audit.append(actor, "vneid.linked", f"account:{account.id}", changes=changes, reason=reason)
    db.session.commit()
    return row


def _refusal(subject: str, account_id: int) -> AlreadyLinkedError:
    """Which of the two one-to-one rules a refused insert broke (read after the rollback)."""
    if link_of_account(account_id) is not None:
        return AlreadyLinkedError("account_already_linked", field="account",
                                  detail="the account has a VNeID link")
    if find_link(subject) is not None:
        return AlreadyLinkedError("subject_already_linked", field="subject",
                                  detail="the VNeID identity has a link")
    # Neither rule, so another constraint (the account vanished): not a link race.
    return AlreadyLinkedError("link_refused", field="account", detail="the insert was refused")


# --- staff -----------------------------------------------------------------------------------


def resolve_case(case_id: int, *, actor: audit.Actor, reason: str, bhxh: str | None = None,
                 reject: bool = False) -> LinkReview:
    """Resolve an open review case with the staff member's reason: link its identity to the
    account ``bhxh`` (``how = staff``), or ``reject`` it (no link). One transaction: a link
    the one-to-one rule refuses leaves the case open. Committed."""
    reason = link_reviews.clean_reason(reason)
    if reject == (bhxh is not None):
        raise ValidationError("account_or_reject", field="account",
                              detail="give an account to link, or reject")
    if reject:
        case = link_reviews.claim(case_id, resolution="rejected", account_id=None,
                                  actor=actor, reason=reason)
        db.session.commit()
        return case
    account = find_by_login(bhxh)
    if account is None:
        link_reviews.get_case(case_id)  # an unknown case is named first
        raise ValidationError("unknown_account", field="account", detail="no such account")
    case = link_reviews.claim(case_id, resolution="linked", account_id=account.id,
                              actor=actor, reason=reason)
    link(link_reviews.identity_of(case), account, how="staff", reason="staff_review",
         actor=actor, review_id=case.id)
    return case


def unlink(account: Account, *, actor: audit.Actor, reason: str) -> dict:
    """Remove the account's VNeID link, with the reason. The level the link added is given
    back; an SMS tells the account's phone; then every session of the account ends (a link
    made in error must not leave its sessions alive). Returns what was done."""
    reason = link_reviews.clean_reason(reason)
    removed = db.session.execute(
        delete(VneidLink).where(VneidLink.account_id == account.id)
        .returning(VneidLink.subject, VneidLink.how, VneidLink.level, VneidLink.level_before)
    ).first()
    if removed is None:
        db.session.rollback()
        raise ConflictError("not_linked", field="account", detail="the account has no link")
    changes = {"vneid_subject": [removed.subject, None]}
    if removed.level == 2 and removed.level_before < 2 and account.level == 2:
        account.level = removed.level_before
        changes["level"] = [2, removed.level_before]
        emit("account.level_lowered", account_id=account.id, before=2,
             after=removed.level_before, via="vneid_unlink")
    enqueue_sms(account.phone, "vneid_unlinked", {})
    emit("vneid.unlinked", account_id=account.id, how=removed.how, by=actor.name,
         subject_ref=subject_ref(removed.subject))
    audit.append(actor, "vneid.unlinked", f"account:{account.id}", changes=changes,
                 reason=reason)
    db.session.commit()
    revoked = sign_out_everywhere(account, by="staff")
    return {"account_id": account.id, "how": removed.how, "level": account.level,
            "revoked": revoked}
