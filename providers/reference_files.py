"""The small CSV reference files behind some providers (the insurance register, the health
cards), read whole and checked once, at start.

A typo in an extract must never become a wrong answer at sign-in or at a hospital counter, so
a file is taken whole or not at all: every bad line is named ("line N: problem", the first
fifty), the header must be exactly the documented one (a BOM tolerated), the file must be
UTF-8 CSV, blank lines are skipped. Each provider says how a row becomes a record and what
makes a record clash with those already kept (a number twice); this module owns the reading
and the reporting, so both files fail the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TypeVar

MAX_ERRORS = 50  # a broken file is answered with its first fifty problems, not a million

Record = TypeVar("Record")


class ReferenceFileError(ValueError):
    """The file cannot be used; ``errors`` lists "line N: problem" for each."""

    def __init__(self, path: str, errors: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(errors))
        self.errors = errors


def load(path: str, header: list[str],
         parse: Callable[[list[str]], tuple[Record | None, str | None]],
         keep: Callable[[Record], str | None],
         error: type[ReferenceFileError] = ReferenceFileError) -> None:
    """Read ``path``: ``parse`` turns a row into a record or a problem; ``keep`` stores a
    record, or returns the problem that stops it (a clash) without storing it. Raises
    ``error`` naming every bad line, or the header, encoding or CSV problem."""
    errors: list[str] = []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            first = next(reader, None)
            if [h.strip().lstrip("\ufeff") for h in first or []] != header:
                raise error(path, [f"line 1: the header must be {','.join(header)}"])
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                record, problem = parse(row)
                if problem is None:
                    problem = keep(record)
                if problem is not None:
                    errors.append(f"line {reader.line_num}: {problem}")
                    if len(errors) >= MAX_ERRORS:
                        break
    except UnicodeDecodeError:
        raise error(path, ["the file is not UTF-8"]) from None
    except csv.Error as exc:
        raise error(path, [f"not a CSV file ({exc})"]) from None
    if errors:
        raise error(path, errors)
