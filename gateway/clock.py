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

    def sleep(self, seconds: float) -> None:
        """Waiting goes through the clock too, so a test's clock can wait without sleeping."""
        if seconds > 0:
            time.sleep(seconds)


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

    def sleep(self, seconds: float) -> None:
        """Time passes for whoever waits on a fixed clock: it moves on, nobody sleeps."""
        if seconds > 0:
            self.advance(seconds=seconds)


def clock() -> Clock:
    return current_app.extensions["clock"]


def utcnow() -> datetime:
    return clock().now()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC, so mark it as such."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
