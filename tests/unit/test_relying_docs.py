"""docs/relying-services.md shows the example files exactly as the suite runs them, and the
examples are a relying service's code: nothing of the gateway is imported."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "relying-services.md"
EXAMPLES = [*sorted((ROOT / "examples" / "relying").glob("[!_]*.py")),
            ROOT / "tests" / "interop" / "relying" / "verify.mjs"]
SHOWN = re.compile(r"<!-- example: (\S+) -->\n```[a-z]+\n(.*?)```", re.S)


def test_the_page_shows_every_example_as_it_is():
    shown = dict(SHOWN.findall(DOC.read_text(encoding="utf-8")))
    expected = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
                for path in EXAMPLES}
    assert sorted(shown) == sorted(expected)
    stale = [path for path, code in expected.items() if shown[path] != code]
    assert stale == [], "re-copy these files into docs/relying-services.md"


def test_examples_import_nothing_of_the_gateway():
    for path in EXAMPLES:
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("gateway", "policies", "providers",
                                                  "config", "tests"), (path, name)


def test_the_page_is_linked():
    for page in (ROOT / "README.md", ROOT / "docs" / "api.md"):
        assert "relying-services.md" in page.read_text(encoding="utf-8"), page
