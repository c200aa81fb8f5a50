"""The one home of the test helpers: drivers that do what a client, a person, an operator or
an outage does, shared by every test package. Fixtures stay in the conftest.py files.

This module holds the common drivers (accounts, clients, the code flow, the login page,
racing callers); the others, by subject::

    tests.helpers.oidc              whole grants, DPoP, private_key_jwt and forged JWTs
    tests.helpers.devices           the served app-device world: app devices, back-channel
                                    logout receiver, SMS outbox reader
    tests.helpers.browser           screenshots and form submission for Playwright pages
    tests.helpers.network           free loopback ports, serving an app on one
    tests.helpers.services          the shared PostgreSQL and Redis (fail loudly when absent)
    tests.helpers.private_postgres  a PostgreSQL of a fault test's own
    tests.helpers.outage            what a 503 must look like from outside
    tests.helpers.sms               what the development SMS provider sent; the last OTP
    tests.helpers.settings          a production configuration that passes every check
    tests.helpers.applications      applications with real photos in the file store, the
                                    console's staff of each role at two offices
    tests.helpers.links             VNeID identities, accounts to link them to, and what the
                                    linking services left behind (outbox, events, audit)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

from gateway.extensions import db
from gateway.services.accounts import create_account
from gateway.services.clients import create_client

PASSWORD = "Mật-khẩu-đủ-dài-2026"
REDIRECT = "https://portal.example.vn/callback"


def random_bhxh() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(10))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_account(bhxh="0123456789", password=PASSWORD, **kw):
    spec = dict(bhxh=bhxh, name="Nguyễn Văn An", dob="1985-04-12", phone="0912345623",
                password=password, level=2, via="test")
    spec.update(kw)
    account = create_account(**spec)
    db.session.commit()
    return account


def new_client(type="web", redirect_uris=(REDIRECT,), **kw):
    client, secret = create_client(name=f"{type} client", type=type,
                                   redirect_uris=redirect_uris if type != "service" else (), **kw)
    db.session.commit()
    return client.client_id, secret


def authorize_params(client_id, verifier, **extra):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile offline_access",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def open_login_page(client, client_id) -> tuple[str, str]:
    """Starts an authorization request and reads its login page: (flow id, CSRF token)."""
    response = client.get("/authorize?" + urlencode(authorize_params(client_id, "v" * 43)))
    page = client.get(response.location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', page).group(1)
    return flow, csrf_of(page)


def submit_login(client, flow, csrf, username, password):
    return client.post("/login", data={"csrf_token": csrf, "flow": flow, "username": username,
                                       "password": password})


def login(client, location: str, username="0123456789", password=PASSWORD):
    """Follows the login page the gateway redirected to; returns the next response."""
    page = client.get(location)
    assert page.status_code == 200, page.data
    html = page.get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', html).group(1)
    return client.post("/login", data={"csrf_token": csrf_of(html), "flow": flow,
                                       "username": username, "password": password})


def get_code(client, client_id, verifier=None, username="0123456789", password=PASSWORD, **extra):
    verifier = verifier or secrets.token_urlsafe(48)
    params = authorize_params(client_id, verifier, **extra)
    response = client.get("/authorize?" + urlencode(params))
    if response.status_code == 302 and response.location.startswith("/login"):
        response = login(client, response.location, username, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        response = client.get(response.location)
    assert response.status_code == 302, response.get_data(as_text=True)
    query = parse_qs(urlsplit(response.location).query)
    return {k: v[0] for k, v in query.items()}, verifier, params


def basic(client_id, secret):
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def exchange(client, client_id, secret, code, verifier, redirect_uri=REDIRECT):
    return client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                       "code_verifier": verifier, "redirect_uri": redirect_uri},
                       headers=basic(client_id, secret))


def race(n, fn, *, join_timeout: float = 90):
    """Runs fn(i) in n threads released at once by a Barrier; returns their results and
    re-raises the first error, so a one-time thing can be raced by concurrent callers."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results



def in_thread(fn, *args, **kwargs):
    """fn(*args, **kwargs) in a thread of its own; its result, or its exception re-raised.

    For what runs an event loop of its own (a procrastinate worker): once the browser tests
    have started Playwright, this thread has a running loop, and asyncio.run() refuses to
    start another in it."""
    outcome = {}

    def target():
        try:
            outcome["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 — re-raised below
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), f"{getattr(fn, '__name__', fn)} still running after 120 s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def run_jobs(app, concurrency: int = 1) -> None:
    """Run what the task queue holds, as a worker does, until no job is left (PostgreSQL).
    With one job at a time (the default) they run in the order they were deferred.

    On the embedded default there is no queue: the work deferred after a response has already
    run by the time the response is closed, so there is nothing to do.
    """
    from gateway.jobs import worker
    from gateway.jobs.queue import queue_of

    if queue_of(app) is not None:
        in_thread(worker.run, app, concurrency=concurrency, wait=False,
                  install_signal_handlers=False)
