"""Clients kept in process (gateway/services/client_cache.py): the token endpoint reads no
client row once a client is known; a change committed anywhere is seen at once by the process
that made it and by any other after its next version check (CLIENT_CACHE_SECONDS)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import event

from gateway.extensions import db
from gateway.models import Client
from gateway.services.client_cache import EXTENSION, VERSION_KEY, cached_client
from gateway.services.clients import create_client, set_client_resources
from gateway.store.access import store

API = "https://api.example.vn"


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
            .decode()}


@pytest.fixture
def statements(app):
    seen = []

    def record(conn, cursor, statement, *_):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _service():
    client, secret = create_client(name="Cổng dịch vụ", type="service")
    db.session.commit()
    return client.client_id, secret


def test_a_known_client_is_authenticated_without_reading_its_row(app, statements):
    client_id, secret = _service()
    statements.clear()
    http = app.test_client()
    for _ in range(3):
        answer = http.post("/token", data={"grant_type": "client_credentials"},
                           headers=_basic(client_id, secret))
        assert answer.status_code == 200, answer.get_json()
    reads = [s for s in statements if "FROM clients" in s]
    assert len(reads) == 1  # the first request only
    assert not [s for s in statements if "INSERT INTO events" in s]  # token.issued: no row
    wrong = http.post("/token", data={"grant_type": "client_credentials"},
                      headers=_basic(client_id, secret + "x"))
    assert wrong.status_code == 401  # the hashed secret is checked from the copy


def test_an_unknown_client_is_not_remembered(app):
    assert cached_client("later-client") is None
    create_client(name="Cổng", type="service", client_id="later-client")
    db.session.commit()
    assert cached_client("later-client").client_id == "later-client"


def test_a_change_is_seen_at_once_here_and_elsewhere_after_the_version_check(app, make_app):
    client_id, _ = _service()
    assert list(cached_client(client_id).resources) == []
    other = make_app()  # another process: the same database and store, its own copies
    with other.app_context():
        other.extensions[EXTENSION].check_seconds = 3600
        assert list(cached_client(client_id).resources) == []
    before = store().get(VERSION_KEY)

    set_client_resources(client_id, [API])
    db.session.commit()  # the commit bumps the version (the ORM listener)

    assert store().get(VERSION_KEY) != before
    assert list(cached_client(client_id).resources) == [API]  # this process: at once
    with other.app_context():
        cache = other.extensions[EXTENSION]
        assert list(cached_client(client_id).resources) == []  # until its next check ...
        cache.check_seconds = 0  # ... which falls due CLIENT_CACHE_SECONDS later
        assert list(cached_client(client_id).resources) == [API]
        db.session.remove()


def test_a_rolled_back_change_bumps_nothing(app):
    client_id, _ = _service()
    before = store().get(VERSION_KEY)
    row = Client.query.filter_by(client_id=client_id).one()
    row.resources = [API]
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert store().get(VERSION_KEY) == before


def test_a_cached_client_cannot_be_changed_in_place(app):
    client_id, _ = _service()
    with pytest.raises(AttributeError):
        cached_client(client_id).scopes = ["openid"]
