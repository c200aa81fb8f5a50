"""The README and docs/configuration.md list every setting the code has, and no other."""

import re
from pathlib import Path

from config.readme_table import rows, table

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- settings:begin[^>]*-->\n(.*?)<!-- settings:end -->", readme, re.S)
    assert block is not None and block.group(1) == table(), (
        "README settings table is stale: run `python -m config.readme_table`")


def test_configuration_doc_mentions_every_setting():
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in rows() if f"GATEWAY_{name}" not in doc]
    assert missing == []


def test_every_emitted_event_is_documented():
    names = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        names |= set(re.findall(r'emit\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text("utf-8")))
    doc = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert names and sorted(n for n in names if f"`{n}`" not in doc) == []


def test_openapi_documents_every_route(app):
    import json

    # path parameters compared by position, whatever their names: {account_id} == <int:...>
    paths = {re.sub(r"\{[^}]*\}", "{x}", path) for path in
             json.loads((ROOT / "docs" / "openapi.json").read_text("utf-8"))["paths"]}
    routes = {re.sub(r"<[^>]*>", "{x}", r.rule) for r in app.url_map.iter_rules()
              if not r.rule.startswith(("/static", "/demo"))}
    assert sorted(routes - paths) == []
