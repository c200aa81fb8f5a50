"""Deferred work (gateway/deferred.py) runs once the answer is out, even when the client resets
the connection right after reading it — Werkzeug's development server then skips close()."""

from __future__ import annotations

import socket
import struct
import threading

from flask import Flask
from werkzeug.serving import make_server

from gateway import deferred

RAN = threading.Event()


def _note():
    RAN.set()


def _app() -> Flask:
    app = Flask(__name__)
    deferred.init_app(app)

    @app.post("/decide")
    def decide():
        deferred.defer(_note)
        return "", 303, {"Location": "/done"}

    return app


def test_work_runs_when_the_client_resets_after_the_answer():
    RAN.clear()
    app = _app()
    server = make_server("127.0.0.1", 0, app, threaded=True)  # Werkzeug's own handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.server_port))
        sock.sendall(b"POST /decide HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 303")
        # Reset (RST, not FIN) at once, as Chromium does after a redirect answering a POST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        assert RAN.wait(5), "the deferred work never ran"
        deferred.wait_idle(app, timeout=5)
    finally:
        server.shutdown()
        thread.join(5)


def test_a_streamed_body_runs_its_work_at_close():
    RAN.clear()
    app = Flask(__name__)
    deferred.init_app(app)

    @app.get("/stream")
    def stream():
        deferred.defer(_note)
        return app.response_class((part for part in (b"a", b"b")), mimetype="text/plain")

    client = app.test_client()
    response = client.get("/stream", buffered=False)
    assert b"".join(response.response) == b"ab"
    assert not RAN.is_set()  # no length: the end of iteration is not the end of the answer
    response.close()
    assert RAN.is_set()
