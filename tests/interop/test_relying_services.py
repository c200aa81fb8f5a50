"""The examples of docs/relying-services.md, run against a live gateway on loopback.

Each library verifies the same tokens, minted by the gateway for a person on the portal
(Bearer) and on the app (DPoP-bound): a good token passes; another service's audience, an
expired token, a tampered one, a bound token without its proof or with a wrong or replayed one
are refused; after `flask keys rotate` the verifier, never restarted, accepts the new `kid`.
PyJWT and jose also check ID and back-channel logout tokens and see a signed-out session as
`active: false` at introspection (Authlib's resource protector checks access tokens only).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from examples.relying import authlib_resource, pyjwt_verifier
from gateway.extensions import db
from gateway.oidc.dpop import create_proof
from tests.helpers import basic, new_account, new_client, run_jobs
from tests.helpers.devices import LogoutReceiver
from tests.helpers.network import free_port, serve
from tests.helpers.oidc import decode_unverified, ec_key, public_tokens, tokens

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
RESOURCE = "https://hoso.benhvien.example.vn"  # the relying service's public URL
RECORDS = f"{RESOURCE}/records"
OTHER_AUDIENCE = "https://another-service.example.vn"
NONCE = "nonce-of-the-portal"


class Refused(Exception):
    pass


@dataclass
class World:
    app: object
    base: str
    clock: object
    web_id: str
    web_secret: str
    app_id: str
    service_id: str
    service_secret: str
    receiver: LogoutReceiver
    sub: str = ""


@pytest.fixture
def world(make_app, clock):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(clock=clock, ISSUER=base)
    receiver = LogoutReceiver()
    with app.app_context():
        sub = new_account().sub
        web_id, web_secret = new_client(backchannel_logout_uri=receiver.url)
        app_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
        service_id, service_secret = new_client(type="service", resources=(base,))
        db.session.remove()
    with serve(app, port):
        yield World(app, base, clock, web_id, web_secret, app_id, service_id, service_secret,
                    receiver, sub)
    receiver.close()


@dataclass
class Issued:
    browser: object
    bearer: str
    id_token: str
    bound: str
    device_key: object
    expired: str
    tampered: str


def issue(world: World) -> Issued:
    """The tokens a relying service meets, minted by the gateway itself."""
    browser = world.app.test_client()
    portal = tokens(browser, world.web_id, world.web_secret, nonce=NONCE)
    key = ec_key()
    bound = public_tokens(world.app.test_client(), world.app, world.app_id, key)
    world.clock.advance(minutes=-10)  # a token minted 10 minutes ago (lifetime 5) is expired
    old = world.app.test_client().post("/token", data={"grant_type": "client_credentials"},
                                       headers=basic(world.service_id, world.service_secret))
    world.clock.advance(minutes=10)
    assert old.status_code == 200, old.json
    head, payload, signature = portal["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] += " admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return Issued(browser, portal["access_token"], portal["id_token"], bound["access_token"],
                  key, old.json["access_token"], f"{head}.{forged}.{signature}")


def proof(issued: Issued, *, key=None, url=RECORDS, token=None) -> str:
    return create_proof(key or issued.device_key, method="GET", url=url,
                        access_token=token or issued.bound)


def rotate(world: World) -> str:
    # --now: the new kid reaches the verifier before any refetch of its cached key set (the
    # published-ahead rotation is tested in tests/flows/test_discovery_jwks.py)
    done = world.app.test_cli_runner().invoke(args=["keys", "rotate", "--now"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)["kid"]


def refused(call) -> None:
    with pytest.raises(Refused):
        call()


def check_access_tokens(world: World, issued: Issued, access, other_audience) -> None:
    """`access(token, scheme, proof)` returns the claims or raises Refused."""
    assert access(issued.bearer, "Bearer", None)["sub"] == world.sub
    refused(lambda: other_audience(issued.bearer))
    refused(lambda: access(issued.expired, "Bearer", None))
    refused(lambda: access(issued.tampered, "Bearer", None))

    refused(lambda: access(issued.bound, "Bearer", None))  # RFC 9449 §7.2
    refused(lambda: access(issued.bound, "DPoP", None))
    refused(lambda: access(issued.bound, "DPoP", proof(issued, key=ec_key())))
    refused(lambda: access(issued.bound, "DPoP", proof(issued, url=f"{RESOURCE}/other")))
    refused(lambda: access(issued.bound, "DPoP", proof(issued, token=issued.bearer)))
    good = proof(issued)
    assert access(issued.bound, "DPoP", good)["cnf"]["jkt"] == issued.device_key.thumbprint()
    refused(lambda: access(issued.bound, "DPoP", good))  # replayed

    old_kid = decode_unverified(issued.bearer)[0]["kid"]
    new_kid = rotate(world)
    fresh = tokens(issued.browser, world.web_id, world.web_secret)["access_token"]
    assert decode_unverified(fresh)[0]["kid"] == new_kid != old_kid
    assert access(fresh, "Bearer", None)["sub"] == world.sub
    assert access(issued.bearer, "Bearer", None)["sub"] == world.sub  # old key still published


def sign_out(world: World, issued: Issued) -> str:
    """The person signs out on the portal; the gateway sends the back-channel logout token."""
    response = issued.browser.get("/logout", query_string={"id_token_hint": issued.id_token})
    assert response.status_code == 200
    run_jobs(world.app)
    assert len(world.receiver.tokens) == 1
    return world.receiver.tokens[0]


def check_sessions(world: World, issued: Issued, verifier) -> None:
    """ID token, introspection before and after sign-out, the logout token."""
    id_claims = verifier.id_token(issued.id_token, client_id=world.web_id, nonce=NONCE)
    assert id_claims["sub"] == world.sub and id_claims["sid"]
    refused(lambda: verifier.id_token(issued.id_token, client_id=world.web_id, nonce="other"))
    refused(lambda: verifier.id_token(issued.bearer, client_id=world.web_id, nonce=NONCE))
    assert verifier.introspect(issued.bearer)["active"] is True

    logout = sign_out(world, issued)
    claims = verifier.logout_token(logout, client_id=world.web_id)
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == world.sub
    refused(lambda: verifier.logout_token(issued.id_token, client_id=world.web_id))
    assert verifier.introspect(issued.bearer) == {"active": False}


# --- PyJWT ---------------------------------------------------------------------------------

class PyJWT:
    def __init__(self, world: World, audience: str):
        self.v = pyjwt_verifier.Verifier(world.base, audience=audience,
                                         client_id=world.service_id,
                                         client_secret=world.service_secret, cooldown=0)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except pyjwt_verifier.Refused:
            raise Refused() from None

    def access(self, token, scheme, proof_):
        return self._call(self.v.access_token, token, scheme=scheme, proof=proof_,
                          method="GET", url=RECORDS)

    def id_token(self, token, **kw):
        return self._call(self.v.id_token, token, **kw)

    def logout_token(self, token, **kw):
        return self._call(self.v.logout_token, token, **kw)

    def introspect(self, token):
        return self.v.introspect(token)


def test_pyjwt(world):
    issued = issue(world)
    verifier = PyJWT(world, world.base)
    other = PyJWT(world, OTHER_AUDIENCE)
    check_access_tokens(world, issued, verifier.access,
                        lambda token: other.access(token, "Bearer", None))
    check_sessions(world, issued, verifier)


# --- Authlib's resource protector ----------------------------------------------------------

def test_authlib_resource_protector(world):
    issued = issue(world)

    def caller(audience):
        service = authlib_resource.create_app(world.base, audience=audience,
                                              public_url=RESOURCE, cooldown=0).test_client()

        def access(token, scheme, proof_):
            headers = {"Authorization": f"{scheme} {token}", **({"DPoP": proof_} if proof_ else {})}
            response = service.get("/records", headers=headers)
            if response.status_code != 200:
                assert response.status_code == 401, response.data
                raise Refused()
            return response.json

        return access

    other = caller(OTHER_AUDIENCE)
    check_access_tokens(world, issued, caller(world.base),
                        lambda token: other(token, "Bearer", None))


# --- Node's jose ---------------------------------------------------------------------------

class Jose:
    """tests/interop/relying/lines.mjs: one Node process, one verifier, asked line by line."""

    def __init__(self, world: World, audience: str):
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "jose").is_dir():
            pytest.fail("node or tests/interop/node_modules/jose missing: run `make test-deps`")
        env = {"PATH": os.environ.get("PATH", ""), "ISSUER": world.base, "AUDIENCE": audience,
               "CLIENT_ID": world.service_id, "CLIENT_SECRET": world.service_secret,
               "COOLDOWN_MS": "0"}
        self.process = subprocess.Popen([node, str(HERE / "relying" / "lines.mjs")], env=env,
                                        cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lock = threading.Lock()

    def ask(self, **request):
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        assert line, self.process.stderr.read()
        answer = json.loads(line)
        if not answer["ok"]:
            raise Refused(answer["error"])
        return answer["claims"]

    def access(self, token, scheme, proof_, audience=None):
        return self.ask(kind="access", token=token, scheme=scheme, proof=proof_, method="GET",
                        url=RECORDS, **({"audience": audience} if audience else {}))

    def id_token(self, token, client_id, nonce):
        return self.ask(kind="id", token=token, clientId=client_id, nonce=nonce)

    def logout_token(self, token, client_id):
        return self.ask(kind="logout", token=token, clientId=client_id)

    def introspect(self, token):
        return self.ask(kind="introspect", token=token)

    def close(self):
        self.process.stdin.close()
        assert self.process.wait(10) == 0, self.process.stderr.read()


def test_jose(world):
    issued = issue(world)
    verifier = Jose(world, world.base)
    try:
        check_access_tokens(world, issued, verifier.access,
                            lambda token: verifier.access(token, "Bearer", None,
                                                          audience=OTHER_AUDIENCE))
        check_sessions(world, issued, verifier)
    finally:
        verifier.close()
