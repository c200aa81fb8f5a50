"""The layers call only downward (docs/architecture.md): read every import of the product's
modules, lazy ones inside functions included, and refuse one that climbs.

views → flows → methods/services → models/store → crypto; policies are pure and import nothing
of the gateway. What the protocol layer adds to a service's operation goes through a hook
point it registers (gateway/services/hooks.py), not through an import from below.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("gateway", "policies", "providers", "config")
UPPER = ("gateway.views", "gateway.flows", "gateway.oidc", "gateway.methods", "gateway.cli")

# Each package, and what it must never import (a prefix matches a module and its children).
FORBIDDEN = {
    "gateway.services": (*UPPER, "gateway.jobs"),
    "gateway.jobs": ("gateway.views", "gateway.flows", "gateway.cli"),
    "gateway.models": (*UPPER, "gateway.services"),
    "gateway.store": (*UPPER, "gateway.services"),
    "gateway.crypto": tuple(f"gateway.{name}" for name in (
        "views", "flows", "oidc", "methods", "cli", "jobs", "services", "models", "store")),
    "policies": ("gateway",),
    # The outside world behind small interfaces: the gateway hands them what they need
    # (settings, a clock); the VNeID sandbox is a separate OpenID provider altogether.
    "providers": ("gateway",),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield _module_name(path), path


def _imports(module: str, path: Path):
    """(line, imported module, imported names) for every import statement of the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base, tuple(alias.name for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_import_runs_upward():
    climbing = []
    for module, path in _sources():
        rules = [forbidden for owner, forbidden in FORBIDDEN.items() if _within(module, owner)]
        for line, imported, names in _imports(module, path):
            targets = [imported, *(f"{imported}.{name}" for name in names)]
            for forbidden in (prefix for group in rules for prefix in group):
                if any(_within(target, forbidden) for target in targets):
                    climbing.append(f"{path.relative_to(ROOT)}:{line} imports {imported}"
                                    f"{' (' + ', '.join(names) + ')' if names else ''}")
    assert climbing == []


def test_nothing_imports_from_the_app_factory():
    """gateway/__init__.py builds the app and sits above everything: a module that takes a
    name from it (rather than a submodule of the package) climbs to the top floor."""
    climbing = []
    for module, path in _sources():
        for line, imported, names in _imports(module, path):
            if imported != "gateway" or module == "gateway":
                continue
            own = [name for name in names if not (ROOT / "gateway" / f"{name}.py").exists()
                   and not (ROOT / "gateway" / name).is_dir()]
            if own:
                climbing.append(f"{path.relative_to(ROOT)}:{line} takes gateway.{own}")
    assert climbing == []


def test_no_module_takes_another_modules_private_names():
    borrowed = []
    for module, path in _sources():
        for line, imported, names in _imports(module, path):
            if not imported.startswith(PRODUCT) or imported == module:
                continue
            private = [name for name in names if name.startswith("_")]
            if private:
                borrowed.append(f"{path.relative_to(ROOT)}:{line} takes {imported}.{private}")
    assert borrowed == []


def test_the_rules_see_lazy_and_relative_imports(tmp_path):
    # The reader itself: an import inside a function counts, and so does a relative one.
    package = tmp_path / "gateway" / "services"
    package.mkdir(parents=True)
    source = package / "example.py"
    source.write_text("def f():\n    from gateway.oidc import backchannel\n"
                      "from ..views import pages\nfrom . import _hidden\n")
    found = sorted(_imports("gateway.services.example", source))
    assert found == [(2, "gateway.oidc", ("backchannel",)), (3, "gateway.views", ("pages",)),
                     (4, "gateway.services", ("_hidden",))]
