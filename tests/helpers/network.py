"""Loopback networking for tests: a free port, and a real HTTP server for an app.

A test that needs its issuer to be the server's real base URL (third-party clients, the
browser, the app devices) picks the port first, builds the app with it, then serves it.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app, port: int = 0):
    """A real HTTP server on loopback for third-party clients and the browser."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
