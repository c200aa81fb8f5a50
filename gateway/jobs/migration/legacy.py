"""`import-legacy`: the old system's accounts, staged by chunk and merged by part.

Stage (one chunk, any worker): each line is read by policies/migration_rows.parse_legacy
(a clean line by its fast path, parse_legacy_clean, which gives the same record); a valid
record becomes a row of ``legacy_rows`` with its part (CRC-32 of the social-insurance
number, modulo the job's parts) and a fresh random ``sub``; a refused one an ``import_rejects``
row (line, reason, column, masked identifiers).

Merge (one part, any worker, one transaction, all set-based SQL):

1. every line but the first of a social-insurance number seen more than once in the file is
   refused ``duplicate_bhxh`` (the first line wins, whatever order the chunks were staged in);
2. a first line whose number belongs to an account made in the gateway (not imported) is
   refused ``account_exists``: an export never overwrites it;
3. the rest is counted against the accounts as they are — no account: inserted; an imported
   account with other values: updated; the same values: unchanged —
4. and written by one ``INSERT … SELECT … ON CONFLICT (bhxh) DO UPDATE … WHERE`` (the WHERE
   keeps unchanged and gateway-made accounts untouched).

An update replaces the profile (name, date of birth, sex, ID numbers, phone, e-mail, status,
creation time) and the password hash only while it is still the legacy one: once the person
has signed in here (re-hashed to Argon2id) the password is the gateway's.

Imported accounts are level 1 (the export carries no evidence of how each was verified; the
population-database flag is what the linking rules read) and must change their password at
the first sign-in when MIGRATION_FORCE_PASSWORD_CHANGE is on (the default, BHXH's policy).

Finish (once, after every part): a line whose CCCD is also on another account is reported
``shared_id_number`` (imported all the same: a CCCD is a matching key, and the linking rules
send such candidates to review), and the staged rows are deleted.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date

from sqlalchemy import Boolean, DateTime, bindparam, text

from gateway.extensions import db
from gateway.jobs.migration import staging
from gateway.models import LegacyRow
from policies.migration_rows import (
    LEGACY_HEADER,
    MobileNumbers,
    masked_bhxh,
    masked_id_number,
    parse_legacy,
    parse_legacy_clean,
)

HEADER = LEGACY_HEADER
STAGING = LegacyRow.__table__
PROFILE = ("full_name", "dob", "sex", "cccd", "old_id_number", "phone", "email", "status",
           "created_at")
_NULLABLE = {"sex", "cccd", "old_id_number", "email"}
_phones = MobileNumbers()  # per process: its memory is a few thousand entries


SUB_BYTES = 24  # as gateway.models.account.new_subject: 32 URL-safe characters


def _masks(fields: list[str]) -> tuple[str, str]:
    return (masked_bhxh(fields[0]) if fields else "",
            masked_id_number(fields[4]) if len(fields) > 4 else "")


def stage_lines(job, lines, *, today: date) -> tuple[list[tuple], list[dict], int]:
    """(staging rows, rejects, data lines) of one chunk's lines. Each row gets a fresh random
    ``sub``, cut from one read of the system's CSPRNG per chunk (a read per row cost more
    than the rest of the row's checks on a busy virtual machine)."""
    rows, rejects, count = staging.stage_lines(
        job, lines, parse=lambda fields: tuple(parse_legacy(fields, today=today,
                                                            phones=_phones)),
        key=lambda parsed: parsed[0], masks=_masks,
        clean=lambda line: parse_legacy_clean(line, today=today, phones=_phones))
    pool = secrets.token_bytes(SUB_BYTES * len(rows))
    return [(job_id, part, line, _subject(pool, index), *account)
            for index, (job_id, part, line, *account) in enumerate(rows)], rejects, count


def _subject(pool: bytes, index: int) -> str:
    start = index * SUB_BYTES
    return base64.urlsafe_b64encode(pool[start:start + SUB_BYTES]).decode()


def _copy_line(row: tuple) -> str:
    """One staged row in COPY's text format, for the parser's known types: no field can hold
    a tab or a line break; name, e-mail and hash may hold a backslash."""
    (job, part, line, sub, bhxh, name, dob, sex, cccd, old_id, phone, email, password_hash,
     created_at, status) = row
    return (f"{job}\t{part}\t{line}\t{sub}\t{bhxh}\t{name.replace(_BS, _BS2)}\t"
            f"{dob.isoformat()}\t{sex or _NULL}\t{cccd or _NULL}\t{old_id or _NULL}\t{phone}\t"
            f"{email.replace(_BS, _BS2) if email else _NULL}\t"
            f"{password_hash.replace(_BS, _BS2)}\t{created_at.isoformat()}\t{status}\n")


_BS, _BS2, _NULL = "\\", "\\\\", "\\N"


def copy_rows(rows: list[tuple]) -> None:
    staging.copy_rows(STAGING, rows, _copy_line)


def _differs(old: str, new: str, dialect: str) -> str:
    """SQL: the staged row ``new`` would change the account ``old``."""
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    tests = [f"{old}.{c} {distinct} {new}.{c}" if c in _NULLABLE else f"{old}.{c} <> {new}.{c}"
             for c in PROFILE]
    tests.append(f"({old}.password_hash NOT LIKE '$argon2%' "
                 f"AND {old}.password_hash <> {new}.password_hash)")
    return "(" + " OR ".join(tests) + ")"


_MASK_BHXH = "'******' || substr({t}.bhxh, 7, 4)"
_MASK_ID = ("CASE WHEN {t}.cccd IS NOT NULL THEN '********' || substr({t}.cccd, 9, 4) "
            "WHEN {t}.old_id_number IS NOT NULL THEN '*****' || substr({t}.old_id_number, 6, 4) "
            "ELSE '' END")
_RANKED = ("SELECT r.*, row_number() OVER (PARTITION BY r.bhxh ORDER BY r.line) AS n "
           "FROM legacy_rows r WHERE r.job_id = :job AND r.part = :part")
# Every SQL text of this module is built from the constants above and column names of the
# staging model, never from data: the values travel as bound parameters (hence the S608 noqa).


def _reject_sql(select: str, reason: str, field: str, t: str) -> str:
    return ("INSERT INTO import_rejects (job_id, line, reason, field, bhxh, id_number, refused) "
            f"SELECT {t}.job_id, {t}.line, '{reason}', '{field}', {_MASK_BHXH.format(t=t)}, "
            f"{_MASK_ID.format(t=t)}, :refused {select}")


def prepare(job) -> None:
    """Nothing to do between staging and merging: a number's lines share a part."""


def merge_part(job, number: int, *, now, config) -> dict:
    """Merge one part's staged rows into the accounts (the caller holds the part's row lock
    and commits). Returns its counts.

    The part is read and ranked once, into a temporary table (no WAL, dropped before the
    commit); the statements below read that."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    params = {"job": job.id, "part": number}
    flag = bindparam("refused", True, type_=Boolean)
    temporary = "pg_temp" if dialect == "postgresql" else "temp"
    if dialect != "postgresql":
        # SQLite may run DDL outside the transaction: a table left by a failed merge on this
        # pooled connection must not stop the next one.
        connection.execute(text("DROP TABLE IF EXISTS temp.ranked"))
    connection.execute(text(f"CREATE TEMPORARY TABLE ranked AS {_RANKED}"), params)
    duplicates = connection.execute(text(_reject_sql(
        "FROM ranked d WHERE d.n > 1", "duplicate_bhxh", "bhxh_number", "d",
    )).bindparams(flag)).rowcount
    existing = connection.execute(text(_reject_sql(
        "FROM ranked f JOIN accounts a ON a.bhxh = f.bhxh WHERE f.n = 1 "
        "AND a.imported_at IS NULL", "account_exists", "bhxh_number", "f",
    )).bindparams(flag)).rowcount
    firsts = connection.execute(text("SELECT count(*) FROM ranked WHERE n = 1")).scalar()
    if dialect != "postgresql":
        # Counted before the write; PostgreSQL's RETURNING below says it in the same pass.
        changed = _differs("a", "f", dialect)
        counted = connection.execute(text(
            "SELECT coalesce(sum(CASE WHEN a.id IS NULL THEN 1 ELSE 0 END), 0), "  # noqa: S608
            f"coalesce(sum(CASE WHEN a.imported_at IS NOT NULL AND {changed} THEN 1 ELSE 0"
            " END), 0) FROM ranked f LEFT JOIN accounts a ON a.bhxh = f.bhxh WHERE f.n = 1")
        ).one()
    assignments = ", ".join(f"{c} = excluded.{c}" for c in PROFILE)
    written = connection.execute(text(
        "INSERT INTO accounts (sub, bhxh, full_name, dob, sex, cccd, old_id_number, phone, "  # noqa: S608
        "email, status, level, password_hash, password_changed_at, must_change_password, "
        "created_at, imported_at) "
        "SELECT f.sub, f.bhxh, f.full_name, f.dob, f.sex, f.cccd, f.old_id_number, f.phone, "
        "f.email, f.status, 1, f.password_hash, :now, :force, f.created_at, :now "
        "FROM ranked f WHERE f.n = 1 "
        f"ON CONFLICT (bhxh) DO UPDATE SET {assignments}, password_hash = CASE "
        "WHEN accounts.password_hash LIKE '$argon2%' THEN accounts.password_hash "
        "ELSE excluded.password_hash END "
        "WHERE accounts.imported_at IS NOT NULL AND "
        + _differs("accounts", "excluded", dialect)
        # xmax is 0 on a row this statement inserted, the updater's id on one it updated.
        + (" RETURNING (xmax = 0)" if dialect == "postgresql" else "")
    ).bindparams(bindparam("now", type_=DateTime(timezone=True)),
                 bindparam("force", type_=Boolean)),
        {"now": now, "force": config["MIGRATION_FORCE_PASSWORD_CHANGE"]})
    if dialect == "postgresql":
        outcomes = written.scalars().all()
        inserted, updated = sum(outcomes), len(outcomes) - sum(outcomes)
    else:
        inserted, updated = counted
    unchanged = firsts - existing - inserted - updated
    connection.execute(text(f"DROP TABLE {temporary}.ranked"))
    return {"inserted": int(inserted), "updated": int(updated), "unchanged": int(unchanged),
            "rejected": duplicates + existing}


def finish(job) -> None:
    """Report the job's imported lines whose CCCD is on more than one account; drop the
    staged rows (personal data in clear) — in the caller's transaction."""
    connection = db.session.connection()
    connection.execute(text(_reject_sql(
        "FROM legacy_rows r WHERE r.job_id = :job AND r.cccd IN ("
        "  SELECT a.cccd FROM accounts a WHERE a.cccd IN ("
        "    SELECT s.cccd FROM legacy_rows s WHERE s.job_id = :job AND s.cccd IS NOT NULL)"
        "  GROUP BY a.cccd HAVING count(*) > 1) "
        "AND NOT EXISTS (SELECT 1 FROM import_rejects x WHERE x.job_id = :job "
        "AND x.line = r.line)",
        "shared_id_number", "id_number", "r",
    )).bindparams(bindparam("refused", False, type_=Boolean)), {"job": job.id})
    staging.drop_staged(STAGING, job)
