"""Which database errors are an outage (503, retry later) and which are bugs (500).

The errors are real ones, raised by the drivers against a closed port, a missing file, an
exhausted pool, bad SQL; the SQLSTATE table is checked with psycopg's own exception classes.
The whole outage, on a PostgreSQL that is really stopped, is tests/faults/test_database_down.py.
"""

from __future__ import annotations

import json
import socket
import threading

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from gateway import _engine_options
from gateway.availability import PG_CONNECT_TIMEOUT, database_unreachable
from gateway.extensions import db
from tests.helpers.outage import assert_program_answer, unavailable_counts

CLOSED_PORT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/gateway"


def raised(call) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 — the error is what is under test
        return exc
    raise AssertionError("nothing was raised")


def connect_to_closed_port():
    engine = create_engine(CLOSED_PORT_POSTGRES, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def test_a_server_that_cannot_be_reached_is_an_outage():
    error = raised(connect_to_closed_port)
    assert isinstance(error, DBAPIError) and isinstance(error.orig, psycopg.OperationalError)
    assert database_unreachable(error)
    assert database_unreachable(error.orig)  # the driver's error, should it arrive unwrapped


@pytest.fixture
def silent_server():
    """A loopback address that accepts TCP connections and never answers, as a server behind
    a dead network path or a hung proxy looks to a client."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/gateway"
    listener.close()
    for conn in held:
        conn.close()


def test_a_server_that_never_answers_is_an_outage_once_the_connect_timeout_passes(
        silent_server):
    engine = create_engine(silent_server + "?connect_timeout=2")  # psycopg's shortest
    try:
        error = raised(lambda: engine.connect().close())
    finally:
        engine.dispose()
    assert database_unreachable(error)


def test_postgresql_connections_have_a_connect_timeout_unless_the_url_sets_one():
    url = "postgresql+psycopg://gateway@db.internal/gateway"
    assert _engine_options(url)["connect_args"] == {"connect_timeout": PG_CONNECT_TIMEOUT}
    assert "connect_args" not in _engine_options(url + "?connect_timeout=12")
    assert "pool_pre_ping" not in _engine_options(url)  # gateway/pool_checks.py instead


def test_a_sqlite_file_that_cannot_be_opened_is_an_outage(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'gateway.sqlite3'}")
    assert database_unreachable(raised(lambda: engine.connect().close()))


def test_a_pool_with_no_free_connection_in_time_is_an_outage(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1,
                           max_overflow=0, pool_timeout=0.05)
    held = engine.connect()
    try:
        error = raised(lambda: engine.connect().close())
    finally:
        held.close()
        engine.dispose()
    assert isinstance(error, PoolTimeoutError) and database_unreachable(error)


def test_bad_sql_is_a_bug_not_an_outage(app):
    error = raised(lambda: db.session.execute(text("SELECT nothing FROM no_such_table")))
    db.session.rollback()
    # PostgreSQL: ProgrammingError; SQLite: an OperationalError ("no such table") that is not
    # about reaching the file.
    assert isinstance(error, DBAPIError)
    assert not database_unreachable(error)


@pytest.mark.parametrize(("sqlstate", "outage"), [
    ("08006", True),   # connection_failure
    ("08001", True),   # sqlclient_unable_to_establish_sqlconnection
    ("57P01", True),   # admin_shutdown: pg_ctl stop -m fast, pg_terminate_backend
    ("57P02", True),   # crash_shutdown
    ("57P03", True),   # cannot_connect_now: starting up or shutting down
    ("53300", True),   # too_many_connections
    ("40P01", False),  # deadlock_detected: the database answered
    ("40001", False),  # serialization_failure
    ("57014", False),  # query_canceled (statement_timeout)
    ("55P03", False),  # lock_not_available
    ("42P01", False),  # undefined_table (a ProgrammingError)
    ("23505", False),  # unique_violation (an IntegrityError)
])
def test_sqlstates_that_mean_the_connection_is_gone(sqlstate, outage):
    assert database_unreachable(psycopg.errors.lookup(sqlstate)("from the server")) is outage


def test_an_outage_answers_503_and_a_bug_500(make_app):
    """Through the app's error handlers: a connection failure from any view is a counted 503
    with Retry-After; a database bug stays a 500 and is not counted as an outage."""
    app = make_app()

    def unreachable():
        connect_to_closed_port()

    def bad_sql():
        db.session.execute(text("SELECT nothing FROM no_such_table"))

    app.add_url_rule("/api/test/unreachable", view_func=unreachable)
    app.add_url_rule("/api/test/bad-sql", view_func=bad_sql)
    app.add_url_rule("/test/bad-sql-page", view_func=bad_sql, endpoint="bad_sql_page")
    client = app.test_client()
    before = unavailable_counts(client.get("/metrics").text)

    assert_program_answer(client.get("/api/test/unreachable"), "unreachable")
    bug = client.get("/api/test/bad-sql")
    assert bug.status_code == 500 and json.loads(bug.text) == {"error": "server_error"}
    assert "Retry-After" not in bug.headers
    page = client.get("/test/bad-sql-page", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "gặp lỗi" in page.text  # not "the request is not valid"
    # the session is usable again after either answer
    assert client.get("/readyz").status_code == 200

    after = unavailable_counts(client.get("/metrics").text)
    assert after["database"] - before["database"] == 1
    assert after["store"] == before["store"]


