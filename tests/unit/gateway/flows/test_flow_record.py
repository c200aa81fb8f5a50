"""gateway.flows.record: the one flow record — tables, transitions, binding, expiry, and one
consumer among concurrent callers, on the store of the backend under test."""

from __future__ import annotations

import json
import re
import threading

import pytest

from gateway.flows import record as flows
from gateway.flows.record import (
    DEVICE_LOGIN,
    KINDS,
    LOGIN,
    RECOVERY,
    FlowBindingError,
    FlowNotFoundError,
    FlowStateError,
)
from tests.helpers import race

DEVICE = {"client_id": "app-1", "jkt": "thumbprint-1"}
BROWSER = {"browser": "digest-of-this-browser"}


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_each_table_is_closed(kind):
    """Every state named anywhere in a kind is one of its states."""
    assert kind.initial in kind.states
    for after in kind.transitions.values():
        assert after <= kind.states
    for starts in kind.steps.values():
        assert starts and starts <= kind.states
    assert kind.final and kind.final <= kind.states


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_the_docstring_draws_every_state_and_step(kind):
    doc = flows.__doc__
    starts = sorted(doc.index(f"\n{name} — ") for name in KINDS)
    begin = doc.index(f"\n{kind.name} — ")
    end = next((i for i in starts if i > begin), doc.index("\nStore round trips"))
    section = doc[begin:end]
    for name in (*kind.states, *kind.steps):
        assert re.search(rf"\b{name}\b", section), (kind.name, name)


def test_ids_are_random_url_safe_and_long(app):
    ids = {flows.new(RECOVERY, bound_to={}, context={}).id for _ in range(50)}
    assert len(ids) == 50
    for flow_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", flow_id)  # 24 bytes: 192 bits


def test_a_new_record_is_stored_only_when_saved(app):
    record = flows.new(DEVICE_LOGIN, bound_to=DEVICE, context={"a": 1})
    assert record.state == "started" and not record.stored
    with pytest.raises(FlowNotFoundError):
        flows.load(DEVICE_LOGIN, record.id, bound_to=DEVICE)
    flows.advance(record, "device_conflict", expected_version=3)
    loaded = flows.load(DEVICE_LOGIN, record.id, bound_to=DEVICE)
    assert (loaded.state, loaded.context, loaded.bound_to) == (
        "device_conflict", {"a": 1, "expected_version": 3}, DEVICE)
    assert loaded.expires_at == record.expires_at


def test_the_stored_shape(app):
    record = flows.create(RECOVERY, bound_to={}, context={"login": "0123456789"})
    raw = app.extensions["gateway.store"].get(f"flow:recovery:{record.id}")
    assert json.loads(raw) == {"kind": "recovery", "state": "otp_sent",
                               "expires_at": record.expires_at, "bound_to": {},
                               "context": {"login": "0123456789"}}


def test_illegal_transitions_and_steps_are_a_stable_error(app):
    record = flows.create(LOGIN, bound_to=BROWSER, context={})
    with pytest.raises(FlowStateError) as caught:
        flows.advance(record, "pending")
    assert caught.value.code == "flow_state_invalid" and caught.value.status == 400
    with pytest.raises(FlowStateError):
        record.step("change_password")
    record.step("sign_in")
    flows.advance(record, "authenticated", sid="s")
    with pytest.raises(FlowStateError):
        record.step("sign_in")
    with pytest.raises(FlowStateError):
        flows.advance(record, "password_change_required")
    recovery = flows.create(RECOVERY, bound_to={}, context={})
    flows.advance(recovery, "verified")
    with pytest.raises(FlowStateError):
        flows.advance(recovery, "otp_sent")
    # nothing moved in the store
    assert flows.load(RECOVERY, recovery.id, bound_to={}).state == "verified"


def test_a_record_is_consumed_only_from_a_final_state(app):
    record = flows.create(LOGIN, bound_to=BROWSER, context={})
    with pytest.raises(FlowStateError):
        flows.take(LOGIN, record.id, bound_to=BROWSER)
    with pytest.raises(FlowNotFoundError):  # a take is a take: the pending record is gone
        flows.load(LOGIN, record.id, bound_to=BROWSER)
    conflict = flows.new(DEVICE_LOGIN, bound_to=DEVICE, context={})
    flows.advance(conflict, "device_conflict")
    with pytest.raises(FlowStateError):
        flows.consume(conflict)
    assert flows.load(DEVICE_LOGIN, conflict.id, bound_to=DEVICE).state == "device_conflict"


def test_the_device_binding_names_what_differs(app):
    record = flows.new(DEVICE_LOGIN, bound_to=DEVICE, context={})
    flows.advance(record, "device_conflict")
    with pytest.raises(FlowBindingError) as other_client:
        flows.load(DEVICE_LOGIN, record.id, bound_to={**DEVICE, "client_id": "app-2"})
    assert other_client.value.part == "client_id"
    assert other_client.value.code == "flow_binding_mismatch"
    with pytest.raises(FlowBindingError) as other_key:
        flows.load(DEVICE_LOGIN, record.id, bound_to={**DEVICE, "jkt": "thumbprint-2"})
    assert other_key.value.part == "jkt"


def test_a_browser_bound_record_is_not_even_found_by_another_browser(app):
    record = flows.create(LOGIN, bound_to=BROWSER, context={})
    flows.advance(record, "authenticated", sid="s")
    other = {"browser": "digest-of-another-browser"}
    with pytest.raises(FlowNotFoundError):
        flows.load(LOGIN, record.id, bound_to=other)
    with pytest.raises(FlowNotFoundError):
        flows.take(LOGIN, record.id, bound_to=other)
    # ... and its take left the record to its own browser
    assert flows.take(LOGIN, record.id, bound_to=BROWSER).context == {"sid": "s"}
    assert not [k for k in _keys(app) if record.id in k]  # the id is not the key


def _keys(app):
    store = app.extensions["gateway.store"]
    if hasattr(store, "client"):
        return list(store.client.scan_iter(match=store.prefix + "flow:*"))
    from sqlalchemy import text

    with store.engine.begin() as conn:
        return [row[0] for row in conn.execute(text(
            "SELECT key FROM store_entries WHERE key LIKE 'flow:%'"))]


@pytest.mark.parametrize("flow_id", ["", "short", "x" * 65, "bad id with spaces......",
                                     "é" * 20, None, 12345678901234567890])
def test_malformed_ids_are_not_found(app, flow_id):
    for kind in KINDS.values():
        with pytest.raises(FlowNotFoundError):
            flows.load(kind, flow_id, bound_to={})


def test_expiry_follows_the_injected_clock(make_app, clock):
    app = make_app(clock=clock)
    with app.app_context():
        record = flows.create(RECOVERY, bound_to={}, context={})
        assert record.expires_at == clock.timestamp() + app.config["LOGIN_FLOW_TTL"]
        clock.advance(seconds=app.config["LOGIN_FLOW_TTL"] - 1)
        flows.advance(flows.load(RECOVERY, record.id, bound_to={}), "verified")  # a new lease
        clock.advance(seconds=app.config["LOGIN_FLOW_TTL"] - 1)
        assert flows.load(RECOVERY, record.id, bound_to={}).state == "verified"
        clock.advance(seconds=1)
        with pytest.raises(FlowNotFoundError):
            flows.load(RECOVERY, record.id, bound_to={})


def test_a_record_of_another_kind_is_not_found(app):
    record = flows.create(RECOVERY, bound_to={}, context={})
    store = app.extensions["gateway.store"]
    store.put(f"flow:device_login:{record.id}", store.get(f"flow:recovery:{record.id}"), 60)
    with pytest.raises(FlowNotFoundError):
        flows.load(DEVICE_LOGIN, record.id, bound_to={})


def test_consuming_a_record_never_stored_touches_no_store(app):
    record = flows.new(DEVICE_LOGIN, bound_to=DEVICE, context={})
    real = app.extensions["gateway.store"]
    app.extensions["gateway.store"] = None  # any store call would fail
    try:
        assert flows.consume(record) is record
    finally:
        app.extensions["gateway.store"] = real


RACERS = 12


def _racing(app, n, work):
    """``work(i)`` in n threads at once, each in its own app context: (winners, losers)."""
    lock, outcomes = threading.Lock(), []

    def one(i):
        with app.app_context():
            try:
                result = work(i)
            except (FlowNotFoundError, FlowStateError) as exc:
                result = exc
        with lock:
            outcomes.append(result)

    race(n, one)
    losers = [x for x in outcomes if isinstance(x, Exception)]
    return [x for x in outcomes if not isinstance(x, Exception)], losers


def test_one_consumer_among_racers(app):
    """The device flow's finish and recovery's completion: each racer loaded the record; the
    store's take lets exactly one of them have it."""
    record = flows.create(RECOVERY, bound_to={}, context={"n": 1})
    loaded = [flows.load(RECOVERY, record.id, bound_to={}) for _ in range(RACERS)]
    winners, losers = _racing(app, RACERS, lambda i: flows.consume(loaded[i]))
    assert len(winners) == 1 and winners[0].context == {"n": 1}
    assert len(losers) == RACERS - 1
    assert all(isinstance(x, FlowNotFoundError) for x in losers)


def test_one_taker_among_racers(app):
    """The login flow's return to /authorize: one take wins."""
    record = flows.create(LOGIN, bound_to=BROWSER, context={})
    flows.advance(record, "authenticated", sid="s")
    winners, losers = _racing(
        app, RACERS, lambda i: flows.take(LOGIN, record.id, bound_to=BROWSER))
    assert [w.context for w in winners] == [{"sid": "s"}]
    assert len(losers) == RACERS - 1


def test_a_claim_puts_back_a_record_another_request_moved(app):
    """Two requests loaded the same step; the first claimed it and saved the next state. The
    second's claim finds the record moved: it is put back as it is, and the second refused."""
    record = flows.new(DEVICE_LOGIN, bound_to=DEVICE, context={})
    flows.advance(record, "password_change_required")
    first = flows.load(DEVICE_LOGIN, record.id, bound_to=DEVICE)
    second = flows.load(DEVICE_LOGIN, record.id, bound_to=DEVICE)
    claimed = flows.claim(first)
    assert not claimed.stored
    with pytest.raises(FlowNotFoundError):  # claimed: gone until the step saves it
        flows.claim(second)
    flows.advance(claimed, "device_conflict", expected_version=1)
    with pytest.raises(FlowNotFoundError):
        flows.claim(second)
    assert flows.load(DEVICE_LOGIN, record.id, bound_to=DEVICE).state == "device_conflict"
