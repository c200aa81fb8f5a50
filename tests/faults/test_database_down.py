"""PostgreSQL stops under a running gateway, then comes back.

While it is down, every endpoint that needs it fails closed and says so: `503
temporarily_unavailable` with `Retry-After`, JSON for programs, a page saying the service is
briefly unavailable for people (Vietnamese first, English with ?lang=en), `/readyz` 503, and
each refusal counted in `gateway_dependency_unavailable_total`. When it is back, the same app
object serves the same requests at the first try: the pool replaces the connections the
restart left stale (pool_pre_ping), nothing was consumed by the outage, and the retries a
person made during it do not lock their name.

The PostgreSQL is the test's own (tests/helpers/private_postgres.py); the shared one is never
stopped. This module runs in both runs of the suite, each time on a different deployment: in
the production-backend run the gateway keeps its store in the shared Redis (its own key
prefix), as production does; in the embedded run it keeps the store in the same PostgreSQL (a
deployment without Redis), so the store and the database fail together.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask_migrate import upgrade

from examples.vssid_app_client import AppClient
from gateway import create_app
from gateway.extensions import db
from tests.helpers import (
    PASSWORD,
    REDIRECT,
    authorize_params,
    basic,
    new_account,
    new_client,
    outage,
    services,
)
from tests.helpers.network import free_port, serve
from tests.helpers.outage import assert_person_page, assert_program_answer
from tests.helpers.private_postgres import PrivatePostgres
from tests.helpers.services import BACKEND

USERNAME = "0123456789"
PHONE = "0912345623"
DATABASE = "gateway"


@dataclass
class Gateway:
    pg: PrivatePostgres
    app: object
    base: str
    web_id: str
    web_secret: str
    service_id: str
    service_secret: str
    app_id: str
    phone: AppClient  # the person's one app device, the same in every test

    def session(self) -> requests.Session:
        http = requests.Session()
        http.trust_env = False
        return http


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    pg = PrivatePostgres()
    app = None
    try:
        pg.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = create_app({
            "DATABASE_URL": pg.create_database(DATABASE),
            "REDIS_URL": services.redis_url() if BACKEND == "production" else "",
            "REDIS_KEY_PREFIX": f"fault{secrets.token_hex(4)}:",
            "SMS_OUTBOX": str(tmp_path_factory.mktemp("sms") / "outbox.jsonl"),
            "ISSUER": base,
            "LOG_LEVEL": "WARNING",
            # The clients' version check (in the store, which is this very database on the
            # embedded backend) must not fall due during the outage, or whether a client's
            # own token is answered would depend on how long the outage's requests took; a
            # check that falls due with the store down is tested in test_store_down.py.
            "CLIENT_CACHE_SECONDS": 60,  # the most the settings allow
        })
        app.config["TESTING"] = True
        with app.app_context():
            upgrade()
            new_account(bhxh=USERNAME, phone=PHONE)
            web_id, web_secret = new_client()
            service_id, service_secret = new_client(type="service")
            app_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
            db.session.remove()
        with serve(app, port):
            phone = AppClient(base, app_id, device_id="fault-phone-0001",
                              device_name="Điện thoại của An")
            yield Gateway(pg, app, base, web_id, web_secret, service_id, service_secret, app_id,
                          phone)
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            store = app.extensions["gateway.store"]
            if hasattr(store, "clear"):  # Redis: this run's prefix only
                store.clear()
                store.client.close()
        pg.close()


# --- what a person and the programs do -------------------------------------------------------


def authorize_url(gw: Gateway, **extra) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return f"{gw.base}/authorize?" + urlencode(authorize_params(gw.web_id, verifier, **extra)), (
        verifier)


def park_login(gw: Gateway, person: requests.Session) -> dict:
    """The login form a person has in front of them: its flow and CSRF token."""
    url, verifier = authorize_url(gw)
    to_login = person.get(url, allow_redirects=False, timeout=10)
    assert to_login.status_code == 302 and to_login.headers["Location"].startswith("/login")
    page = person.get(gw.base + to_login.headers["Location"], timeout=10)
    assert page.status_code == 200, page.text[:300]
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1],
            "flow": re.search(r'name="flow" value="([^"]+)"', page.text)[1],
            "username": USERNAME, "password": PASSWORD, "verifier": verifier}


def submit_login(gw: Gateway, person: requests.Session, form: dict) -> requests.Response:
    fields = {k: v for k, v in form.items() if k != "verifier"}
    return person.post(f"{gw.base}/login", data=fields, allow_redirects=False, timeout=10)


def code_from(gw: Gateway, person: requests.Session, response: requests.Response) -> str:
    """Follows the gateway's own redirects until the one to the client; returns the code."""
    while response.headers["Location"].startswith("/"):
        response = person.get(gw.base + response.headers["Location"], allow_redirects=False,
                              timeout=10)
        assert response.status_code == 302, response.text[:300]
    assert response.headers["Location"].startswith(REDIRECT), response.headers["Location"]
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def sso_code(gw: Gateway, person: requests.Session) -> tuple[str, str]:
    url, verifier = authorize_url(gw)
    response = person.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return code_from(gw, person, response), verifier


def token(gw: Gateway, client: tuple[str, str], **data) -> requests.Response:
    return requests.post(f"{gw.base}/token", data=data, headers=basic(*client), timeout=10)


def redeem(gw: Gateway, code: str, verifier: str) -> requests.Response:
    return token(gw, (gw.web_id, gw.web_secret), grant_type="authorization_code", code=code,
                 code_verifier=verifier, redirect_uri=REDIRECT)


def signed_in(gw: Gateway) -> tuple[requests.Session, dict]:
    """A person signed in through the browser flow, and the web client's tokens."""
    person = gw.session()
    form = park_login(gw, person)
    code = code_from(gw, person, submit_login(gw, person, form))
    tokens = redeem(gw, code, form["verifier"])
    assert tokens.status_code == 200, tokens.text
    return person, tokens.json()


def unavailable_counts(gw: Gateway) -> dict[str, float]:
    return outage.unavailable_counts(requests.get(f"{gw.base}/metrics", timeout=10).text)


# --- the scenario ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_database_down_fails_closed_with_503_and_recovers_by_itself(gateway, mode):
    gw = gateway
    web, service = (gw.web_id, gw.web_secret), (gw.service_id, gw.service_secret)
    threshold = gw.app.config["LOCKOUT_THRESHOLD"]

    # Up: a person signs in (browser), the portal holds tokens, a service holds its own.
    person, tokens = signed_in(gw)
    code, verifier = sso_code(gw, person)  # issued, not yet redeemed
    service_token = token(gw, service, grant_type="client_credentials")
    assert service_token.status_code == 200, service_token.text
    assert requests.get(f"{gw.base}/readyz", timeout=10).status_code == 200
    stranger = gw.session()
    login_form = park_login(gw, stranger)  # someone else's form, open in their browser
    phone = gw.phone
    challenge_url = f"{gw.base}/authorize-challenge"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    hint = {"id_token_hint": tokens["id_token"]}

    programs = {
        "token authorization_code": lambda: redeem(gw, code, verifier),
        "token refresh_token": lambda: token(gw, web, grant_type="refresh_token",
                                             refresh_token=tokens["refresh_token"]),
        "userinfo": lambda: requests.get(f"{gw.base}/userinfo", headers=bearer, timeout=10),
        "introspect": lambda: requests.post(f"{gw.base}/introspect", headers=basic(*web),
                                            data={"token": tokens["access_token"]}, timeout=10),
        "revoke": lambda: requests.post(f"{gw.base}/revoke", headers=basic(*service), timeout=10,
                                        data={"token": service_token.json()["access_token"]}),
        "authorize-challenge": lambda: requests.post(challenge_url, timeout=10, data={
            "client_id": gw.app_id, "username": USERNAME, "password": PASSWORD},
            headers={"DPoP": phone.proof("POST", challenge_url)}),
        "api recovery": lambda: requests.post(f"{gw.base}/api/v1/recovery", timeout=10,
                                              json={"username": USERNAME, "phone": PHONE}),
        "jwks": lambda: requests.get(f"{gw.base}/jwks.json", timeout=10),
        "authorize, JSON Accept": lambda: stranger.get(
            authorize_url(gw)[0], headers={"Accept": "application/json"}, timeout=10,
            allow_redirects=False),
    }
    people = {
        "authorize, signed in": lambda: person.get(authorize_url(gw)[0], timeout=10,
                                                   allow_redirects=False),
        "authorize, anonymous": lambda: gw.session().get(authorize_url(gw)[0], timeout=10,
                                                         allow_redirects=False),
        "login": lambda: submit_login(gw, stranger, login_form),
        "logout": lambda: person.get(f"{gw.base}/logout", params=hint, timeout=10,
                                     allow_redirects=False),
    }
    before = unavailable_counts(gw)

    gw.pg.stop(mode)
    try:
        for what, call in programs.items():
            assert_program_answer(call(), what)
        # A client's own token needs no database: the client is kept in process, checked
        # against the clients' version in the store (gateway/services/client_cache.py).
        assert token(gw, service, grant_type="client_credentials").status_code == 200
        for what, call in people.items():
            assert_person_page(call(), what)
        english = gw.session().get(authorize_url(gw, lang="en")[0], timeout=10,
                                   allow_redirects=False)
        assert_person_page(english, "authorize ?lang=en", lang="en")
        # The person keeps pressing "sign in" while it is down: still "briefly unavailable",
        # never "locked", and (below) no lock once it is back.
        for attempt in range(threshold):
            assert_person_page(submit_login(gw, stranger, login_form), f"login retry {attempt}")

        ready = requests.get(f"{gw.base}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["database"] == "unavailable"
        refused = len(programs) + len(people) + 1 + threshold
        after = unavailable_counts(gw)
        counted = {k: after[k] - before[k] for k in ("database", "store")}
        assert counted["database"] + counted["store"] == refused, counted
        assert counted["database"] >= 1, counted
        if BACKEND == "production":  # the store (Redis) was up all along
            assert counted == {"database": refused, "store": 0}, counted
    finally:
        gw.pg.start()

    # Back: the same app, the same requests, each at its first try.
    again = redeem(gw, code, verifier)  # the code was not consumed by the outage
    assert again.status_code == 200, again.text
    refreshed = token(gw, web, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text  # nor was the refresh token
    assert token(gw, service, grant_type="client_credentials").status_code == 200
    assert programs["userinfo"]().status_code == 200
    introspected = programs["introspect"]()
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    assert programs["revoke"]().status_code == 200
    assert programs["jwks"]().status_code == 200
    assert programs["api recovery"]().status_code == 202
    assert phone.sign_in(USERNAME, PASSWORD).access_token
    resumed = person.get(authorize_url(gw)[0], timeout=10, allow_redirects=False)
    assert resumed.status_code == 302 and resumed.headers["Location"].startswith(REDIRECT)
    logged_in = submit_login(gw, stranger, login_form)  # not locked by the retries above
    assert logged_in.status_code == 302, logged_in.text[:500]
    assert code_from(gw, stranger, logged_in)
    assert requests.get(f"{gw.base}/readyz", timeout=10).status_code == 200
    logout = people["logout"]()
    assert logout.status_code == 200, logout.text[:300]
    assert unavailable_counts(gw) == after  # nothing refused since it came back


def test_dropped_connections_are_replaced_without_a_failed_request(gateway):
    """A proxy restart or a failover drops every connection while PostgreSQL stays up: the
    pool must not hand the dead ones out (each would fail a request); pre-ping replaces them."""
    gw = gateway
    person, tokens = signed_in(gw)
    code, verifier = sso_code(gw, person)
    before = unavailable_counts(gw)
    assert gw.pg.terminate_connections(DATABASE) >= 1  # the pool held live connections

    assert redeem(gw, code, verifier).status_code == 200
    refreshed = token(gw, (gw.web_id, gw.web_secret), grant_type="refresh_token",
                      refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    info = requests.get(f"{gw.base}/userinfo", timeout=10,
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200, info.text
    assert requests.get(f"{gw.base}/readyz", timeout=10).status_code == 200
    assert unavailable_counts(gw) == before
