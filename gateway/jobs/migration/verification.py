"""`import-verification`: the national population database's results, as the accounts'
``population_verified_at`` (what the linking rules read as "verified", with level 2).

Stage: each line by policies/migration_rows.parse_verification (a 12-digit CCCD, a name, a
birth date, true/false and, when true, the time of the check); parts are cut by the CCCD, so
all lines of one number are decided together.

Merge (one part, one transaction): the part's lines and the accounts holding their numbers
are read with two queries; each number's first line (by line number) is decided here,
against every account holding it:

* no account holds the number → refused ``no_account``;
* none of them has the line's name (policies/linking.names_agree: NFC, case, spaces) and
  birth date → refused ``name_mismatch``, ``birthdate_mismatch`` or
  ``name_and_birthdate_mismatch`` (the population database speaks of another person);
* else every agreeing account gets the result: ``verified_at`` when verified, none when not
  (the latest result stands). A line whose accounts already hold it is unchanged;
* a later line of the same number is refused ``duplicate_id_number``.

The changed flags are written by one batched UPDATE per part (executemany: pipelined on
PostgreSQL). Nothing is inserted: ``inserted`` is always 0.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import bindparam, select, update

from gateway.clock import as_utc
from gateway.extensions import db
from gateway.jobs.migration import staging
from gateway.models import Account, ImportReject, VerificationRow
from policies.linking import names_agree
from policies.migration_rows import VERIFICATION_HEADER, masked_id_number, parse_verification

HEADER = VERIFICATION_HEADER
STAGING = VerificationRow.__table__


def stage_lines(job, lines, *, today: date):
    return staging.stage_lines(
        job, lines, parse=lambda fields: tuple(parse_verification(fields, today=today)),
        key=lambda parsed: parsed[0],
        masks=lambda fields: ("", masked_id_number(fields[0]) if fields else ""))


def copy_rows(rows: list[tuple]) -> None:
    staging.copy_rows(STAGING, rows)


def prepare(job) -> None:
    """Nothing to do between staging and merging."""


def _reject(job, line: int, reason: str, id_number: str, field: str = "id_number") -> dict:
    return {"job_id": job.id, "line": line, "reason": reason, "field": field, "bhxh": "",
            "id_number": masked_id_number(id_number), "refused": True}


def _mismatch(name_differs: bool, date_differs: bool) -> str:
    if name_differs and date_differs:
        return "name_and_birthdate_mismatch"
    return "name_mismatch" if name_differs else "birthdate_mismatch"


def merge_part(job, number: int, *, now, config) -> dict:
    rows = db.session.execute(select(
        VerificationRow.line, VerificationRow.id_number, VerificationRow.full_name,
        VerificationRow.dob, VerificationRow.verified, VerificationRow.verified_at,
    ).where(VerificationRow.job_id == job.id, VerificationRow.part == number)
        .order_by(VerificationRow.line)).all()
    numbers = select(VerificationRow.id_number).where(
        VerificationRow.job_id == job.id, VerificationRow.part == number)
    holders = defaultdict(list)
    for account in db.session.execute(select(
            Account.id, Account.cccd, Account.full_name, Account.dob,
            Account.population_verified_at).where(Account.cccd.in_(numbers))
            .order_by(Account.id)).all():
        holders[account.cccd].append(account)
    seen, rejects, changes = set(), [], []
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for row in rows:
        if row.id_number in seen:
            rejects.append(_reject(job, row.line, "duplicate_id_number", row.id_number))
            continue
        seen.add(row.id_number)
        accounts = holders.get(row.id_number, [])
        agreeing = [a for a in accounts
                    if names_agree(a.full_name, row.full_name) and a.dob == row.dob]
        if not accounts:
            rejects.append(_reject(job, row.line, "no_account", row.id_number))
            continue
        if not agreeing:
            first = accounts[0]
            rejects.append(_reject(job, row.line, _mismatch(
                not names_agree(first.full_name, row.full_name), first.dob != row.dob),
                row.id_number, "full_name"))
            continue
        target = as_utc(row.verified_at) if row.verified else None
        moved = [a.id for a in agreeing if as_utc(a.population_verified_at) != target]
        changes += [{"account": account_id, "at": target} for account_id in moved]
        counts["updated" if moved else "unchanged"] += 1
    if changes:
        db.session.execute(update(Account.__table__).where(
            Account.__table__.c.id == bindparam("account")).values(
            population_verified_at=bindparam("at")), changes)
    if rejects:
        db.session.execute(ImportReject.__table__.insert(), rejects)
    counts["rejected"] = len(rejects)
    return counts


def finish(job) -> None:
    staging.drop_staged(STAGING, job)
