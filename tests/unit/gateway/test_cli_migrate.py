"""The migration commands' progress display: a tqdm bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from gateway.cli.migrate import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _statuses():
    yield {"state": "staging", "lines": 1000, "rows_staged": 0, "parts": 4, "parts_merged": 0}
    yield {"state": "staging", "lines": 1000, "rows_staged": 500, "parts": 4, "parts_merged": 0}
    yield {"state": "staging", "lines": 1000, "rows_staged": 1000, "parts": 4, "parts_merged": 0}
    yield {"state": "merging", "lines": 1000, "rows_staged": 1000, "parts": 4, "parts_merged": 2}
    yield {"state": "merging", "lines": 1000, "rows_staged": 1000, "parts": 4, "parts_merged": 4}


def test_a_bar_with_rate_on_a_terminal():
    stream = Terminal()
    progress = Progress("legacy a.csv", stream)
    for status in _statuses():
        progress(status)
    progress.close()
    shown = stream.getvalue()
    assert "legacy a.csv: staging" in shown and "1.00k/1.00k" in shown
    assert "rows/s" in shown and "legacy a.csv: merging" in shown and "4/4" in shown


def test_plain_lines_elsewhere():
    stream = io.StringIO()
    progress = Progress("legacy a.csv", stream)
    for status in _statuses():
        progress(status)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("legacy a.csv: staging 0/1000 rows (0.0%)")
    assert "legacy a.csv: staging 1000/1000 rows (100.0%)" in lines[-3]
    assert lines[-1].startswith("legacy a.csv: merging 4/4 parts (100.0%)")
    assert "\r" not in stream.getvalue()  # no bar drawing in a log file
