"""A JSON-lines file that several threads and processes append to: the development
providers' "sent" messages (SMS and e-mail), read back by development tooling and tests.

flock, not a lock file: it is released by the kernel if the process dies, and each open() has
its own lock, so threads of one process exclude each other as well as other processes do.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path


def append(path: Path, record: dict) -> None:
    """Appends ``record`` with ``at``: when the line was written, a log's wall-clock time (the
    outside world's, like a real gateway's receipt), not the gateway's injected clock.
    OSError when the file cannot be written (the providers make it a DeliveryError)."""
    line = json.dumps({**record, "at": datetime.now(UTC).isoformat(timespec="milliseconds")},
                      ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read(path: Path) -> list[dict]:
    """Everything appended so far, oldest first."""
    try:
        with path.open(encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
