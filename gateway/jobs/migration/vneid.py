"""`link-vneid`: VNeID subjects from the national system, linked by the linking rules.

The decision is policies/linking.decide — the very function a VNeID sign-in uses
(gateway/services/links.py) — so a subject linked here is linked as its first sign-in would
have linked it, and one refused here is refused there too.

Stage: each line by policies/migration_rows.parse_vneid; parts are cut by the CCCD, so all
subjects claiming one number are decided together, in line order, whichever worker runs it.

Before the parts (once, set-based): a subject on several lines keeps its first line; the
others are refused ``duplicate_subject`` (two numbers for one subject is the national
system's problem to answer, not ours to guess).

Merge (one part, one transaction): the part's lines with the account each subject is linked
to, and every account holding the part's numbers with its link, are read with two queries;
``decide`` runs per line in this process, seeing the links made by earlier lines; then:

* ``link`` (rule 2: one verified candidate, name and birth date agreeing, a level-2
  identity) → a ``vneid_links`` row (how ``auto``), written with the others in one INSERT
  … ON CONFLICT DO NOTHING (a link a live sign-in made meanwhile wins: the line is refused
  ``linked_concurrently``), and the accounts raised to level 2 by one UPDATE;
* ``sign_in`` (the subject is linked already) → unchanged;
* ``review`` (rule 5: several candidates, the candidate linked elsewhere, a name or birth
  date disagreeing) → a case in the staff review queue (``link_reviews``, one open case per
  subject: an existing one stays), and refused with the rule's reason;
* ``prove`` (rule 3) → refused with the rule's reason (``identity_level_1``,
  ``account_unverified``): the person links at the first VNeID sign-in, with the account's
  password and an OTP;
* ``declare`` (no account holds the number) → refused ``no_account``: the batch creates no
  account (rule 4 needs the insurance register's answer, which a sign-in asks for).

No SMS per link (a batch is announced by BHXH's campaign, not by millions of messages at
once) and no event per link: one audit record per part (actor ``cli:migrate``) with its
counts, and ``import_job.finished``. The link rows themselves are the register.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date

from sqlalchemy import Boolean, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.extensions import db
from gateway.jobs.migration import staging
from gateway.models import Account, ImportReject, LinkReview, VneidLink, VneidRow
from gateway.services import audit
from gateway.services.link_reviews import claims_of
from gateway.services.links import is_verified
from policies.linking import (
    DECLARE,
    LINK,
    REFUSE,
    REVIEW,
    SIGN_IN,
    Candidate,
    VneidIdentity,
    decide,
)
from policies.migration_rows import VNEID_HEADER, masked_id_number, parse_vneid

HEADER = VNEID_HEADER
STAGING = VneidRow.__table__
ACTOR = audit.Actor("cli:migrate")


def stage_lines(job, lines, *, today: date):
    return staging.stage_lines(
        job, lines, parse=lambda fields: tuple(parse_vneid(fields, today=today)),
        key=lambda parsed: parsed[1],
        masks=lambda fields: ("", masked_id_number(fields[1]) if len(fields) > 1 else ""))


def copy_rows(rows: list[tuple]) -> None:
    staging.copy_rows(STAGING, rows)


def prepare(job) -> None:
    """Refuse every line but the first of a subject (all parts at once, set-based)."""
    params = {"job": job.id}
    db.session.execute(text(
        "INSERT INTO import_rejects (job_id, line, reason, field, bhxh, id_number, refused) "
        "SELECT d.job_id, d.line, 'duplicate_subject', 'vneid_subject', '', "
        "'********' || substr(d.id_number, 9, 4), "
        ":refused FROM (SELECT r.job_id, r.line, r.id_number, row_number() OVER "
        "(PARTITION BY r.subject ORDER BY r.line) AS n FROM vneid_rows r "
        "WHERE r.job_id = :job) d WHERE d.n > 1 "
        # Done again when a crash emptied the staging tables after it (bookkeeping.py).
        "ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("refused", True, type_=Boolean)), params)
    db.session.execute(text(
        "DELETE FROM vneid_rows WHERE job_id = :job AND line IN (SELECT x.line FROM "
        "import_rejects x WHERE x.job_id = :job AND x.reason = 'duplicate_subject')"), params)


BATCH = 2000  # rows per multi-row INSERT: under both databases' limits on parameters


def _batches(rows: list[dict]):
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def merge_part(job, number: int, *, now, config) -> dict:
    rows = db.session.execute(select(
        VneidRow.line, VneidRow.subject, VneidRow.id_number, VneidRow.full_name, VneidRow.dob,
        VneidRow.level, VneidLink.account_id,
    ).outerjoin(VneidLink, VneidLink.subject == VneidRow.subject).where(
        VneidRow.job_id == job.id, VneidRow.part == number).order_by(VneidRow.line)).all()
    numbers = select(VneidRow.id_number).where(VneidRow.job_id == job.id,
                                               VneidRow.part == number)
    candidates: dict[str, list[Candidate]] = defaultdict(list)
    levels: dict[int, int] = {}
    for account, subject in db.session.execute(
            select(Account, VneidLink.subject).outerjoin(
                VneidLink, VneidLink.account_id == Account.id)
            .where(Account.cccd.in_(numbers)).order_by(Account.id)).all():
        candidates[account.cccd].append(Candidate(account.id, account.full_name, account.dob,
                                                  is_verified(account), subject))
        levels[account.id] = account.level
    linked = {row.subject: row.account_id for row in rows if row.account_id is not None}
    links, cases, rejects = [], [], []
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for row in rows:
        identity = VneidIdentity(subject=row.subject, id_number=row.id_number,
                                 full_name=row.full_name, birthdate=row.dob, sex=None,
                                 phone=None, level=row.level, account_type=None)
        decision = decide(identity, linked.get(row.subject), candidates[row.id_number], False)
        if decision.kind == SIGN_IN:
            counts["unchanged"] += 1
        elif decision.kind == LINK:
            account_id = decision.account_id
            links.append({"line": row.line, "account_id": account_id, "subject": row.subject,
                          "how": "auto", "reason": decision.reason, "level": row.level,
                          "level_before": levels[account_id], "linked_at": now})
            linked[row.subject] = account_id
            candidates[row.id_number] = [
                replace(c, linked_subject=row.subject) if c.account_id == account_id else c
                for c in candidates[row.id_number]]
        else:
            if decision.kind == REVIEW:
                cases.append({"subject": row.subject, "open_subject": row.subject,
                              "reason": decision.reason, "claims": claims_of(identity),
                              "candidate_ids": list(decision.candidate_ids),
                              "status": "open", "opened_at": now})
            reason = {DECLARE: "no_account", REFUSE: decision.reason}.get(
                decision.kind, decision.reason)
            rejects.append(_reject(job, row.line, reason, row.id_number))
    made = _write_links(links, rejects, job)
    counts["inserted"] = len(made)
    raised = [link["account_id"] for link in made if link["level"] == 2
              and link["level_before"] < 2]
    for start in range(0, len(raised), 1000):
        db.session.execute(update(Account.__table__).where(
            Account.__table__.c.id.in_(raised[start:start + 1000])).values(level=2))
    opened = sum(len(db.session.execute(
        _insert(LinkReview.__table__).values(batch).on_conflict_do_nothing()
        .returning(LinkReview.__table__.c.id)).all()) for batch in _batches(cases))
    if rejects:
        db.session.execute(ImportReject.__table__.insert(), rejects)
    counts["rejected"] = len(rejects)
    audit.append(ACTOR, "vneid.batch_linked", f"import_job:{job.id}", changes={
        "part": [None, number], "linked": [None, len(made)],
        "review_cases": [None, opened], "refused": [None, len(rejects)]})
    return counts


def _write_links(links: list[dict], rejects: list[dict], job) -> list[dict]:
    """Insert the links; those a live sign-in made first (a UNIQUE conflict) are refused."""
    if not links:
        return []
    table = VneidLink.__table__
    values = [{k: v for k, v in link.items() if k != "line"} for link in links]
    inserted = set()
    for batch in _batches(values):
        inserted.update(db.session.execute(
            _insert(table).values(batch).on_conflict_do_nothing().returning(table.c.subject)
        ).scalars())
    made = []
    for link in links:
        if link["subject"] in inserted:
            made.append(link)
        else:
            rejects.append(_reject(job, link["line"], "linked_concurrently", ""))
    return made


def _reject(job, line: int, reason: str, id_number: str) -> dict:
    return {"job_id": job.id, "line": line, "reason": reason, "field": "vneid_subject",
            "bhxh": "", "id_number": masked_id_number(id_number), "refused": True}


def finish(job) -> None:
    staging.drop_staged(STAGING, job)

