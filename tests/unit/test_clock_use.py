"""Time comes from the injected clock (gateway.clock) in the product's code, so tests and the
simulations move it; the few wall-clock reads left are listed here with their reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WALL_CLOCK = {("time", "time"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
ALLOWED = {
    "gateway/clock.py": "the real clock itself",
    "gateway/store/sql_store.py": "store TTLs run out when Redis's would, on the wall clock",
    "gateway/oidc/dpop.py": "create_proof is the client's side: a device's own clock",
    "providers/jsonl.py": "the development providers' line timestamp, like a log's",
}


def _wall_clock_reads(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in WALL_CLOCK):
            yield node.lineno, f"{node.func.value.id}.{node.func.attr}()"


def test_only_the_listed_modules_read_the_wall_clock():
    readers = {}
    for package in ("gateway", "policies", "providers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found = list(_wall_clock_reads(path))
            if found:
                readers[str(path.relative_to(ROOT))] = found
    assert set(readers) == set(ALLOWED), readers  # and the list holds no stale entry
