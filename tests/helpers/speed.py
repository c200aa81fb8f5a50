"""What makes the suite's thousands of fresh apps cheap, without changing what they do.

Most tests build their own app (tests/conftest.py `make_app`), and measured with cProfile a
new app cost ~150 ms on this machine, ~70 % of it Werkzeug compiling two URL builders for each
of the ~160 routes (an AST per rule, then `compile()`), the same code for every app. Two more
costs were per test as well: emptying ~30 tables one statement at a time, twice, and, on the
embedded backend, SQLite checkpointing its WAL each time the last connection to the file closed
(every app's teardown).

* `memoize_rule_builders`: the generated builder is a pure function of the rule's text,
  parts and defaults (Werkzeug passes the rule in as `.self`; the code closes over nothing),
  so one compiled function per distinct rule serves every app. If a Werkzeug upgrade renames
  the method, this fails loudly instead of silently doing nothing.
* `keep_sqlite_open`: one idle connection held for the run, so closing an app's pool is
  never the last close and never checkpoints.
"""

from __future__ import annotations

import sqlite3

from werkzeug.routing import rules

_BUILDERS: dict[tuple, object] = {}


def memoize_rule_builders() -> None:
    original = rules.Rule.__dict__.get("_compile_builder")
    if original is None:
        raise RuntimeError("werkzeug.routing.Rule._compile_builder is gone: update "
                           "tests/helpers/speed.py for this Werkzeug")
    if getattr(original, "memoized", False):
        return

    def _compile_builder(self, append_unknown=True):
        # a converter counts by its type and settings (not its `map`: the URL map, whose
        # repr lists every rule so far)
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
               tuple(sorted((k, type(v).__name__,
                             repr({a: b for a, b in vars(v).items() if a != "map"}))
                            for k, v in self._converters.items())), append_unknown)
        builder = _BUILDERS.get(key)
        if builder is None:
            builder = _BUILDERS[key] = original(self, append_unknown)
        return builder

    _compile_builder.memoized = True
    rules.Rule._compile_builder = _compile_builder


def keep_sqlite_open(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, check_same_thread=False)
