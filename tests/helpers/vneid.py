"""Upstreams for the VNeID tests: the shipped sandbox served alone on loopback, misbehaving on
request (RogueProvider), and a person choosing a citizen on its page.

A rogue is the real sandbox with one thing changed — the ID token's claims, header or key,
the callback's parameters, the JWKS — so every failure of issue 10's list is the gateway
meeting an upstream that really answers over HTTP, never a mock of the client.
"""

from __future__ import annotations

import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc.jwk import ECKey

from providers.vneid import VneidClient, VneidConfig
from providers.vneid_sandbox import SandboxClient, SandboxProvider, load_citizens, sandbox_app
from tests.helpers.network import free_port, serve
from tests.helpers.oidc import hmac_signed, unsigned

CLIENT_ID = "vssid-gateway"
SECRET = "sandbox-test-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:9/vneid/callback"  # the tests read the code from Location

# Who each shipped citizen is (providers/vneid_sandbox/citizens.csv).
AN, BINH, CUONG, DUNG, EM, ORGANISATION = (f"vneid-sbx-000{i}" for i in range(1, 7))


@dataclass
class Tampering:
    """What a RogueProvider changes; empty: it is the sandbox."""

    claims: dict = field(default_factory=dict)        # merged into the ID token (None: drop)
    header: dict = field(default_factory=dict)        # merged into its JOSE header
    sign_with: ECKey | None = None                    # another key: a bad signature
    alg: str | None = None                            # "none" or "HS256": unsigned or HMAC
    callback: dict = field(default_factory=dict)      # merged into the redirect (None: drop)
    userinfo: dict = field(default_factory=dict)      # merged into userinfo
    metadata: dict = field(default_factory=dict)      # merged into discovery (a dead endpoint)


class RogueProvider(SandboxProvider):
    """The sandbox, with ``tampering`` applied to what it sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tampering = Tampering()
        self.jwks_fetches = 0

    def id_token_claims(self, citizen, client_id, nonce, auth_time):
        claims = {**super().id_token_claims(citizen, client_id, nonce, auth_time),
                  **self.tampering.claims}
        return {k: v for k, v in claims.items() if v is not None}

    def sign_id_token(self, claims, header=None):
        t = self.tampering
        if t.alg == "none":
            return unsigned({"kid": self.keys()[self.signing_alg].kid, **t.header}, claims)
        if t.alg == "HS256":  # keyed with the published public key: the confusion attack
            public = self.jwks()["keys"][0]
            secret = repr(sorted(public.items())).encode()
            return hmac_signed({"kid": public["kid"], **t.header}, claims, secret)
        if t.sign_with is not None:
            from joserfc import jwt

            head = {"alg": "ES256", "kid": self.keys()["ES256"].kid, **t.header}
            return jwt.encode(head, claims, t.sign_with, algorithms=["ES256"])
        return super().sign_id_token(claims, header={**(header or {}), **t.header})

    def callback_url(self, redirect_uri, params):
        url = super().callback_url(redirect_uri, params)
        if not self.tampering.callback:
            return url
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        query.update(self.tampering.callback)
        from urllib.parse import urlencode

        base = url.split("?", 1)[0]
        return base + "?" + urlencode({k: v for k, v in query.items() if v is not None})

    def userinfo(self, access_token):
        return {**super().userinfo(access_token), **self.tampering.userinfo}

    def metadata(self):
        return {**super().metadata(), **self.tampering.metadata}

    def jwks(self):
        self.jwks_fetches += 1
        return super().jwks()

    def rotate_keys(self) -> None:
        """A key rotation upstream: new keys, new kids."""
        with self._lock:
            self._keys = None


@dataclass
class Upstream:
    provider: RogueProvider
    issuer: str

    @property
    def tampering(self) -> Tampering:
        return self.provider.tampering


@contextmanager
def served_upstream(clock, *, client: SandboxClient | None = None, signing_alg="ES256",
                    redirect_uri=REDIRECT, provider_class=RogueProvider):
    """A sandbox OP served alone on a loopback port; yields an Upstream."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/sandbox/vneid"
    client = client or SandboxClient(CLIENT_ID, (redirect_uri,), secret=SECRET)
    provider = provider_class(issuer, [client], clock=clock, citizens=load_citizens(),
                              signing_alg=signing_alg)
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    def not_found(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    wsgi = DispatcherMiddleware(not_found, {"/sandbox/vneid": sandbox_app(provider)})
    with serve(wsgi, port):
        yield Upstream(provider, issuer)


def client_for(issuer: str, clock, **changes) -> VneidClient:
    """The gateway's client for ``issuer``, configured as the defaults say."""
    from config import defaults

    settings = {"VNEID_ISSUER": issuer, "VNEID_CLIENT_ID": CLIENT_ID,
                "VNEID_CLIENT_SECRET": SECRET, "VNEID_PRIVATE_KEY_FILE": "",
                "VNEID_SCOPE": "openid", "VNEID_ACR_VALUES": "",
                "VNEID_CLAIMS": defaults.VNEID_CLAIMS, "VNEID_LEVEL2_VALUES": "2,LoA2",
                "ISSUER": REDIRECT.rsplit("/vneid/callback", 1)[0], "VNEID_TIMEOUT": 5,
                "VNEID_CLOCK_SKEW": 60}
    settings.update({f"VNEID_{k.upper()}": v for k, v in changes.items()})
    return VneidClient(VneidConfig.from_settings(settings), clock=clock)


def choose(user_agent, authorization_url: str, tech_id: str, *, cancel: bool = False) -> str:
    """A person on the sandbox's page: opens it, chooses ``tech_id`` (or cancels); returns
    where the sandbox sends the browser (the Location of its answer)."""
    get = user_agent.get
    page = get(authorization_url)
    html = page.text if hasattr(page, "text") else page.get_data(as_text=True)
    assert page.status_code == 200, html
    ticket = re.search(r'name="ticket" value="([^"]+)"', html).group(1)
    base = authorization_url.split("/authorize", 1)[0]
    target = f"{base}/authorize/cancel" if cancel else f"{base}/authorize/choose"
    data = {"ticket": ticket} if cancel else {"ticket": ticket, "citizen": tech_id}
    if isinstance(user_agent, requests.Session):
        answer = user_agent.post(target, data=data, allow_redirects=False)
        return answer.headers["Location"]
    answer = user_agent.post(urlsplit(target).path, data=data)
    return answer.location


def callback_params(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@contextmanager
def silent_server():
    """A loopback port that accepts connections and never answers: a hung upstream."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


# --- the gateway's side: a person signing in with VNeID through a served gateway ---------------

WEB_REDIRECT = "https://portal.example.vn/callback"   # not followed: the code is read from it
APP_REDIRECT = "http://127.0.0.1:9/cb"

# The accounts the sandbox citizens meet (as `flask demo seed` makes them).
ACCOUNTS = {
    AN: dict(bhxh="0123456789", name="Nguyễn Văn An", dob="1985-04-12", sex="male",
             cccd="001085012345", phone="0912345623", level=2),
    BINH: dict(bhxh="7912345678", name="Trần Thị Bình", dob="2001-09-30", sex="female",
               cccd="079301004567", phone="0987654321", level=1),
    CUONG: dict(bhxh="0312345678", name="Lê Văn Cường", dob="1990-06-15", sex="male",
                cccd="031090001234", phone="0903456789", level=2),
}


def seed_accounts():
    """The accounts above, password tests.helpers.PASSWORD; {tech_id: account id}."""
    from gateway.extensions import db
    from tests.helpers import new_account

    ids = {tech_id: new_account(**spec).id for tech_id, spec in ACCOUNTS.items()}
    db.session.commit()
    return ids


@dataclass
class VneidWorld:
    """A served gateway whose VNeID upstream is its own sandbox, or a rogue one."""

    app: object
    base: str
    web_id: str
    web_secret: str
    app_id: str
    accounts: dict
    upstream: Upstream | None = None

    def person(self) -> Person:
        return Person(self.base)


@contextmanager
def vneid_world(make_app, tmp_path, *, rogue: bool = False, port: int | None = None,
                **settings):
    """The world the VNeID flow tests run in (the fixtures in tests/flows/conftest.py);
    ``port``: the gateway's, when an upstream had to know it first."""
    from gateway.clock import Clock
    from gateway.extensions import db
    from tests.helpers import new_client

    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with (served_upstream(Clock(), redirect_uri=f"{base}/vneid/callback") if rogue
          else _nothing()) as upstream:
        if upstream is not None:
            settings.update(VNEID_ISSUER=upstream.issuer, VNEID_CLIENT_ID=CLIENT_ID,
                            VNEID_CLIENT_SECRET=SECRET)
        app = make_app(ISSUER=base, SMS_OUTBOX=str(tmp_path / "sms.jsonl"), **settings)
        with app.app_context():
            accounts = seed_accounts()
            web_id, web_secret = new_client(redirect_uris=[WEB_REDIRECT])
            app_id, _ = new_client(type="app", redirect_uris=[APP_REDIRECT])
            db.session.remove()
        with serve(app, port):
            yield VneidWorld(app, base, web_id, web_secret, app_id, accounts, upstream)


@contextmanager
def _nothing():
    yield None


class Person:
    """A browser (cookies and all) on a served gateway, with real HTTP: no redirect followed,
    so each step's answer can be looked at."""

    def __init__(self, base: str):
        self.base = base
        self.ua = requests.Session()
        self.ua.trust_env = False

    def get(self, url: str, **kw):
        return self.ua.get(url if url.startswith("http") else self.base + url,
                           allow_redirects=False, timeout=30, **kw)

    def post(self, url: str, data: dict, **kw):
        return self.ua.post(url if url.startswith("http") else self.base + url, data=data,
                            allow_redirects=False, timeout=30, **kw)

    def authorize(self, client_id: str, redirect_uri: str = WEB_REDIRECT, **extra):
        import secrets
        from urllib.parse import urlencode

        from tests.helpers import s256

        self.verifier = secrets.token_urlsafe(48)
        self.params = {"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "scope": "openid profile offline_access",
                       "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                       "code_challenge": s256(self.verifier), "code_challenge_method": "S256",
                       **extra}
        return self.get("/authorize?" + urlencode(
            {k: v for k, v in self.params.items() if v is not None}))

    def to_upstream(self, client_id: str, **extra) -> str:
        """/authorize → the login page → its VNeID button → the upstream's URL."""
        login = self.authorize(client_id, **extra)
        assert login.status_code == 302 and "/login?flow=" in login.headers["Location"]
        self.login_page = login.headers["Location"]
        page = self.get(self.login_page)
        assert page.status_code == 200
        start = re.search(r'id="vneid" class="button" href="([^"]+)"', page.text).group(1)
        answer = self.get(start.replace("&amp;", "&"))
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def choose(self, upstream_url: str, tech_id: str, **kw) -> str:
        """On the upstream's page: the callback URL it sends the browser to."""
        return choose(self.ua, upstream_url, tech_id, **kw)

    def callback(self, url: str):
        """The callback's answer; a sign-in that ended there is followed to its page."""
        answer = self.get(url)
        if answer.status_code == 303 and answer.headers["Location"].endswith("/vneid/ended"):
            return self.get(answer.headers["Location"])
        return answer

    def sign_in(self, client_id: str, tech_id: str, **extra):
        """The whole way to the callback's answer (a redirect onwards is not followed)."""
        return self.callback(self.choose(self.to_upstream(client_id, **extra), tech_id))

    def follow_to_client(self, response, redirect_uri: str = WEB_REDIRECT) -> dict:
        """From a signed-in answer, back through /authorize to the client: its query."""
        while response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.startswith(redirect_uri):
                return callback_params(location)
            response = self.get(location)
        raise AssertionError(f"never reached the client: {response.status_code} "
                             f"{response.text[:300]}")

    def form(self, response_or_path, data: dict):
        """Submits the page's form (its CSRF token added) to the page's own address."""
        page = self.get(response_or_path) if isinstance(response_or_path, str) else (
            response_or_path)
        path = page.url.replace(self.base, "") if page.url.startswith(self.base) else page.url
        from tests.helpers import csrf_of

        return self.post(path, {"csrf_token": csrf_of(page.text), **data})


def tokens_for(base: str, client_id: str, secret: str, code: str, verifier: str,
               redirect_uri: str = WEB_REDIRECT) -> dict:
    import base64 as b64

    auth = b64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = requests.post(f"{base}/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": redirect_uri}, headers={"Authorization": f"Basic {auth}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- panva's oidc-provider playing VNeID (tests/interop/op.mjs) ------------------------------

INTEROP = Path(__file__).resolve().parents[1] / "interop"


@contextmanager
def node_op(gateway_base: str, accounts: dict, *, client_jwks: dict | None = None,
            id_token_alg: str = "RS256"):  # noqa: S107 (an algorithm name)
    """oidc-provider on a free loopback port, the gateway its one client; yields its issuer.
    Fails (never skips) when node or the Node project is missing: `make test-deps`."""
    import json
    import os
    import shutil
    import subprocess

    import pytest

    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("node or tests/interop/node_modules/oidc-provider is missing: "
                    "run `make test-deps`")
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PORT": str(port), "CLIENT_ID": CLIENT_ID,
           "GATEWAY_CALLBACK": f"{gateway_base}/vneid/callback",
           "ACCOUNTS": json.dumps(accounts, ensure_ascii=False), "ID_TOKEN_ALG": id_token_alg}
    if client_jwks is not None:
        env["CLIENT_JWKS"] = json.dumps(client_jwks)
    else:
        env["CLIENT_SECRET"] = SECRET
    process = subprocess.Popen([node, str(INTEROP / "op.mjs")], cwd=INTEROP, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("ready "):
            process.kill()
            pytest.fail(f"op.mjs did not start: {line}{process.stderr.read()}")
        yield line.split()[1]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def through_node_op(person: Person, authorization_url: str, account: str | None) -> str:
    """A person at oidc-provider: follows it to its login page, chooses ``account`` (None:
    cancels), follows it back; returns the gateway callback URL it ends at."""
    from urllib.parse import urljoin

    url, hops = authorization_url, 0
    while hops < 10:
        hops += 1
        answer = person.ua.get(url, allow_redirects=False, timeout=30)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(person.base + "/vneid/callback"):
                return url
            continue
        assert answer.status_code == 200, answer.text
        action = re.search(r'action="(/interaction/[^"]+/abort)"', answer.text).group(1) if (
            account is None) else re.search(
            rf'action="(/interaction/[^"]+/login)"><input type="hidden" name="account" '
            rf'value="{re.escape(account)}"', answer.text).group(1)
        data = {} if account is None else {"account": account}
        posted = person.ua.post(urljoin(url, action), data=data, allow_redirects=False,
                                timeout=30)
        assert posted.status_code in (302, 303), posted.text
        url = urljoin(url, posted.headers["Location"])
    raise AssertionError("oidc-provider never sent the browser back")
