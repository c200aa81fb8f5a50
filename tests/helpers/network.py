"""Loopback networking for tests: a free port, and a real HTTP server for an app.

A test that needs its issuer to be the server's real base URL (third-party clients, the
browser, the app devices) picks the port first, builds the app with it, then serves it.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from werkzeug.serving import WSGIRequestHandler, make_server


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _ResetTolerantInput:
    """The request socket's reader, for which a connection reset is the end of input."""

    def __init__(self, rfile):
        self._rfile = rfile

    def read(self, *args):
        try:
            return self._rfile.read(*args)
        except (ConnectionResetError, ConnectionAbortedError):
            return b""

    def __getattr__(self, name):
        return getattr(self._rfile, name)


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, with the response always closed (PEP 3333) after it was sent.

    After the response, werkzeug drains what the client may still be sending, then closes
    the response. Chromium resets the connection of a POST answered by a redirect as soon as
    it has the headers; the drain's read then raised, the close was skipped, and the work the
    request deferred until after its answer (gateway/deferred.py: the decision's SMS) never
    ran — and stayed counted as unfinished for that app, so wait_idle timed out. A reset now
    ends the drain like the end of input does.
    """

    def setup(self):
        super().setup()
        self.rfile = _ResetTolerantInput(self.rfile)


@contextmanager
def serve(app, port: int = 0):
    """A real HTTP server on loopback for third-party clients and the browser."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
