"""Security event signals to relying services (OpenID SSF 1.0 + CAEP, RFC 8417, RFC 8935),
end to end: a portal and a service manage their streams with their own tokens; what the
gateway's services do (sign-out, password change, a VNeID link raising the level) reaches
their loopback receivers as SETs that PyJWT verifies against our JWKS, through the outbox and
the worker's task; a 503 is retried, a 400 is recorded and given up, a deliverer that died
between sending and recording re-sends the same `jti`, and nothing goes out twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update

from gateway import create_app
from gateway.clock import utcnow
from gateway.extensions import db
from gateway.jobs import tasks
from gateway.jobs.queue import DELIVER, queue_of
from gateway.models import Account, Event, OutboxMessage, SsfStream
from gateway.oidc import ssf
from gateway.services import links
from gateway.services.outbox import deliver_due
from gateway.services.outbox import delivery as outbox_delivery
from gateway.services.ssf_streams import (
    ASSURANCE_LEVEL_CHANGE,
    CREDENTIAL_CHANGE,
    EVENTS_SUPPORTED,
    SESSION_REVOKED,
    VERIFICATION,
)
from policies.assurance import ACR_LEVEL_1, ACR_LEVEL_2
from tests.conftest import ClosingClient, _clean, release
from tests.helpers import PASSWORD, basic, new_account, new_client, race, run_jobs
from tests.helpers.links import identity
from tests.helpers.network import free_port, serve
from tests.helpers.oidc import bearer, tokens
from tests.helpers.ssf import SetReceiver

PUSH = "urn:ietf:rfc:8935"
NEW_PASSWORD = "Mật-khẩu-mới-đủ-dài-2027"


@dataclass
class World:
    app: object
    base: str
    sub: str
    portal: tuple[str, str]
    service: tuple[str, str]
    plain: tuple[str, str]  # a service without scope ssf.manage
    receivers: list = field(default_factory=list)

    def receiver(self, audience: str, authorization: str | None = None) -> SetReceiver:
        receiver = SetReceiver(issuer=self.base, audience=audience, authorization=authorization)
        self.receivers.append(receiver)
        return receiver


@pytest.fixture(scope="module")
def served(backend_settings, tmp_path_factory):
    """One gateway served for the module (its JWKS is what the receivers fetch)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app({**backend_settings, "ISSUER": base,
                      "SMS_OUTBOX": str(tmp_path_factory.mktemp("ssf") / "sms.jsonl")})
    app.config["TESTING"] = True
    app.test_client_class = ClosingClient
    with serve(app, port):
        yield app, base
    _clean(app)
    release(app)


@pytest.fixture
def gw(served):
    app, base = served
    _clean(app)
    app.extensions.pop("gateway.keys", None)  # the keys were cleaned too: no cached one
    with app.app_context():
        sub = new_account().sub
        portal = new_client(type="web", scopes=["openid", "profile", "ssf.manage"])
        service = new_client(type="service", scopes=["ssf.manage"])
        plain = new_client(type="service")
        db.session.remove()
    world = World(app, base, sub, portal, service, plain)
    yield world
    for receiver in world.receivers:
        receiver.close()


def own_token(c, client: tuple[str, str], scope: str = "ssf.manage"):
    return c.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                  headers=basic(*client))


def auth(c, client) -> dict:
    answer = own_token(c, client)
    assert answer.status_code == 200, answer.json
    return bearer(answer.json["access_token"])


def create_stream(c, headers, receiver: SetReceiver, events=EVENTS_SUPPORTED, **delivery):
    answer = c.post("/ssf/stream", headers=headers, json={
        "delivery": {"method": PUSH, "endpoint_url": receiver.url, **delivery},
        "events_requested": list(events), "description": "test stream"})
    assert answer.status_code == 201, answer.json
    return answer.json


def deliver(app) -> None:
    """What a worker does (PostgreSQL: the jobs the requests deferred), then one sweep for
    what was written outside a request."""
    run_jobs(app)
    with app.app_context():
        deliver_due()
        db.session.remove()


def iss_sub(world: World, sub: str | None = None) -> dict:
    return {"format": "iss_sub", "iss": world.base, "sub": sub or world.sub}


def only_message() -> OutboxMessage:
    db.session.expire_all()
    [message] = OutboxMessage.query.filter_by(channel=ssf.CHANNEL).all()
    return message


# ---------------------------------------------------------------- metadata and streams


def test_the_transmitter_publishes_its_metadata(gw):
    meta = gw.app.test_client().get("/.well-known/ssf-configuration").json
    assert meta["issuer"] == gw.base and meta["jwks_uri"] == f"{gw.base}/jwks.json"
    assert meta["spec_version"] == "1_0" and meta["delivery_methods_supported"] == [PUSH]
    for name, path in (("configuration_endpoint", "/ssf/stream"),
                       ("status_endpoint", "/ssf/status"),
                       ("add_subject_endpoint", "/ssf/subjects/add"),
                       ("remove_subject_endpoint", "/ssf/subjects/remove"),
                       ("verification_endpoint", "/ssf/verify")):
        assert meta[name] == gw.base + path
    assert meta["default_subjects"] == "ALL"
    assert {"spec_urn": "urn:ietf:rfc:6749"} in meta["authorization_schemes"]


def test_stream_management_is_each_receivers_own(gw):
    c = gw.app.test_client()
    portal_rx = gw.receiver(gw.portal[0], authorization="Bearer receiver-secret-1")
    # Without a token, with a token lacking the scope, or a client not allowed the scope.
    assert c.get("/ssf/stream").status_code == 401
    assert c.get("/ssf/stream", headers=bearer("not-a-token")).status_code == 401
    assert own_token(c, gw.plain).json["error"] == "invalid_scope"
    no_scope = own_token(c, gw.plain, scope="")
    refused = c.get("/ssf/stream", headers=bearer(no_scope.json["access_token"]))
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"
    assert 'scope="ssf.manage"' in refused.headers["WWW-Authenticate"]

    portal, service = auth(c, gw.portal), auth(c, gw.service)
    for delivery, code in (({"method": PUSH, "endpoint_url": "ftp://x.example/e"},
                            "invalid_endpoint_url"),
                           ({"method": "urn:ietf:rfc:8936", "endpoint_url": portal_rx.url},
                            "unsupported_delivery_method"),
                           ({"method": PUSH, "endpoint_url": portal_rx.url,
                             "authorization_header": "Bearer a\r\nX-Injected: 1"},
                            "invalid_authorization_header")):
        answer = c.post("/ssf/stream", headers=portal, json={"delivery": delivery})
        assert (answer.status_code, answer.json["error"]) == (400, code)

    config = create_stream(c, portal, portal_rx, authorization_header=portal_rx.authorization)
    stream_id = config["stream_id"]
    assert (config["iss"], config["aud"]) == (gw.base, gw.portal[0])
    assert config["delivery"] == {"method": PUSH, "endpoint_url": portal_rx.url}
    assert config["events_delivered"] == list(EVENTS_SUPPORTED)
    assert "authorization_header" not in str(config)
    again = c.post("/ssf/stream", headers=portal, json={
        "delivery": {"method": PUSH, "endpoint_url": portal_rx.url}})
    assert (again.status_code, again.json["error"]) == (409, "stream_exists")

    # Sealed at rest: neither the endpoint nor the header the receiver gave us in clear.
    with gw.app.app_context():
        row = SsfStream.query.filter_by(stream_id=stream_id).one()
        sealed = bytes(row.endpoint_sealed) + bytes(row.authorization_sealed)
        assert b"127.0.0.1" not in sealed and b"receiver-secret-1" not in sealed
        db.session.remove()

    # Another receiver sees its own streams only; the portal's is "not found" to it.
    create_stream(c, service, gw.receiver(gw.service[0]))
    for method, kwargs in (("GET", {"query_string": {"stream_id": stream_id}}),
                           ("DELETE", {"query_string": {"stream_id": stream_id}}),
                           ("PATCH", {"json": {"stream_id": stream_id, "description": "x"}}),
                           ("POST", {"json": {"stream_id": stream_id, "status": "disabled"}})):
        path = "/ssf/status" if method == "POST" else "/ssf/stream"
        answer = c.open(path, method=method, headers=service, **kwargs)
        assert (answer.status_code, answer.json["error"]) == (404, "stream_not_found"), method
    [listed] = c.get("/ssf/stream", headers=portal).json
    assert listed["stream_id"] == stream_id

    patched = c.patch("/ssf/stream", headers=portal, json={
        "stream_id": stream_id, "events_requested": [SESSION_REVOKED, "urn:example:unknown"]})
    assert patched.json["events_delivered"] == [SESSION_REVOKED]
    assert patched.json["description"] == "test stream"  # PATCH keeps what it did not name
    replaced = c.put("/ssf/stream", headers=portal, json={
        "stream_id": stream_id, "delivery": {"method": PUSH, "endpoint_url": portal_rx.url}})
    assert replaced.json["events_delivered"] == [] and "description" not in replaced.json

    status = c.get("/ssf/status", headers=portal, query_string={"stream_id": stream_id})
    assert status.json == {"stream_id": stream_id, "status": "enabled"}
    paused = c.post("/ssf/status", headers=portal,
                    json={"stream_id": stream_id, "status": "paused", "reason": "maintenance"})
    assert paused.json == {"stream_id": stream_id, "status": "paused", "reason": "maintenance"}
    bad = c.post("/ssf/status", headers=portal, json={"stream_id": stream_id, "status": "on"})
    assert (bad.status_code, bad.json["error"]) == (400, "invalid_status")

    assert c.delete("/ssf/stream", headers=portal,
                    query_string={"stream_id": stream_id}).status_code == 204
    gone = c.get("/ssf/stream", headers=portal, query_string={"stream_id": stream_id})
    assert gone.status_code == 404
    with gw.app.app_context():
        names = [e.name for e in Event.query.order_by(Event.id) if e.name.startswith("ssf_")]
        assert names == ["ssf_stream.created", "ssf_stream.created", "ssf_stream.updated",
                         "ssf_stream.updated", "ssf_stream.status_changed",
                         "ssf_stream.deleted"]
        db.session.remove()


def test_a_verification_event_reaches_the_receiver_with_its_header(gw):
    c = gw.app.test_client()
    portal = auth(c, gw.portal)
    rx = gw.receiver(gw.portal[0], authorization="Bearer receiver-secret-2")
    stream_id = create_stream(c, portal, rx, authorization_header=rx.authorization)["stream_id"]
    asked = c.post("/ssf/verify", headers=portal, json={"stream_id": stream_id, "state": "s1"})
    assert asked.status_code == 204
    deliver(gw.app)
    assert rx.events() == [(VERIFICATION, {"state": "s1"},
                            {"format": "opaque", "id": stream_id})]
    assert rx.errors == []
    again = c.post("/ssf/verify", headers=portal, json={"stream_id": stream_id})
    assert (again.status_code, again.json["error"]) == (429, "verification_too_soon")
    assert int(again.headers["Retry-After"]) > 0


# ---------------------------------------------------------------- CAEP events end to end


def test_sign_out_and_password_change_reach_the_streams_that_hear_of_the_person(gw):
    c = gw.app.test_client()
    portal, service = auth(c, gw.portal), auth(c, gw.service)
    portal_rx, service_rx = gw.receiver(gw.portal[0]), gw.receiver(gw.service[0])
    create_stream(c, portal, portal_rx)
    service_stream = create_stream(c, service, service_rx)["stream_id"]

    # The person signs in at the portal: the portal now hears of them (default subjects).
    person = tokens(c, *gw.portal)
    refused = c.get("/ssf/stream", headers=bearer(person["access_token"]))
    assert refused.status_code == 403  # a person's token never manages a stream

    changed = c.post("/api/v1/password", headers=bearer(person["access_token"]),
                     json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.json
    deliver(gw.app)
    [(event, fields, subject)] = portal_rx.events()
    assert event == CREDENTIAL_CHANGE and subject == iss_sub(gw)
    assert (fields["credential_type"], fields["change_type"],
            fields["initiating_entity"]) == ("password", "update", "user")
    assert isinstance(fields["event_timestamp"], int)
    assert service_rx.events() == []  # the service never saw this person

    # The service names the person by the sub it knows (and an unknown sub: same answer).
    for sub in (gw.sub, "no-such-subject"):
        added = c.post("/ssf/subjects/add", headers=service,
                       json={"stream_id": service_stream, "subject": iss_sub(gw, sub)})
        assert added.status_code == 200
    bad = c.post("/ssf/subjects/add", headers=service, json={
        "stream_id": service_stream, "subject": {"format": "email", "email": "a@b.vn"}})
    assert (bad.status_code, bad.json["error"]) == (400, "invalid_subject")

    out = c.post("/api/v1/sessions/revoke-all", headers=bearer(person["access_token"]),
                 json={"password": NEW_PASSWORD})
    assert out.status_code == 200, out.json
    deliver(gw.app)
    for rx in (portal_rx, service_rx):
        (event, fields, subject) = rx.events()[-1]
        assert event == SESSION_REVOKED and subject == iss_sub(gw)
        assert fields["initiating_entity"] == "user"
        assert fields["reason_admin"] == {"en": "signed_out_by_user"}
    assert len(portal_rx.events()) == 2 and len(service_rx.events()) == 1
    with gw.app.app_context():
        bhxh = Account.query.filter_by(sub=gw.sub).one().bhxh
        db.session.remove()
    every = str(portal_rx.sets + service_rx.sets)
    assert gw.sub in every and bhxh not in every  # never the social-insurance number
    assert all(isinstance(claims.get("txn"), str) for claims in portal_rx.sets)
    assert portal_rx.errors == service_rx.errors == []

    # Removed from the service's stream: it hears nothing more of the person.
    removed = c.post("/ssf/subjects/remove", headers=service,
                     json={"stream_id": service_stream, "subject": iss_sub(gw)})
    assert removed.status_code == 204
    with gw.app.app_context():
        ssf.signal(Account.query.filter_by(sub=gw.sub).one().id, CREDENTIAL_CHANGE,
                   {"credential_type": "password", "change_type": "update"})
        db.session.commit()
    deliver(gw.app)
    assert len(service_rx.events()) == 1 and len(portal_rx.events()) == 3


def test_a_vneid_link_raising_the_level_is_an_assurance_level_change(gw):
    c = gw.app.test_client()
    service = auth(c, gw.service)
    rx = gw.receiver(gw.service[0])
    stream_id = create_stream(c, service, rx, events=[ASSURANCE_LEVEL_CHANGE])["stream_id"]
    with gw.app.app_context():
        account = new_account(bhxh="0123456780", level=1, phone="0912345624")
        sub = account.sub
    c.post("/ssf/subjects/add", headers=service,
           json={"stream_id": stream_id, "subject": iss_sub(gw, sub)})
    with gw.app.app_context():
        account = Account.query.filter_by(sub=sub).one()
        links.link(identity(), account, how="auto", reason="test")
        db.session.remove()
    deliver(gw.app)
    [(event, fields, subject)] = rx.events()
    assert event == ASSURANCE_LEVEL_CHANGE and subject == iss_sub(gw, sub)
    assert {k: fields[k] for k in ("namespace", "current_level", "previous_level",
                                   "change_direction")} == {
        "namespace": "custom", "current_level": ACR_LEVEL_2, "previous_level": ACR_LEVEL_1,
        "change_direction": "increase"}
    assert rx.errors == []


# ---------------------------------------------------------------- delivery


def _verification_queued(gw, rx) -> str:
    """A stream for the portal and one SET queued outside a request (no trigger: the sweep's)."""
    c = gw.app.test_client()
    stream_id = create_stream(c, auth(c, gw.portal), rx)["stream_id"]
    with gw.app.app_context():
        ssf.request_verification(SsfStream.query.filter_by(stream_id=stream_id).one(), "q")
        db.session.remove()
    return stream_id


def _make_due():
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()
                                                    - timedelta(seconds=1)))
    db.session.commit()


def test_a_503_is_retried_and_concurrent_workers_send_once(gw):
    rx = gw.receiver(gw.portal[0])
    rx.answers.append((503, None))
    _verification_queued(gw, rx)
    with gw.app.app_context():
        assert deliver_due() == {"claimed": 1, "delivered": 0, "failed": 1}
        message = only_message()
        assert (message.attempts, message.last_error) == (1, "http_503")
        assert message.next_attempt_at is not None and rx.sets == []
        _make_due()

        def worker(_):
            with gw.app.app_context():
                return deliver_due()["delivered"]

        assert sorted(race(2, worker)) == [0, 1]
        assert only_message().delivered_at is not None
        key = bytes(only_message().message_key).hex()
        db.session.remove()
    # The same message's job run again (a second trigger): nothing goes out twice.
    queue = queue_of(gw.app)
    if queue is not None:
        with gw.app.app_context():
            queue.defer(DELIVER, keys=[key])
        run_jobs(gw.app)
    else:
        with gw.app.app_context():
            assert tasks.deliver_messages([key])["delivered"] == 0
    assert len(rx.sets) == 1 and len(set(rx.attempts)) == 1 and len(rx.attempts) == 2
    assert rx.errors == []


def test_a_permanent_refusal_is_recorded_and_not_retried(gw):
    rx = gw.receiver(gw.portal[0])
    rx.answers.append((400, {"err": "invalid_key", "description": "unknown kid"}))
    _verification_queued(gw, rx)
    with gw.app.app_context():
        assert deliver_due()["failed"] == 1
        message = only_message()
        assert message.failed_at is not None and message.next_attempt_at is None
        assert message.last_error == "set_invalid_key"
        [failed] = Event.query.filter_by(name="message.failed").all()
        assert failed.data["reason"] == "set_invalid_key"
        db.session.remove()
    assert rx.sets == []


def test_a_deliverer_dying_after_sending_resends_the_same_jti(gw, monkeypatch):
    rx = gw.receiver(gw.portal[0])
    _verification_queued(gw, rx)

    def die(name, **fields):
        if name == "message.delivered":
            raise RuntimeError("the worker died before recording the delivery")

    with gw.app.app_context():
        monkeypatch.setattr(outbox_delivery, "emit", die)
        with pytest.raises(RuntimeError):
            deliver_due()
        db.session.rollback()
        monkeypatch.undo()
        message = only_message()
        assert message.delivered_at is None and message.attempts == 1  # still leased
        assert deliver_due()["claimed"] == 0  # not before its lease ends
        _make_due()  # the lease ran out
        assert deliver_due()["delivered"] == 1
        db.session.remove()
    # Sent twice, one event: the receiver recognises the repeat by its jti (RFC 8935 §2.1).
    assert len(rx.sets) == 2 and rx.sets[0]["jti"] == rx.sets[1]["jti"]
    assert len(rx.events()) == 1 and rx.errors == []
