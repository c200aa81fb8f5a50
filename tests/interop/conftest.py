"""A live gateway on loopback for third-party clients.

The issuer must be the server's real base URL (clients check it against discovery, the
`iss` authorization-response parameter and every token), so the port is chosen before the
app is built: bind port 0, read the port, close, and serve on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.extensions import db
from tests.helpers import PASSWORD, new_account, new_client, random_bhxh
from tests.helpers.network import free_port, serve

REDIRECT_URI = "http://127.0.0.1:9/callback"  # nothing listens: the code is read from Location
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/signed-out"


@dataclass
class Live:
    app: object
    base: str
    username: str
    password: str
    name: str
    sub: str
    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI
    post_logout_redirect_uri: str = POST_LOGOUT_REDIRECT_URI


@pytest.fixture
def live(make_app):
    """A served gateway with one account and one confidential web client."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base)
    with app.app_context():
        username = random_bhxh()
        account = new_account(bhxh=username)
        client_id, secret = new_client(redirect_uris=[REDIRECT_URI],
                                       post_logout_redirect_uris=[POST_LOGOUT_REDIRECT_URI])
        facts = Live(app=app, base=base, username=username, password=PASSWORD,
                     name=account.full_name, sub=account.sub, client_id=client_id,
                     client_secret=secret)
        db.session.remove()
    with serve(app, port) as url:
        assert url == base
        yield facts
