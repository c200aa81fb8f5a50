"""What `make run` serves with (gateway/serving.py): the production server starts on the test
backend, answers over one kept-alive connection, and stops cleanly on SIGTERM; and the
processes × threads it chooses for a backend and a core count."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.jobs.migration.coordinator import worker_environment
from gateway.serving import layout
from tests.helpers.network import free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)  # waiting for a process to start, not for a clock
    pytest.fail("the server did not become ready")


def test_make_run_server_answers_with_keep_alive_and_stops_on_sigterm(app):
    port = free_port()
    env = {**worker_environment(app), "GATEWAY_ISSUER": f"http://127.0.0.1:{port}",
           "GATEWAY_WORKERS": "1"}
    process = subprocess.Popen(  # noqa: S603 — our own command
        [sys.executable, "-m", "gateway.serving", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_ready(port, process)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/.well-known/openid-configuration")
        first = conn.getresponse()
        body = json.loads(first.read())
        assert first.status == 200 and body["issuer"] == f"http://127.0.0.1:{port}"
        assert first.getheader("Connection", "").lower() != "close"
        sock = conn.sock
        conn.request("GET", "/healthz")  # the same TCP connection, kept alive
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read()) == {"status": "ok"}
        assert conn.sock is sock
        # More kept-alive connections than threads: each is served (an idle connection
        # must not hold a worker's place; granian's backpressure would make it).
        _, threads = layout(env)
        others = [http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                  for _ in range(threads + 2)]
        for other in [*others, conn]:
            other.request("GET", "/healthz")
            assert other.getresponse().read() == b'{"status":"ok"}\n'
        for other in [*others, conn]:
            other.close()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=40)
        stderr = process.stderr.read()
    assert code == 0, stderr
    assert "serving: granian (WSGI)" in stderr


@pytest.mark.parametrize(("environ", "cores", "expected"), [
    ({}, 2, (1, 8)),  # the embedded default: one process, threads
    ({"GATEWAY_DATABASE_URL": "sqlite:///x.db"}, 4, (1, 16)),
    ({"GATEWAY_DATABASE_URL": "postgresql+psycopg://db/gw"}, 4, (4, 8)),  # a process a core
    ({"GATEWAY_DATABASE_URL": "postgresql+psycopg://db/gw", "GATEWAY_WORKERS": "3",
      "GATEWAY_THREADS": "2"}, 4, (3, 2)),
    ({"GATEWAY_WORKERS": "0", "GATEWAY_THREADS": "0"}, 1, (1, 8)),  # 0: from the cores
])
def test_processes_and_threads_follow_the_backend_and_the_cores(environ, cores, expected):
    assert layout(environ, ncores=cores) == expected


def test_sqlite_is_never_served_by_several_processes():
    with pytest.raises(SystemExit, match="one process"):
        layout({"GATEWAY_WORKERS": "2"}, ncores=2)
    with pytest.raises(SystemExit, match="0 or more"):
        layout({"GATEWAY_THREADS": "-1"}, ncores=2)
