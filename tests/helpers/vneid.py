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
