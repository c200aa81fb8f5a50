"""Work that must not delay the answer: it runs after the response has been sent.

Why: what a request does once its answer is decided must not show in how long the answer
takes. A forgot-password request for a registered number and phone used to create the code
and send the SMS before answering, so it could be told apart from an unknown pair by its
time alone; sending messages in the request also made every answer wait for the SMS
provider.

How: a WSGI middleware gives each request a *batch*; ``defer(task, **kwargs)`` adds to it.
The batch runs once the answer is out: when the server asks for the next chunk after the last
one of a body of known length (the server writes each chunk before it asks for the next, so
the client has every byte), or when the server closes the response (PEP 3333 ``close()``,
also called when the client went away), whichever comes first. Both, because Werkzeug's
development server skips ``close()`` when the client resets the connection right after the
answer (its drain of unread input raises first) — Chromium does that after a redirect that
answers a POST — and the work of that request (an approval's SMS) would wait for the sweep.
The batch runs in order, each task in a fresh app
context (its own database session) that carries the request's id for logs and events. A task
may defer more work: it joins the same batch. A failing task is logged and the next one runs.
Outside a request (CLI, jobs) there is no answer to wait for, and ``defer`` runs the task at
once.

Tasks are module-level functions called with JSON-able keyword arguments, and no secret is
ever an argument (a one-time code is created by the task, never handed to it). On PostgreSQL
the outbox's task only defers a job of the task queue from here (gateway/jobs/queue.py): the
sending is a worker's. Nothing is lost for good if a process dies before its batch ran: the
outbox sweep delivers every committed message; a code that was never created is asked for
again.

Public surface::

    defer(task, **kwargs)        run task(**kwargs) after the response (now, outside a request)
    collecting() -> bool         True in a request or while a batch runs
    wait_idle(app=None, timeout=10.0)  block until every batch of `app` has run (tests)
    init_app(app)                install the middleware
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar

from flask import current_app, g, has_app_context

log = logging.getLogger("gateway.deferred")

_current: ContextVar[_Batch | None] = ContextVar("gateway_deferred_batch", default=None)
_idle = threading.Condition()
# Batches of this process that hold work not yet run, per app: a response one app's caller
# never closed (so its batch never runs) must not make everyone else wait for it.
_unfinished: dict[int, int] = {}
# Each app's key in _unfinished: a serial given at init_app, never id(app) — a later app can
# be built at the address of one that is gone, and would inherit the count its unclosed
# responses left behind (wait_idle then timed out for a test that had done nothing wrong).
_SERIAL = "gateway.deferred.serial"
_serials = itertools.count(1)


def _key(app) -> int:
    return app.extensions.get(_SERIAL, 0)


class _Batch:
    def __init__(self, app):
        self.app = app
        self.tasks: deque = deque()
        self.counted = False

    def add(self, task: Callable, kwargs: dict, request_id: str | None) -> None:
        if not self.counted:
            # Counted while the request still runs, so whoever holds the answer already
            # sees the work as unfinished (wait_idle never returns too early).
            with _idle:
                key = _key(self.app)
                _unfinished[key] = _unfinished.get(key, 0) + 1
            self.counted = True
        self.tasks.append((task, kwargs, request_id))

    def run(self) -> None:
        token = _current.set(self)
        try:
            while self.tasks:
                task, kwargs, request_id = self.tasks.popleft()
                try:
                    with self.app.app_context():
                        if request_id:
                            g.request_id = request_id
                        task(**kwargs)
                except Exception:  # noqa: BLE001 — one task's failure must not stop the rest
                    log.exception("deferred task failed",
                                  extra={"task": getattr(task, "__qualname__", repr(task))})
        finally:
            _current.reset(token)
            if self.counted:
                self.counted = False
                with _idle:
                    key = _key(self.app)
                    _unfinished[key] -= 1
                    if not _unfinished[key]:
                        del _unfinished[key]
                    _idle.notify_all()


def defer(task: Callable, /, **kwargs) -> None:
    """Run ``task(**kwargs)`` once the response has been sent (at once outside a request)."""
    batch = _current.get()
    if batch is None:
        with current_app.app_context():
            task(**kwargs)
        return
    request_id = g.get("request_id") if has_app_context() else None
    batch.add(task, kwargs, request_id)


def collecting() -> bool:
    return _current.get() is not None


def wait_idle(app=None, timeout: float = 10.0) -> None:
    """Until every batch of ``app`` (of every app when None) has run; TimeoutError after
    ``timeout`` seconds."""
    def idle() -> bool:
        if app is None:
            return not any(_unfinished.values())
        return not _unfinished.get(_key(app), 0)

    with _idle:
        if not _idle.wait_for(idle, timeout):
            raise TimeoutError(f"deferred work still running after {timeout} s")


class _Body:
    """The response body; its end (of a body of known length) or its closing runs the batch."""

    def __init__(self, body, batch: _Batch, sized: list):
        self._body, self._batch, self._sized = body, batch, sized
        self._iterator = iter(body)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._iterator)
        except StopIteration:
            # A body of known length: every byte of the answer is with the server.
            if self._sized and self._sized[0]:
                self._batch.run()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._batch.run()


class _Middleware:
    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        batch = _Batch(self.app)
        token = _current.set(batch)
        sized = []

        def _start_response(status, headers, exc_info=None):
            sized[:] = [any(name.lower() == "content-length" for name, _ in headers)]
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, _start_response)
        except BaseException:
            _current.reset(token)
            batch.run()  # what was committed before the failure still gets its work
            raise
        _current.reset(token)
        return _Body(body, batch, sized) if batch.tasks else body


def init_app(app) -> None:
    app.extensions[_SERIAL] = next(_serials)
    app.wsgi_app = _Middleware(app, app.wsgi_app)
