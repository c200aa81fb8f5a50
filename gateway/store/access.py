"""The app's store, fetched from the app so tests and processes each get their own; and,
inside a ``carrying()`` block, work that rides along with the request's next store call.

A request that makes many small store calls pays a network round trip for each. Two kinds
of call need no answer of their own at the moment they are made:

* a **claim** (``claim``): a one-time value marked used with ``add`` — a DPoP proof's jti —
  whose refusal only has to be known before the request changes anything. It rides with the
  next *read* (``get``/``get_many``), is checked before that read's answer is used, and is
  sent on its own before any write: nothing is written for a refused claim.
* a **write that may wait** (``later``): a give-back or a clean-up whose answer nobody reads
  (a throttle reservation handed back, a consumed flow forgotten, a code stored ahead of the
  state that points at it). It rides with the next store call of any kind.

Whatever is still pending when the block ends is sent then, in one round trip; a refused
claim raises there. Outside a block both are sent at once, as plain calls. The batch goes
through the store's ``batch`` operation, so a store that is down fails the request closed
exactly as a plain call would.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app, g

from gateway.store import Store

_PENDING = "_gateway_store_pending"
_READS = frozenset({"get", "get_many"})
_WRITES = frozenset({"add", "put", "take", "delete", "incr_many"})  # what batch() carries


class _Pending:
    def __init__(self):
        self.claims: list[tuple[tuple, Callable[[], Exception]]] = []
        self.writes: list[tuple] = []

    def drain(self) -> tuple[list[tuple], list[Callable[[], Exception]]]:
        ops = [op for op, _ in self.claims] + self.writes
        refusals = [refused for _, refused in self.claims]
        self.claims, self.writes = [], []
        return ops, refusals


def _check(results: list, refusals: list[Callable[[], Exception]]) -> None:
    for added, refused in zip(results, refusals, strict=False):
        if not added:
            raise refused()


class _Carrier:
    """The store as seen inside a block: pending work joins the next call's round trip."""

    def __init__(self, inner: Store, pending: _Pending):
        self._inner = inner
        self._pending = pending

    def _flush(self) -> None:
        ops, refusals = self._pending.drain()
        if ops:
            _check(self._inner.batch(ops), refusals)

    def _carry(self, name: str, *args, **kwargs):
        if name in _WRITES and self._pending.claims:
            self._flush()  # a claim is settled before anything is written
        ops, refusals = self._pending.drain()
        if not ops:
            return getattr(self._inner, name)(*args, **kwargs)
        results = self._inner.batch([*ops, (name, args, kwargs)])
        _check(results, refusals)
        return results[-1]

    def __getattr__(self, name):
        if name in _READS or name in _WRITES:
            return lambda *args, **kwargs: self._carry(name, *args, **kwargs)
        value = getattr(self._inner, name)
        if not callable(value) or name.startswith("_"):
            return value

        def flushed_first(*args, **kwargs):
            self._flush()
            return value(*args, **kwargs)

        return flushed_first


def _pending() -> _Pending | None:
    return g.get(_PENDING)


def store() -> Store:
    inner = current_app.extensions["gateway.store"]
    pending = _pending()
    return inner if pending is None else _Carrier(inner, pending)


@contextmanager
def carrying():
    """A block whose claims and waiting writes ride with its next store calls (above);
    what is left is sent when it ends, even when it ends with an exception (a refused claim
    or an unreachable store then takes that exception's place). Nested blocks are one."""
    if _pending() is not None:
        yield
        return
    pending = _Pending()
    setattr(g, _PENDING, pending)
    try:
        yield
    finally:
        g.pop(_PENDING, None)
        ops, refusals = pending.drain()
        if ops:
            _check(current_app.extensions["gateway.store"].batch(ops), refusals)


def claim(key: str, value: str, ttl: int, refused: Callable[[], Exception]) -> bool:
    """Marks ``key`` used (the store's ``add``): False when it already was. Inside a block
    the claim waits for the next read and ``refused()`` is raised then; True meanwhile."""
    pending = _pending()
    if pending is None:
        return current_app.extensions["gateway.store"].add(key, value, ttl)
    pending.claims.append((("add", (key, value, ttl), {}), refused))
    return True


def later(name: str, *args, **kwargs) -> None:
    """A write whose answer nobody waits for (``put``, ``delete``, ``incr_many``, ...): sent
    with the block's next store call, or at once outside a block."""
    if name not in _WRITES:
        raise ValueError(f"later: {name!r} is not a write the batch carries")
    pending = _pending()
    if pending is None:
        getattr(current_app.extensions["gateway.store"], name)(*args, **kwargs)
        return
    if pending.claims:  # nothing waits behind an unsettled claim: it settles first
        _Carrier(current_app.extensions["gateway.store"], pending)._flush()
    pending.writes.append((name, args, kwargs))
