"""The checkout check that replaced pre-ping (gateway/pool_checks.py): a connection whose
socket has something to read (the server's goodbye, or the end of the stream) is dead, without
a round trip; one idle longer than PING_AFTER_IDLE is pinged. A dropped connection replaced
without a failed request, end to end: tests/faults/test_database_down.py."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.exc import DisconnectionError

from gateway.pool_checks import PING_AFTER_IDLE, check_connection


class FakeConnection:
    """What check_connection reads of a psycopg connection, over a real socket pair."""

    def __init__(self, sock, *, ping_fails=False):
        self.sock, self.ping_fails = sock, ping_fails
        self.closed = self.broken = False
        self.pings = 0

    def fileno(self):
        return self.sock.fileno()

    def cursor(self):
        conn = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql):
                conn.pings += 1
                if conn.ping_fails:
                    raise OSError("server closed the connection unexpectedly")

        return Cursor()

    def rollback(self):
        pass


@pytest.fixture
def pair():
    ours, server = socket.socketpair()
    yield ours, server
    ours.close()
    server.close()


def test_a_quiet_connection_passes_without_a_round_trip(pair):
    conn = FakeConnection(pair[0])
    check_connection(conn, idle=0.5)
    assert conn.pings == 0


@pytest.mark.parametrize("goodbye", ["notice", "close"])
def test_a_connection_the_server_ended_is_refused(pair, goodbye):
    ours, server = pair
    if goodbye == "notice":
        server.sendall(b"E\x00\x00\x00\x05FATAL")  # a FATAL ErrorResponse, say
    else:
        server.close()
    with pytest.raises(DisconnectionError):
        check_connection(FakeConnection(ours), idle=0.5)


def test_a_connection_psycopg_knows_closed_or_broken_is_refused(pair):
    for flag in ("closed", "broken"):
        conn = FakeConnection(pair[0])
        setattr(conn, flag, True)
        with pytest.raises(DisconnectionError):
            check_connection(conn, idle=0.5)


def test_a_long_idle_connection_is_pinged(pair):
    conn = FakeConnection(pair[0])
    check_connection(conn, idle=PING_AFTER_IDLE + 1)
    assert conn.pings == 1
    with pytest.raises(DisconnectionError):
        check_connection(FakeConnection(pair[0], ping_fails=True), idle=PING_AFTER_IDLE + 1)
