"""The health-insurance card QR: issued only to the active device over DPoP, verified offline
with PyJWT and the JWKS, and online — where a takeover ends the old device's QR at once.

One gateway and one account for the module (one Argon2id hash); each test signs a device in
of its own, taking the account over from the previous one with the SMS code when needed."""

from __future__ import annotations

import base64
import json
import secrets

import jwt
import pytest
import segno
from joserfc.jwk import ECKey

from gateway import create_app
from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.models import Account, Event
from gateway.oidc.dpop import create_proof
from tests.conftest import ClosingClient, _clean, release
from tests.helpers import PASSWORD, basic, exchange, get_code, new_account, new_client, s256
from tests.helpers.network import free_port, serve
from tests.helpers.sms import last_otp

PRESENT = "/api/v1/health-card/presentation"
VERIFY = "/api/v1/health-card/verify"


class World:
    def __init__(self, app, clock):
        self.app, self.clock, self.http = app, clock, app.test_client()

    def proof(self, key, method, path, access_token=None):
        return create_proof(key, method=method, url=self.app.config["ISSUER"] + path,
                            access_token=access_token, iat=self.clock.timestamp())

    def challenge(self, key, **fields):
        return self.http.post("/authorize-challenge", data={"client_id": self.app_id, **fields},
                              headers={"DPoP": self.proof(key, "POST", "/authorize-challenge")})

    def device(self, name="Điện thoại") -> tuple[ECKey, str]:
        """A device signed in (taking the account over with the SMS code if another device
        is active): its key and its DPoP-bound access token."""
        key = ECKey.generate_key("P-256", private=True)
        verifier = secrets.token_urlsafe(48)
        answer = self.challenge(key, username="0123456789", password=self.password,
                                device_id=f"dev-{secrets.token_hex(4)}", device_name=name,
                                scope="openid", code_challenge=s256(verifier),
                                code_challenge_method="S256")
        if answer.status_code == 400 and answer.json.get("reason") == "device_conflict":
            session = answer.json["auth_session"]
            assert self.challenge(key, auth_session=session, takeover="confirm").json[
                "reason"] == "otp_required"
            answer = self.challenge(key, auth_session=session, otp=last_otp(self.app))
        assert answer.status_code == 200, answer.json
        token = self.http.post("/token", data={
            "grant_type": "authorization_code", "code": answer.json["authorization_code"],
            "code_verifier": verifier, "client_id": self.app_id},
            headers={"DPoP": self.proof(key, "POST", "/token")})
        assert token.status_code == 200 and token.json["token_type"] == "DPoP"
        return key, token.json["access_token"]

    def present(self, key, access_token):
        return self.http.post(PRESENT, headers={
            "Authorization": f"DPoP {access_token}",
            "DPoP": self.proof(key, "POST", PRESENT, access_token)})

    def verify(self, presentation, client=None):
        client_id, secret = client or self.verifier
        return self.http.post(VERIFY, data={"presentation": presentation},
                              headers=basic(client_id, secret))

    def jwks(self):
        return jwt.PyJWKSet.from_dict(self.http.get("/jwks.json").json)


@pytest.fixture(scope="module")
def world(backend_settings, tmp_path_factory):
    clock = FixedClock()
    port = free_port()  # served too: the verifier's PyJWKClient fetches the JWKS over HTTP
    app = create_app({**backend_settings, "ISSUER": f"http://127.0.0.1:{port}",
                      "SMS_OUTBOX": str(tmp_path_factory.mktemp("hc") / "sms.jsonl")},
                     clock=clock)
    app.config["TESTING"] = True
    app.test_client_class = ClosingClient
    _clean(app)
    w = World(app, clock)
    with app.app_context():
        w.password = PASSWORD
        w.sub = new_account().sub
        w.app_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
        w.web = new_client(type="web")
        w.verifier = new_client(type="service", scopes=["health_card"])
        w.other_service = new_client(type="service")
        db.session.remove()
    with serve(app, port):
        yield w
    _clean(app)
    release(app)


def _segments(value):
    return [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in value.split(".")[:2]]


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_active_device_gets_a_small_qr_verified_offline_and_online(world):
    key, access = world.device()
    answer = world.present(key, access)
    assert answer.status_code == 200, answer.json
    assert answer.headers["Cache-Control"] == "no-store"
    value = answer.json["presentation"]
    assert answer.json["token_type"] == "vssid-hc+jwt" and answer.json["expires_in"] == 300

    # Offline, as a hospital's system does it (docs/health-card.md): PyJWT's JWKS client over
    # HTTP, the kid in the header.
    header = jwt.get_unverified_header(value)
    assert header["typ"] == "vssid-hc+jwt" and header["alg"] == "ES256"
    jwks = jwt.PyJWKClient(world.app.config["ISSUER"] + "/jwks.json")
    claims = jwt.decode(value, jwks.get_signing_key(header["kid"]).key, algorithms=["ES256"],
                        issuer=world.app.config["ISSUER"],
                        options={"require": ["iss", "sub", "iat", "exp", "jti"]})
    assert claims["exp"] - claims["iat"] == 300
    assert claims["sub"] == world.sub
    assert (claims["hcn"], claims["name"], claims["birthdate"], claims["hcv"], claims["hcf"]) == (
        "DN4010123456789", "Nguyễn Văn An", "1985-04-12", ["2026-01-01", "2026-12-31"], "01001")
    assert claims["cnf"] == {"jkt": key.thumbprint()}
    # Small enough for a QR on a phone screen at error correction M or Q (~25 % restored):
    # a guard against growth; bench/health_card.py prints the figures.
    assert len(value) <= 640
    assert segno.make(value, error="m", boost_error=False).version <= 20
    assert segno.make(value, error="q", boost_error=False).version <= 24

    online = world.verify(value)
    assert online.status_code == 200, online.json
    assert online.json["valid"] is True and online.json["device_active"] is True
    assert online.json["card"]["number"] == "DN4010123456789"
    assert online.json["card"]["facility_code"] == "01001" and online.json["sub"] == world.sub
    assert online.json["card"]["facility_name"] == "Bệnh viện đa khoa (demo) quận Ba Đình"
    with world.app.app_context():
        events = Event.query.filter(Event.name.like("health_card.%")).all()
        assert {e.name for e in events} >= {"health_card.presented", "health_card.verified"}
        assert "0123456789" not in json.dumps([e.data for e in events])


def test_only_a_dpop_token_of_the_active_device_gets_a_card(world):
    key, access = world.device()
    assert world.http.post(PRESENT).status_code == 401
    # The person's token from the portal, without DPoP: RFC 9449 §7.1, a DPoP challenge.
    with world.app.test_client() as browser:
        web_id, web_secret = world.web
        result, verifier, params = get_code(browser, web_id, password=world.password)
        plain = exchange(browser, web_id, web_secret, result["code"], verifier).json
        refused = world.http.post(PRESENT, headers={
            "Authorization": f"Bearer {plain['access_token']}"})
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("DPoP")
        # The same person, DPoP-bound, but from the portal's key: not the active device.
        other = ECKey.generate_key("P-256", private=True)
        result, verifier, params = get_code(browser, web_id)
        bound = browser.post("/token", data={
            "grant_type": "authorization_code", "code": result["code"],
            "code_verifier": verifier, "redirect_uri": params["redirect_uri"]},
            headers={**basic(web_id, web_secret), "DPoP": world.proof(other, "POST", "/token")})
        assert bound.json["token_type"] == "DPoP"
    answer = world.present(other, bound.json["access_token"])
    assert (answer.status_code, answer.json) == (403, {"error": "device_not_active"})
    # A proof by another key than the token's: refused before anything else.
    assert world.present(other, access).status_code == 401
    assert world.present(key, access).status_code == 200


def test_a_verifier_must_be_registered_and_authenticated(world):
    key, access = world.device()
    value = world.present(key, access).json["presentation"]
    assert world.verify(value, (world.verifier[0], "wrong")).status_code == 401
    for client in (world.other_service, world.web):
        answer = world.verify(value, client)
        assert (answer.status_code, answer.json) == (403, {"error": "verifier_required"})


def test_a_takeover_ends_the_old_devices_qr_at_once(world):
    key_a, access_a = world.device("Điện thoại cũ")
    old = world.present(key_a, access_a).json["presentation"]
    assert world.verify(old).status_code == 200
    key_b, access_b = world.device("Điện thoại mới")  # the SMS code, the takeover
    answer = world.verify(old)
    assert (answer.status_code, answer.json) == (409, {"error": "presentation_revoked"})
    # Offline the old QR still verifies until it expires: only the online check knows.
    header = jwt.get_unverified_header(old)
    assert jwt.decode(old, world.jwks()[header["kid"]].key, algorithms=["ES256"])
    # The evicted device gets no new one; the new device does, and it verifies.
    assert world.present(key_a, access_a).status_code == 401
    new = world.present(key_b, access_b).json["presentation"]
    assert world.verify(new).json["device_active"] is True
    with world.app.app_context():
        account = Account.query.filter_by(sub=world.sub).one()
        assert account.bhxh == "0123456789"


def test_tampered_foreign_and_expired_presentations_are_refused(world):
    key, access = world.device()
    value = world.present(key, access).json["presentation"]
    header, claims = _segments(value)
    signature = value.rsplit(".", 1)[1]
    forged = ".".join([_b64(header), _b64({**claims, "hcn": "DN4019999999999"}), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, world.jwks()[header["kid"]].key, algorithms=["ES256"])
    for bad in (forged, access, value[:-4] + "AAAA", "", "a.b.c"):
        answer = world.verify(bad)
        assert (answer.status_code, answer.json) == (400, {"error": "presentation_invalid"})
    world.clock.advance(seconds=299)
    assert world.verify(value).status_code == 200
    world.clock.advance(seconds=1)
    answer = world.verify(value)
    assert (answer.status_code, answer.json) == (400, {"error": "presentation_expired"})
