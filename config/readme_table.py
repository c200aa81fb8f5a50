"""Prints the README's table of every setting, from config/defaults.py (default + comment).

`python -m config.readme_table` prints it; tests/unit/test_docs.py checks the README's copy
is current, so the README never lists a setting the code lacks or misses one it has.
"""

from __future__ import annotations

import re
from pathlib import Path

from config import defaults

ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*) = (.+?)(?:\s+#\s*(.*))?$")


def rows() -> list[tuple[str, str, str]]:
    lines = Path(defaults.__file__).read_text(encoding="utf-8").splitlines()
    out, comment = [], []
    for line in lines:
        if line.startswith("# ---") or not line.strip():
            comment = []
            continue
        if line.startswith("#"):
            comment.append(line.lstrip("# ").strip())
            continue
        match = ASSIGNMENT.match(line)
        if not match:
            continue
        name, _, inline = match.groups()
        inline = re.sub(r"noqa: \S+( \(.*\))?", "", inline or "").strip()
        text = inline or " ".join(comment)
        value = getattr(defaults, name)
        shown = f"`{value}`" if value not in ("", None) else "empty"
        out.append((name, shown, text.replace("|", "\\|")))
        comment = []
    return out


def table() -> str:
    head = "| variable | default | meaning |\n| --- | --- | --- |\n"
    return head + "\n".join(f"| `GATEWAY_{n}` | {d} | {t} |" for n, d, t in rows()) + "\n"


if __name__ == "__main__":
    print(table(), end="")
