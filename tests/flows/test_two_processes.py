"""Two gateway processes sharing nothing but the database and the store (one Redis prefix on
the production backend, the SQLite file and its store table on the embedded one), as behind
a load balancer: a sign-in started on one finishes on the other, a key rotation made by a
third is what both sign with within CACHE_SECONDS (gateway/oidc/keys.py), and a client
it registers is accepted by both at once (docs/operations.md, "Several processes").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest
import requests
from joserfc import jws

from gateway.extensions import db
from gateway.oidc.keys import CACHE_SECONDS, rotate_key
from tests.helpers import PASSWORD, REDIRECT, authorize_params, csrf_of, new_account, new_client
from tests.helpers.network import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE = ("import sys; from werkzeug.serving import run_simple; from wsgi import app; "
         "run_simple('127.0.0.1', int(sys.argv[1]), app, threaded=True)")


def _env(settings: dict, issuer: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({f"GATEWAY_{k}": str(v) for k, v in settings.items()})
    env.update(GATEWAY_ISSUER=issuer, PYTHONPATH=str(ROOT))
    return env


def _wait_ready(base: str, process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "a gateway process exited"
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)  # a process starting (real time)
    raise AssertionError(f"{base} did not start")


@pytest.fixture(scope="module")
def pair(backend_settings):
    """Two processes; the issuer is the first's address (the one a load balancer shows)."""
    ports = [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"
    env = _env(backend_settings, issuer)
    processes = [subprocess.Popen([sys.executable, "-c", SERVE, str(p)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for p in ports]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base, process in zip(bases, processes, strict=True):
            _wait_ready(base, process)
        yield bases, env, issuer
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def _kid(token: str) -> str:
    return jws.extract_compact(token.encode()).protected["kid"]


def _client_token(base, client_id, secret) -> requests.Response:
    return requests.post(f"{base}/token", data={"grant_type": "client_credentials"},
                         auth=(client_id, secret), timeout=10)


def test_sign_in_started_on_one_process_finishes_on_the_other(pair, make_app):
    (one, two), env, issuer = pair
    app = make_app(ISSUER=issuer)
    with app.app_context():
        new_account()
        client_id, secret = new_client()
        db.session.remove()
    browser = requests.Session()
    verifier = "v" * 50
    to_login = browser.get(f"{one}/authorize?" + urlencode(authorize_params(client_id,
                                                                             verifier)),
                           allow_redirects=False, timeout=10)
    assert to_login.status_code == 302
    page = browser.get(urljoin(one, to_login.headers["Location"]), timeout=10)
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page.text), "username": "0123456789", "password": PASSWORD,
            "flow": re.search(r'name="flow" value="([^"]+)"', page.text).group(1)}
    # The login form is posted to the other process, then /authorize answered there too.
    posted = browser.post(f"{two}/login", data=form, allow_redirects=False, timeout=10)
    assert posted.status_code == 302, posted.text[:500]
    back = browser.get(urljoin(two, posted.headers["Location"]), allow_redirects=False,
                       timeout=10)
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT)
    code = back.headers["Location"].split("code=")[1].split("&")[0]
    tokens = requests.post(f"{one}/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT}, auth=(client_id, secret), timeout=10)
    assert tokens.status_code == 200, tokens.text


def test_key_rotation_and_a_new_client_reach_the_other_process(pair, make_app):
    """The test's own app is a third process of the same gateway: it registers the client
    and rotates the key, as `flask clients create` and `flask keys rotate` do."""
    (one, two), env, issuer = pair
    app = make_app(ISSUER=issuer)
    with app.app_context():
        client_id, secret = new_client(type="service", resources=(issuer,))
        db.session.remove()
    # A client registered by the CLI: accepted by both processes at once.
    before = [_client_token(base, client_id, secret) for base in (one, two)]
    assert [r.status_code for r in before] == [200, 200], before[1].text

    with app.app_context():
        new_kid = rotate_key(app.config["SIGNING_ALG"], now=True).kid  # signs at once
        db.session.remove()
    started = time.monotonic()
    seen = {}
    while len(seen) < 2 and time.monotonic() - started < CACHE_SECONDS + 2:
        for base in (one, two):
            response = _client_token(base, client_id, secret)
            assert response.status_code == 200
            kid = _kid(response.json()["access_token"])
            if kid == new_kid and base not in seen:
                seen[base] = (kid, time.monotonic() - started)
        time.sleep(0.1)  # polling the processes' caches (real time)
    assert set(seen) == {one, two}, seen
    assert all(elapsed <= CACHE_SECONDS + 1 for _, elapsed in seen.values()), seen
    # A token signed with the new key by one is accepted by the other at once (unknown kid:
    # re-read), e.g. at introspection by the resource's own client.
    token = _client_token(one, client_id, secret).json()["access_token"]
    info = requests.post(f"{two}/introspect", data={"token": token},
                         auth=(client_id, secret), timeout=10)
    assert info.status_code == 200 and info.json()["active"] is True, info.text
