"""Fixtures shared by the flow tests."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from tests.helpers import new_account, new_client
from tests.helpers.devices import DeviceWorld, LogoutReceiver
from tests.helpers.network import free_port, serve
from tests.helpers.vneid import vneid_world


@pytest.fixture
def world(make_app, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
    receiver = LogoutReceiver()
    with app.app_context():
        new_account()
        client_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"],
                                  backchannel_logout_uri=receiver.url)
        service_id, service_secret = new_client(type="service", resources=(base,))
        db.session.remove()
    with serve(app, port):
        yield DeviceWorld(app, base, client_id, service_id, service_secret, receiver)
    receiver.close()


@pytest.fixture
def vworld(make_app, tmp_path):
    """A served gateway signing in with its own VNeID sandbox, the sandbox citizens' accounts,
    a web client and an app client."""
    with vneid_world(make_app, tmp_path) as world:
        yield world


@pytest.fixture
def rogue(make_app, tmp_path):
    """The same, with a VNeID upstream of its own that the test makes misbehave."""
    with vneid_world(make_app, tmp_path, rogue=True) as world:
        yield world
