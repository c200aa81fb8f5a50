"""The files the migration jobs read: planned once into chunks, each read back by any worker.

Planning (the operator's command, once per job) streams the file once, in 4 MiB blocks, so its
memory does not grow with the file: the SHA-256 of the whole file (which finds the job again
on a re-run), the header line, the number of data lines, and every ``chunk_rows`` lines a
chunk boundary — a byte offset at the start of a line — with the SHA-256 of the chunk's bytes.

Workers read their chunk by those offsets from the same path. So **the file must be on
storage every worker host sees at that path** (the host running the command and any other
running ``flask --app wsgi worker``): a shared or network file system, or a copy at the same
path on each host. A worker checks the chunk's SHA-256 before using a byte of it, so a
different or changed file at that path stops the chunk (``file_changed``) instead of
importing something else. Chosen over copying every line into PostgreSQL first: that copy
alone costs as much as the plain ``COPY`` the import is measured against, and the chunk's
checksum already gives what the copy would (the bytes the plan saw).

A record is one physical line (the old system's export never quotes a line break). A UTF-8
BOM before the header is skipped; CRLF and LF line ends are both read; a last line without
its line end is read too, and said to be unterminated (a record that then fails is reported
``truncated_line``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from gateway.errors import ValidationError

BLOCK = 4 * 1024 * 1024
PIECE = 64 * 1024
BOM = b"\xef\xbb\xbf"
MAX_HEADER = 4096


class MigrationFileError(ValidationError):
    """A file a migration job cannot use: ``unreadable``, ``bad_header``, ``bad_encoding``
    (of the header), ``empty_file``, or ``file_changed`` (a worker found other bytes than
    the plan)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, field="file", detail=detail)


@dataclass(frozen=True)
class ChunkPlan:
    number: int
    start: int
    end: int
    first_line: int  # the 1-based line number of the chunk's first line
    sha256: str


@dataclass
class FilePlan:
    path: str
    size: int = 0
    sha256: str = ""
    lines: int = 0  # data lines, the header excluded (a last unterminated line counts)
    chunks: list[ChunkPlan] = field(default_factory=list)


def plan_file(path: str, header: tuple[str, ...], chunk_rows: int) -> FilePlan:
    """Read ``path`` once; MigrationFileError if its first line is not ``header``."""
    plan = FilePlan(path=path)
    whole = hashlib.sha256()
    try:
        handle = open(path, "rb")  # noqa: SIM115 — closed by the with below
    except OSError as exc:
        raise MigrationFileError("unreadable", exc.strerror or str(exc)) from None
    with handle:
        head = handle.read(MAX_HEADER)
        if not head:
            raise MigrationFileError("empty_file", "no header line")
        end_of_header = head.find(b"\n")
        if end_of_header < 0 and len(head) == MAX_HEADER:
            raise MigrationFileError("bad_header", "no line end in the first 4096 bytes")
        check_header(head[: end_of_header if end_of_header >= 0 else len(head)], header)
        data_start = end_of_header + 1 if end_of_header >= 0 else len(head)
        handle.seek(0)
        position = 0  # the file offset of the block's first byte
        chunk_start, first_line, rows, line_no = data_start, 2, 0, 1
        chunk_hash = hashlib.sha256()
        last_byte = b""
        while block := handle.read(BLOCK):
            whole.update(block)
            cursor = hashed = max(0, data_start - position)
            # Line ends are counted at C speed, a piece of the block at a time; they are
            # looked for one by one only in the piece where the next boundary falls.
            while cursor < len(block):
                piece_end = min(cursor + PIECE, len(block))
                ahead = block.count(b"\n", cursor, piece_end)
                if rows + ahead < chunk_rows:
                    line_no += ahead
                    rows += ahead
                    cursor = piece_end
                    continue
                for _ in range(chunk_rows - rows):
                    cursor = block.index(b"\n", cursor) + 1
                line_no += chunk_rows - rows
                rows = chunk_rows
                chunk_hash.update(block[hashed:cursor])
                hashed = cursor
                plan.chunks.append(ChunkPlan(len(plan.chunks), chunk_start,
                                             position + cursor, first_line,
                                             chunk_hash.hexdigest()))
                chunk_hash = hashlib.sha256()
                chunk_start, first_line, rows = position + cursor, line_no + 1, 0
            chunk_hash.update(block[hashed:])
            position += len(block)
            last_byte = block[-1:]
        unterminated = position > data_start and last_byte != b"\n"
        if position > chunk_start:
            plan.chunks.append(ChunkPlan(len(plan.chunks), chunk_start, position, first_line,
                                         chunk_hash.hexdigest()))
    plan.size = position
    plan.sha256 = whole.hexdigest()
    plan.lines = line_no - 1 + (1 if unterminated else 0)
    return plan


def check_header(first: bytes, header: tuple[str, ...]) -> None:
    if first.startswith(BOM):
        first = first[len(BOM):]
    try:
        text = first.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise MigrationFileError("bad_encoding", "the header is not UTF-8") from None
    if [name.strip() for name in text.split(",")] != list(header):
        raise MigrationFileError("bad_header", "expected " + ",".join(header))


def read_chunk(path: str, chunk: ChunkPlan | object) -> Iterator[tuple[int, str | None, bool]]:
    """(line number, text without its line end or None when not UTF-8, terminated) for each
    line of the chunk, after checking its bytes are the plan's."""
    try:
        with open(path, "rb") as handle:
            handle.seek(chunk.start)
            data = handle.read(chunk.end - chunk.start)
    except OSError as exc:
        raise MigrationFileError("unreadable", exc.strerror or str(exc)) from None
    if len(data) != chunk.end - chunk.start or hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise MigrationFileError("file_changed", f"chunk {chunk.number} differs from the plan")
    lines = data.split(b"\n")
    last_terminated = data.endswith(b"\n")
    if last_terminated:
        lines.pop()
    for index, raw in enumerate(lines):
        terminated = last_terminated or index < len(lines) - 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        yield chunk.first_line + index, text, terminated
