"""`import-legacy`'s merge of one part into the accounts (the rules: legacy.py's docstring).

On PostgreSQL, one statement (data-modifying CTEs, one snapshot): the part's staged rows are
read once with, for each, whether an earlier line has its social-insurance number (a hash
aggregate of the few repeated numbers, no sort of the rows) and the account holding it (one
probe of the unique index); from that one pass the refused lines go to the report, the new
accounts are written by a plain ``INSERT``, the changed imported ones by an ``UPDATE``, and
the counts come back. What it saves over the portable path below (measured on 1,000,000
rows, CPU of the database): the ranked temporary table (its sort of whole rows spilled to
disk, 6.6 s), a second probe of the index per row (the reject join, then ``ON CONFLICT``'s
own), and the speculative insertion of ``ON CONFLICT`` (an extra WAL record per row).

A plain ``INSERT`` fails where ``ON CONFLICT`` would not: when an account with one of the
numbers is committed by someone else after the statement's snapshot (a sign-up, another
import). Then the statement is rolled back to its savepoint and the part is merged by the
portable path, which decides every row against the accounts as they are by then — the same
end as if the fast path had not been tried.

The portable path (SQLite, and that fallback): a ranked temporary table of the part, the
rejects, then one ``INSERT … ON CONFLICT (bhxh) DO UPDATE … WHERE``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, DateTime, bindparam, text
from sqlalchemy.exc import IntegrityError

from gateway.extensions import db

PROFILE = ("full_name", "dob", "sex", "cccd", "old_id_number", "phone", "email", "status",
           "created_at")
_NULLABLE = {"sex", "cccd", "old_id_number", "email"}
_ACCOUNT_COLUMNS = ("sub, bhxh, full_name, dob, sex, cccd, old_id_number, phone, email, "
                    "status, level, password_hash, password_changed_at, must_change_password, "
                    "created_at, imported_at")
_UNIQUE_BHXH = "uq_accounts_bhxh"
# The part's hash aggregate and the materialized rows stay in memory (4 MB by default: a
# part of 50,000 rows spilled both to temporary files). For this transaction only.
WORK_MEM = "64MB"


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


def reject_sql(select: str, reason: str, field: str, t: str) -> str:
    return ("INSERT INTO import_rejects (job_id, line, reason, field, bhxh, id_number, refused) "
            f"SELECT {t}.job_id, {t}.line, {reason}, '{field}', {_MASK_BHXH.format(t=t)}, "
            f"{_MASK_ID.format(t=t)}, :refused {select}")


def _quoted(reason: str) -> str:
    return f"'{reason}'"


_ONE_PASS = (
    # The numbers seen on more than one line of the part, with their first line.
    "WITH repeated AS MATERIALIZED (SELECT bhxh, min(line) AS first FROM legacy_rows "  # noqa: S608
    "  WHERE job_id = :job AND part = :part GROUP BY bhxh HAVING count(*) > 1), "
    # A line is a repeat when its number is repeated and it is not that number's first line
    # (line numbers are unique in a job): two hashed look-ups in that small set, whatever the
    # planner estimates of the staged rows (a join there became a nested loop over it).
    "staged AS MATERIALIZED (SELECT r.*, (r.bhxh IN (SELECT bhxh FROM repeated) "
    "  AND r.line NOT IN (SELECT first FROM repeated)) AS repeat, "
    "  a.id AS account, a.id IS NOT NULL AND a.imported_at IS NULL AS made_here "
    "  FROM legacy_rows r LEFT JOIN accounts a ON a.bhxh = r.bhxh "
    "  WHERE r.job_id = :job AND r.part = :part), "
    "refused AS (" + reject_sql(
        "FROM staged s WHERE s.repeat OR s.made_here RETURNING reason",
        "CASE WHEN s.repeat THEN 'duplicate_bhxh' ELSE 'account_exists' END", "bhxh_number",
        "s") + "), "  # noqa: S608
    f"inserted AS (INSERT INTO accounts ({_ACCOUNT_COLUMNS}) "
    "  SELECT s.sub, s.bhxh, s.full_name, s.dob, s.sex, s.cccd, s.old_id_number, s.phone, "
    "  s.email, s.status, 1, s.password_hash, :now, :force, s.created_at, :now "
    "  FROM staged s WHERE s.account IS NULL AND NOT s.repeat RETURNING 1), "
    "updated AS (UPDATE accounts a SET "
    + ", ".join(f"{c} = s.{c}" for c in PROFILE)
    + ", password_hash = CASE WHEN a.password_hash LIKE '$argon2%' THEN a.password_hash "
    "  ELSE s.password_hash END FROM staged s WHERE s.account IS NOT NULL AND a.id = s.account "
    "  AND NOT s.repeat "
    "  AND NOT s.made_here AND a.imported_at IS NOT NULL AND " + _differs("a", "s", "postgresql")
    + " RETURNING 1) "
    "SELECT (SELECT count(*) FROM staged WHERE NOT repeat), "
    "(SELECT count(*) FROM refused WHERE reason = 'duplicate_bhxh'), "
    "(SELECT count(*) FROM refused WHERE reason = 'account_exists'), "
    "(SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)")


def merge_part(job, number: int, *, now, config) -> dict:
    """Merge one part's staged rows into the accounts (the caller holds the part's row lock
    and commits). Returns its counts."""
    connection = db.session.connection()
    params = {"job": job.id, "part": number, "now": now,
              "force": config["MIGRATION_FORCE_PASSWORD_CHANGE"]}
    if connection.dialect.name == "postgresql":
        counts = _merge_in_one_pass(connection, params)
        if counts is not None:
            return counts
    return _merge_portable(connection, params)


_TYPES = {"now": DateTime(timezone=True), "force": Boolean(), "refused": Boolean()}


def typed(sql: str, refused: bool = True):
    """The statement with its parameters' types (those it has); ``:refused`` bound."""
    return text(sql).bindparams(*(
        bindparam(name, refused, type_=kind) if name == "refused" else bindparam(name, type_=kind)
        for name, kind in _TYPES.items() if f":{name}" in sql))


def _merge_in_one_pass(connection, params: dict) -> dict | None:
    """PostgreSQL: the part in one statement; None if an account with one of its numbers
    was committed meanwhile (everything the statement did is then undone)."""
    connection.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    try:
        # Through the session: its savepoint is emitted on first use inside the block.
        with db.session.begin_nested():
            firsts, duplicates, existing, inserted, updated = db.session.execute(
                typed(_ONE_PASS), params).one()
    except IntegrityError as exc:
        if getattr(exc.orig.diag, "constraint_name", None) != _UNIQUE_BHXH:
            raise
        return None
    return {"inserted": inserted, "updated": updated,
            "unchanged": firsts - existing - inserted - updated,
            "rejected": duplicates + existing}


def _merge_portable(connection, params: dict) -> dict:
    """The part through a ranked temporary table and ``INSERT … ON CONFLICT``: SQLite, and
    PostgreSQL when the one pass met an account committed meanwhile."""
    dialect = connection.dialect.name
    temporary = "pg_temp" if dialect == "postgresql" else "temp"
    if dialect != "postgresql":
        # SQLite may run DDL outside the transaction: a table left by a failed merge on this
        # pooled connection must not stop the next one.
        connection.execute(text("DROP TABLE IF EXISTS temp.ranked"))
    connection.execute(text(f"CREATE TEMPORARY TABLE ranked AS {_RANKED}"), params)
    duplicates = connection.execute(typed(reject_sql(
        "FROM ranked d WHERE d.n > 1", _quoted("duplicate_bhxh"), "bhxh_number", "d",
    )), params).rowcount
    existing = connection.execute(typed(reject_sql(
        "FROM ranked f JOIN accounts a ON a.bhxh = f.bhxh WHERE f.n = 1 "
        "AND a.imported_at IS NULL", _quoted("account_exists"), "bhxh_number", "f",
    )), params).rowcount
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
    written = connection.execute(typed(
        f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) "  # noqa: S608
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
    ), params)
    if dialect == "postgresql":
        outcomes = written.scalars().all()
        inserted, updated = sum(outcomes), len(outcomes) - sum(outcomes)
    else:
        inserted, updated = counted
    unchanged = firsts - existing - inserted - updated
    connection.execute(text(f"DROP TABLE {temporary}.ranked"))
    return {"inserted": int(inserted), "updated": int(updated), "unchanged": int(unchanged),
            "rejected": duplicates + existing}
