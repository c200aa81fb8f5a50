"""Time comes from here, so tests can move it (day 179 vs 181) without patching datetime."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import current_app


class Clock:
    """Wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> int:
        return int(time.time())


class FixedClock(Clock):
    """A clock the tests set and advance."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> int:
        return int(self._now.timestamp())

    def advance(self, **delta) -> None:
        self._now += timedelta(**delta)


def clock() -> Clock:
    return current_app.extensions["clock"]


def utcnow() -> datetime:
    return clock().now()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC, so mark it as such."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
