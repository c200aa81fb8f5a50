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

from sqlalchemy import text

from gateway.extensions import db
from gateway.jobs.migration import legacy_merge, staging
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
    # 24 bytes are 32 Base64 characters with no padding: the pool encoded at once and cut
    # every 32 characters gives each row what encoding its own 24 bytes would.
    subs = base64.urlsafe_b64encode(secrets.token_bytes(SUB_BYTES * len(rows))).decode()
    return [(job_id, part, line, subs[_SUB_CHARS * index:_SUB_CHARS * (index + 1)], *account)
            for index, (job_id, part, line, *account) in enumerate(rows)], rejects, count


_SUB_CHARS = SUB_BYTES * 4 // 3


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


def prepare(job) -> None:
    """Nothing to do between staging and merging: a number's lines share a part."""


merge_part = legacy_merge.merge_part


def finish(job) -> None:
    """Report the job's imported lines whose CCCD is on more than one account; drop the
    staged rows (personal data in clear) — in the caller's transaction.

    On PostgreSQL the staged rows' statistics are taken first (a sample of two columns, a
    fifth of a second whatever the size): without them the planner takes the job's rows for
    a few hundred and probes the CCCD index once per row (5.8 s of the database's CPU at
    1,000,000 rows, against 2 s hashing them); JIT compilation is off for the statement, where it
    cost more than it saved."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("ANALYZE legacy_rows (job_id, cccd)"))
        connection.execute(text("SET LOCAL jit = off"))
    connection.execute(legacy_merge.typed(legacy_merge.reject_sql(
        "FROM legacy_rows r WHERE r.job_id = :job AND r.cccd IN ("
        "  SELECT a.cccd FROM accounts a WHERE a.cccd IN ("
        "    SELECT s.cccd FROM legacy_rows s WHERE s.job_id = :job AND s.cccd IS NOT NULL)"
        "  GROUP BY a.cccd HAVING count(*) > 1) "
        "AND NOT EXISTS (SELECT 1 FROM import_rejects x WHERE x.job_id = :job "
        "AND x.line = r.line)",
        "'shared_id_number'", "id_number", "r",
    ), refused=False), {"job": job.id})
    staging.drop_staged(STAGING, job)
