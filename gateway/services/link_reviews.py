"""The staff review queue of VNeID links: open a case, claim it to resolve it, read it.

A case is what rule 5 of policies/linking.py produces (several candidates, the candidate
linked to another subject, a name or birth date disagreeing): no link is made, and staff decide
with a reason. Resolving — linking to an account, or rejecting — is gateway/services/links.py
`resolve_case`, because a link is made there and only there; this module holds the case
itself: its storage, the atomic claim, and what staff are shown.

One open case per subject is a database rule (``open_subject`` UNIQUE, NULL once resolved),
so a person signing in twice at once, or again while the case waits, opens one case. A case
is claimed by a conditional UPDATE on ``status = 'open'``: of two staff resolving one case at
once, exactly one does.

What staff see (`describe`) masks the personal numbers — the CCCD and phone of the VNeID side,
the social-insurance numbers of the candidates — and says for each candidate whether its
identity number, name and birth date agree with the VNeID side, which is what they must judge.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Account, LinkReview, VneidLink
from gateway.services import audit
from gateway.services.events import emit
from policies.identifiers import mask_bhxh, mask_cccd, mask_phone
from policies.linking import REVIEW_REASONS, LinkDecision, VneidIdentity, names_agree

OPEN = "open"
RESOLVED = "resolved"
REASON_MAX = 2000  # characters of a staff member's reason


def claims_of(identity: VneidIdentity) -> dict:
    """What the case keeps of the VNeID side (see gateway/models/link_review.py)."""
    return {
        "id_number": identity.id_number,
        "full_name": identity.full_name,
        "birthdate": identity.birthdate.isoformat() if identity.birthdate else None,
        "sex": identity.sex,
        "phone": mask_phone(identity.phone) if identity.phone else None,
        "level": identity.level,
        "account_type": identity.account_type,
    }


def identity_of(case: LinkReview) -> VneidIdentity:
    """The VNeID identity as the case recorded it (the phone only as its hint: a link made from
    a case never uses the identity's phone)."""
    claims = case.claims
    birthdate = claims.get("birthdate")
    return VneidIdentity(
        subject=case.subject,
        id_number=claims.get("id_number"),
        full_name=claims.get("full_name"),
        birthdate=date.fromisoformat(birthdate) if birthdate else None,
        sex=claims.get("sex"),
        phone=None,
        level=claims["level"],
        account_type=claims.get("account_type"),
    )


def open_case(identity: VneidIdentity, decision: LinkDecision, *,
              actor: audit.Actor) -> LinkReview:
    """The subject's open case, opened now if there is none; committed. Idempotent while the
    case is open: a later sign-in of the same person finds the case it opened before."""
    if decision.reason not in REVIEW_REASONS:
        raise ValueError(f"{decision.reason!r} is not a review reason")
    existing = open_case_of(identity.subject)
    if existing is not None:
        return existing
    case = LinkReview(
        subject=identity.subject, open_subject=identity.subject, reason=decision.reason,
        claims=claims_of(identity), candidate_ids=list(decision.candidate_ids), status=OPEN,
        opened_at=utcnow(),
    )
    db.session.add(case)
    try:
        db.session.flush()
    except IntegrityError:
        # Another sign-in of this subject opened it a moment ago: that case is the one.
        db.session.rollback()
        existing = open_case_of(identity.subject)
        if existing is None:
            raise
        return existing
    emit("link_review.opened", case_id=case.id, reason=case.reason,
         candidates=len(case.candidate_ids))
    audit.append(actor, "link_review.opened", f"link_review:{case.id}",
                 changes={"status": [None, OPEN], "reason": [None, case.reason],
                          "candidate_ids": [None, case.candidate_ids]})
    db.session.commit()
    return case


def open_case_of(subject: str) -> LinkReview | None:
    return LinkReview.query.filter_by(open_subject=subject).first()


def get_case(case_id: int) -> LinkReview:
    """The case, or ValidationError ``unknown_case``."""
    case = db.session.get(LinkReview, case_id, populate_existing=True)
    if case is None:
        raise ValidationError("unknown_case", field="case", detail=f"no case {case_id}")
    return case


def show_case(case_id: int, *, actor: audit.Actor) -> LinkReview:
    """The case for a staff member's page, recorded as ``link_review.viewed`` (its page shows
    a person's name and birth date next to candidate accounts': an access to personal data);
    ValidationError ``unknown_case`` when there is no such case."""
    case = get_case(case_id)
    emit("link_review.viewed", case_id=case.id, by=actor.name, role=actor.role,
         office=actor.office, commit=True)
    return case


def list_cases(status: str | None = None) -> list[LinkReview]:
    """Cases oldest first (the queue's order), all or of one status."""
    if status not in (None, OPEN, RESOLVED):
        raise ValidationError("invalid_status", field="status", detail="open or resolved")
    query = LinkReview.query
    if status is not None:
        query = query.filter_by(status=status)
    return query.order_by(LinkReview.opened_at, LinkReview.id).all()


def clean_reason(reason: str | None) -> str:
    """A staff member's reason, trimmed; ValidationError ``reason_required`` when empty."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError("reason_required", field="reason", detail="say why")
    if len(text) > REASON_MAX:
        raise ValidationError("reason_too_long", field="reason",
                              detail=f"at most {REASON_MAX} characters")
    return text


def claim(case_id: int, *, resolution: str, account_id: int | None, actor: audit.Actor,
          reason: str) -> LinkReview:
    """Mark an open case resolved, in the caller's transaction (not committed): the caller
    makes the link, if any, in the same transaction, and a failed link rolls the claim back.

    ConflictError ``case_not_open`` when it was already resolved (by someone else just now),
    ValidationError ``unknown_case`` when there is no such case.
    """
    claimed = db.session.execute(
        update(LinkReview)
        .where(LinkReview.id == case_id, LinkReview.status == OPEN)
        .values(status=RESOLVED, open_subject=None, resolution=resolution,
                resolved_account_id=account_id, resolved_by=actor.name,
                resolution_reason=reason, resolved_at=utcnow())
        .returning(LinkReview.id)
    ).first()
    if claimed is None:
        db.session.rollback()
        get_case(case_id)
        raise ConflictError("case_not_open", field="case", detail="already resolved")
    case = get_case(case_id)
    emit("link_review.resolved", account_id=account_id, case_id=case.id,
         resolution=resolution, by=actor.name)
    audit.append(actor, "link_review.resolved", f"link_review:{case.id}",
                 changes={"status": [OPEN, RESOLVED], "resolution": [None, resolution],
                          "account_id": [None, account_id]},
                 reason=reason)
    return case


def describe(case: LinkReview) -> dict:
    """Both sides of a case as staff see them, personal numbers masked."""
    claims = case.claims
    vneid = {
        "id_number": mask_cccd(claims["id_number"]) if claims.get("id_number") else None,
        "full_name": claims.get("full_name"),
        "birthdate": claims.get("birthdate"),
        "sex": claims.get("sex"),
        "phone": claims.get("phone"),
        "level": claims.get("level"),
        "account_type": claims.get("account_type"),
    }
    accounts = {a.id: a for a in Account.query.filter(Account.id.in_(case.candidate_ids))}
    linked = {link.account_id: link.subject for link in VneidLink.query.filter(
        VneidLink.account_id.in_(case.candidate_ids))}
    candidates = []
    for account_id in case.candidate_ids:
        account = accounts.get(account_id)
        if account is None:
            candidates.append({"account_id": account_id, "missing": True})
            continue
        candidates.append({
            "account_id": account.id,
            "bhxh": mask_bhxh(account.bhxh),
            "full_name": account.full_name,
            "birthdate": account.dob.isoformat(),
            "sex": account.sex,
            "level": account.level,
            "status": account.status,
            "population_verified": account.population_verified_at is not None,
            "id_number_agrees": bool(claims.get("id_number")) and account.cccd ==
            claims.get("id_number"),
            "name_agrees": bool(claims.get("full_name")) and names_agree(
                claims["full_name"], account.full_name),
            "birthdate_agrees": claims.get("birthdate") == account.dob.isoformat(),
            "linked": account.id in linked,
            "linked_to_this_subject": linked.get(account.id) == case.subject,
        })
    return {
        "id": case.id,
        "status": case.status,
        "reason": case.reason,
        "opened_at": case.opened_at.isoformat(),
        "vneid": vneid,
        "candidates": candidates,
        "resolution": case.resolution,
        "resolved_account_id": case.resolved_account_id,
        "resolved_by": case.resolved_by,
        "resolution_reason": case.resolution_reason,
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
    }
