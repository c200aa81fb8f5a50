"""What every kind of migration job does with a chunk's lines: split, parse, stage.

A kind gives its parser (policies/migration_rows.py), the key its parts are cut by, how a
refused line's identifiers are masked for the report, and its staging table. Lines are one
record each (gateway/jobs/migration/files.py); blank lines hold no record; a last line
without its line end that fails is reported ``truncated_line``, whatever failed in it.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable, Iterable
from operator import itemgetter

from sqlalchemy import text

from gateway.extensions import db
from policies.migration_rows import RowRejected


def part_of(key: str | None, parts: int) -> int:
    return zlib.crc32((key or "").encode()) % parts


def split_fields(line: str) -> list[str]:
    """The CSV fields of one line (csv.Error for a broken quote). Most lines hold no quote
    at all, and a plain split is exact for them and many times faster."""
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line], strict=True))


def stage_lines(job, lines: Iterable[tuple[int, str | None, bool]], *,
                parse: Callable[[list[str]], tuple], key: Callable[[tuple], str | None],
                masks: Callable[[list[str]], tuple[str, str]],
                clean: Callable[[str], tuple | None] | None = None,
                ) -> tuple[list[tuple], list[dict], int]:
    """(staging rows ``(job_id, part, line, *parsed)``, rejects, data lines) of a chunk.
    The rows come grouped by part (by line within one), so a chunk's rows of one part are
    written side by side: a part's merge then reads a few runs of pages, where in line order
    each of its rows sat on a page of its own among every other part's rows (at 1,000,000
    rows, each part read almost the whole staging table, twice).

    ``clean``, when the kind has one, is its fast path: the record of a clean line as
    ``parse`` would give it, or None for any line it is not sure of (those go to ``parse``)."""
    rows, rejects, count = [], [], 0
    job_id, parts, crc32 = job.id, job.parts, zlib.crc32
    for line_no, line, terminated in lines:
        if clean is not None and line and (parsed := clean(line)) is not None:
            count += 1
            rows.append((job_id, crc32((key(parsed) or "").encode()) % parts, line_no,
                         *parsed))
            continue
        if line is not None and not line.strip():
            continue
        count += 1
        fields: list[str] = []
        try:
            if line is None:
                raise RowRejected("bad_encoding")
            try:
                fields = split_fields(line)
            except csv.Error:
                raise RowRejected("bad_quoting") from None
            parsed = parse(fields)
        except RowRejected as exc:
            bhxh, id_number = masks(fields)
            rejects.append({"job_id": job.id, "line": line_no,
                            "reason": exc.reason if terminated else "truncated_line",
                            "field": exc.field if terminated else "", "bhxh": bhxh,
                            "id_number": id_number, "refused": True})
            continue
        rows.append((job.id, part_of(key(parsed), job.parts), line_no, *parsed))
    rows.sort(key=itemgetter(1))  # stable: by line within a part
    return rows, rejects, count


def _copy_text(value) -> str:
    """One field of PostgreSQL's COPY text format. The values are the parsers': no tab, line
    break or control character survives them, so only the backslash needs escaping."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def copy_line(row: tuple) -> str:
    return "\t".join(map(_copy_text, row)) + "\n"


def copy_rows(table, rows: list[tuple], line: Callable[[tuple], str] = copy_line) -> None:
    """Write staged rows (in ``table``'s column order) in the session's transaction: one COPY
    in text format (built here, by ``line`` — a kind may give a faster one for its known
    types — several times faster than adapting each value) on PostgreSQL, a batched INSERT
    elsewhere."""
    if not rows:
        return
    columns = [column.name for column in table.columns]
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        data = "".join(map(line, rows))
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data.encode())
    else:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True))
                                            for row in rows])


_REJECT_COLUMNS = (("job_id", "integer"), ("line", "bigint"), ("reason", "text"),
                   ("field", "text"), ("bhxh", "text"), ("id_number", "text"),
                   ("refused", "boolean"))


def insert_rejects(rejects: list[dict], insert) -> None:
    """Write a chunk's refused lines, keeping those already there (a chunk staged again after
    a crash refuses the same lines; those rows are logged, they survived). On PostgreSQL one
    statement over arrays, a column each: a row per parameter set cost 7 % of staging's
    Python time (2,500 rejects a chunk at 5 % dirty). ``insert``: the dialect's
    ``insert(ImportReject)``, for the others."""
    if not rejects:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert.on_conflict_do_nothing(), rejects)
        return
    names = ", ".join(name for name, _ in _REJECT_COLUMNS)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _REJECT_COLUMNS)
    db.session.execute(text(
        f"INSERT INTO import_rejects ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        "ON CONFLICT DO NOTHING"),
        {name: [reject[name] for reject in rejects] for name, _ in _REJECT_COLUMNS})


def drop_staged(table, job) -> None:
    """Delete the job's staged rows, in the caller's transaction. On PostgreSQL, when no
    other unfinished job of the kind has rows staged, ``TRUNCATE`` (instant, where a DELETE
    of 35 million rows takes minutes and leaves them to vacuum): the ACCESS EXCLUSIVE lock is
    taken first, so no other job can stage a row between the look and the truncation."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"LOCK TABLE {table.name} IN ACCESS EXCLUSIVE MODE"))
        others = connection.execute(text(
            "SELECT 1 FROM import_chunks c JOIN import_jobs j ON j.id = c.job_id "
            "WHERE j.kind = :kind AND j.id <> :job AND j.state <> 'done' "
            "AND c.state = 'staged' LIMIT 1"), {"kind": job.kind, "job": job.id}).first()
        if others is None:
            connection.execute(text(f"TRUNCATE {table.name}"))
            return
    connection.execute(table.delete().where(table.c.job_id == job.id))
