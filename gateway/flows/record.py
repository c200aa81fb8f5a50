"""One record for every interactive flow, moved only along its kind's table.

A flow is a JSON record in the store (gateway.store) under ``flow:<kind>:<key>``:

    id          192 random bits, URL-safe: the handle the browser or the app holds
    kind        its Kind: the states, the steps, the transitions, the lifetime
    state       where the flow is
    expires_at  Unix time (the injected clock); each step gives it the kind's whole lifetime
                again, as the store's TTL does
    bound_to    who may go on with it; a mismatch is refused (FlowBindingError) or, for a kind
                whose binding is part of the key, the record is simply not found
    context     what the flow carries between steps (JSON)

The kinds (``──step──►`` a transition; ``⇒`` consumed: taken from the store, by one caller):

login — the browser, /authorize ⇄ /login; bound to the browser: the SHA-256 of a random value
kept in the browser's signed Flask session cookie, and part of the key, so an id leaked in a
URL (Referer, history, logs) finds nothing in another browser::

    pending ──sign_in──► authenticated ⇒ /authorize?…&login_flow=<id> (once)
       │                      ▲
       └──sign_in──► password_change_required ──change_password──┘
                     (sign_in again: password_change_required or authenticated)

device_login — the app at /authorize-challenge (``auth_session``); bound to the client and
the DPoP key that started it (refused with the part that differs). ``started`` lives only
in the request that signed in; the record is stored once a step needs it::

    started ⇒ code                                   (no other device)
    started ──► password_change_required ──new_password──► device_conflict, or ⇒ code
    started ──► device_conflict ──takeover──► otp_required ──otp──► ⇒ code
                                              otp_required ──takeover──► otp_required (resend)

recovery — forgot password (``recovery_id``); bound to nothing the caller presents: the
pages and the app API share it, the app has no DPoP key before it signs in, and a recovery
is worth nothing without the code sent to the account's phone (its own count of tries, the
login name's lock and 24-hour budget; gateway.flows.recovery)::

    otp_sent ──complete (right code, password refused)──► verified
    otp_sent, verified ──complete (password accepted)──► ⇒ done

vneid_login — signing in with VNeID (gateway.flows.vneid_login); the id is the ``state``
sent upstream. Bound to the browser that started it, as login is, in the key: the callback
finds nothing in another browser, and takes the record (one callback among any number, a
replay finds nothing). It serves a parked login flow (the portal) or the app's /authorize
request (system browser, one active device)::

    redirected ──callback──► (taken) ⇒ ended: upstream failure, declare, review, refuse
       │                             ⇒ the login flow authenticated (portal)
       ├──callback──► signed_in ⇒ /authorize?…&vneid_flow=<id> (app, once)
       ├──callback──► device_conflict (app: another device is active)
       └──callback──► proof_password (prove: the account's password, then an SMS code)
    proof_password ──prove_password──► proof_otp ──prove_otp──► as after the callback
                                       proof_otp ──resend_proof──► proof_otp
    device_conflict ──takeover──► device_otp ──device_otp──► signed_in
                                  device_otp ──takeover──► device_otp (resend)

application_status — an applicant's look-up of a declaration (``status_id``): the reference
is typed, a code goes to the phone declared in it (gateway.flows.application_status). Bound
to the browser on the pages (as login: part of the key), to nothing through the API (an empty
binding, so neither finds the other's records); worth nothing without the code. ``view``
keeps it alive while the person reads the status or corrects a rejected declaration::

    otp_sent ──verify (right code)──► verified ──view──► verified
    verified ──resubmit (the corrected declaration of a rejected application)──► ⇒ done

phone_change — a person moves their own registered phone number on a recent level-2 VNeID
sign-in (gateway.flows.phone_change): a code goes to the NEW number, and comes back. Bound
to the session (its ``sid``) in the key, so the page's id is worth nothing in another
session, and to the number the code was sent to (the context)::

    otp_sent ──resend──► otp_sent
    otp_sent ──confirm (right code)──► ⇒ the phone moved (gateway.services.phone_change)

Store round trips: ``new`` none, ``save``/``advance`` one put, ``load`` one get, ``take``,
``claim`` and ``consume`` one take (none for a record never stored), ``discard`` one delete,
``forget`` a delete that rides with the request's next store call.

Exceptions (GatewayError; views turn them into each surface's answer)::

    FlowError                 the base
     ├── FlowNotFoundError    flow_expired          no live record for this id (and binding)
     ├── FlowBindingError     flow_binding_mismatch ``part`` names what differs
     └── FlowStateError       flow_state_invalid    a step or transition the table refuses

Over 250 lines: every kind's drawing stands here beside its table, so the whole state space
reads in one place (tests/unit/test_flow_record.py checks that they agree).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app

from gateway.clock import clock
from gateway.errors import GatewayError
from gateway.store.access import later, store

_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class FlowError(GatewayError):
    status = 400
    code = "flow_error"


class FlowNotFoundError(FlowError):
    code = "flow_expired"


class FlowBindingError(FlowError):
    code = "flow_binding_mismatch"

    def __init__(self, part: str):
        super().__init__(detail=f"bound to another {part}")
        self.part = part


class FlowStateError(FlowError):
    code = "flow_state_invalid"

    def __init__(self, kind: str, state: str, wanted: str):
        super().__init__(detail=f"{kind}: {wanted} is not allowed in state {state}")
        self.state, self.wanted = state, wanted


@dataclass(frozen=True)
class Kind:
    name: str
    ttl_setting: str  # the config key of the lifetime, in seconds
    initial: str
    transitions: Mapping[str, frozenset[str]]  # state -> the states it may move to
    steps: Mapping[str, frozenset[str]]  # a step a person or app takes -> states it starts from
    final: frozenset[str]  # states the record may be consumed from (its last step)
    bound_key: bool = False  # the binding is part of the store key

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions)


def _kind(name, ttl_setting, initial, transitions, steps, final, **options) -> Kind:
    return Kind(name, ttl_setting, initial,
                {state: frozenset(after) for state, after in transitions.items()},
                {step: frozenset(states) for step, states in steps.items()},
                frozenset(final), **options)


LOGIN = _kind(
    "login", "LOGIN_FLOW_TTL", "pending",
    {"pending": {"password_change_required", "authenticated"},
     "password_change_required": {"password_change_required", "authenticated"},
     "authenticated": set()},
    {"sign_in": {"pending", "password_change_required"},
     "change_password": {"password_change_required"}},
    final={"authenticated"}, bound_key=True)

DEVICE_LOGIN = _kind(
    "device_login", "LOGIN_FLOW_TTL", "started",
    {"started": {"password_change_required", "device_conflict"},
     "password_change_required": {"device_conflict"},
     "device_conflict": {"otp_required"},
     "otp_required": {"otp_required"}},
    {"new_password": {"password_change_required"},
     "takeover": {"device_conflict", "otp_required"},
     "otp": {"otp_required"}},
    final={"started", "password_change_required", "otp_required"})

RECOVERY = _kind(
    "recovery", "LOGIN_FLOW_TTL", "otp_sent",
    {"otp_sent": {"verified"}, "verified": set()},
    {"complete": {"otp_sent", "verified"}},
    final={"otp_sent", "verified"})

VNEID_LOGIN = _kind(
    "vneid_login", "LOGIN_FLOW_TTL", "redirected",
    {"redirected": {"signed_in", "device_conflict", "proof_password"},
     "proof_password": {"proof_otp"},
     "proof_otp": {"proof_otp", "signed_in", "device_conflict", "proof_password"},
     "device_conflict": {"device_otp"},
     "device_otp": {"device_otp", "signed_in"},
     "signed_in": set()},
    {"callback": {"redirected"},
     "prove_password": {"proof_password"},
     "prove_otp": {"proof_otp"},
     "resend_proof": {"proof_otp"},
     "takeover": {"device_conflict", "device_otp"},
     "device_otp": {"device_otp"}},
    final={"signed_in"}, bound_key=True)

APPLICATION_STATUS = _kind(
    "application_status", "APPLICATION_FLOW_TTL", "otp_sent",
    {"otp_sent": {"verified"}, "verified": {"verified"}},
    {"verify": {"otp_sent"}, "view": {"verified"}, "resubmit": {"verified"}},
    final={"verified"}, bound_key=True)

PHONE_CHANGE = _kind(
    "phone_change", "LOGIN_FLOW_TTL", "otp_sent",
    {"otp_sent": {"otp_sent"}},
    {"resend": {"otp_sent"}, "confirm": {"otp_sent"}},
    final={"otp_sent"}, bound_key=True)

KINDS = {kind.name: kind for kind in (LOGIN, DEVICE_LOGIN, RECOVERY, VNEID_LOGIN,
                                       APPLICATION_STATUS, PHONE_CHANGE)}


@dataclass
class FlowRecord:
    id: str
    kind: Kind
    state: str
    expires_at: int
    bound_to: dict[str, str]
    context: dict = field(default_factory=dict)
    stored: bool = False  # in the store (False: only in this request so far)

    def step(self, name: str) -> None:
        """Before a step's work: FlowStateError unless the table lets it start here."""
        if self.state not in self.kind.steps[name]:
            raise FlowStateError(self.kind.name, self.state, name)

    def allows(self, name: str) -> bool:
        return self.state in self.kind.steps[name]


def _ttl(kind: Kind) -> int:
    return int(current_app.config[kind.ttl_setting])


def _key(kind: Kind, flow_id: str, bound_to: Mapping[str, str]) -> str:
    if not kind.bound_key:
        return f"flow:{kind.name}:{flow_id}"
    binding = json.dumps(dict(bound_to), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{flow_id}\n{binding}".encode()).hexdigest()
    return f"flow:{kind.name}:{digest}"


def _dump(record: FlowRecord) -> str:
    return json.dumps({"kind": record.kind.name, "state": record.state,
                       "expires_at": record.expires_at, "bound_to": record.bound_to,
                       "context": record.context}, separators=(",", ":"))


def _parse(kind: Kind, flow_id: str, raw: str | None,
           bound_to: Mapping[str, str]) -> FlowRecord:
    if raw is None:
        raise FlowNotFoundError()
    data = json.loads(raw)
    if data.get("kind") != kind.name or data.get("state") not in kind.states:
        raise FlowNotFoundError()
    record = FlowRecord(flow_id, kind, data["state"], int(data["expires_at"]),
                        dict(data.get("bound_to") or {}), data.get("context") or {}, stored=True)
    if record.expires_at <= clock().timestamp():
        raise FlowNotFoundError()
    for part, value in bound_to.items():
        if not hmac.compare_digest(record.bound_to.get(part, "").encode(), value.encode()):
            raise FlowBindingError(part)
    return record


def _valid_id(flow_id) -> bool:
    return isinstance(flow_id, str) and _ID.fullmatch(flow_id) is not None


def new(kind: Kind, *, bound_to: Mapping[str, str], context: dict) -> FlowRecord:
    """A record in the kind's initial state, not stored yet."""
    return FlowRecord(secrets.token_urlsafe(24), kind, kind.initial,
                      clock().timestamp() + _ttl(kind), dict(bound_to), dict(context))


def save(record: FlowRecord) -> None:
    ttl = _ttl(record.kind)
    record.expires_at = clock().timestamp() + ttl
    store().put(_key(record.kind, record.id, record.bound_to), _dump(record), ttl)
    record.stored = True


def create(kind: Kind, *, bound_to: Mapping[str, str], context: dict) -> FlowRecord:
    record = new(kind, bound_to=bound_to, context=context)
    save(record)
    return record


def advance(record: FlowRecord, state: str, **context) -> None:
    """Moves the record to ``state`` (FlowStateError unless the table allows it) and saves it."""
    if state not in record.kind.transitions[record.state]:
        raise FlowStateError(record.kind.name, record.state, state)
    record.state = state
    record.context.update(context)
    save(record)


def load(kind: Kind, flow_id, *, bound_to: Mapping[str, str]) -> FlowRecord:
    """The live record; FlowNotFoundError (also for a malformed id) or FlowBindingError."""
    if not _valid_id(flow_id):
        raise FlowNotFoundError()
    return _parse(kind, flow_id, store().get(_key(kind, flow_id, bound_to)), bound_to)


def take(kind: Kind, flow_id, *, bound_to: Mapping[str, str]) -> FlowRecord:
    """Load and consume in one atomic step: one caller among racers gets the record, and only
    from a final state (FlowStateError otherwise: the record is gone either way)."""
    if not _valid_id(flow_id):
        raise FlowNotFoundError()
    record = _parse(kind, flow_id, store().take(_key(kind, flow_id, bound_to)), bound_to)
    _require_final(record)
    record.stored = False
    return record


def claim(record: FlowRecord) -> FlowRecord:
    """Takes a loaded record for a step that must run once: one caller among racers gets it
    (FlowNotFoundError for the others); the step then saves the record's next state, or ends
    the flow. A record another request moved meanwhile is put back as it was."""
    if not record.stored:
        return record
    key = _key(record.kind, record.id, record.bound_to)
    raw = store().take(key)
    taken = _parse(record.kind, record.id, raw, record.bound_to)
    if taken.state != record.state:
        store().put(key, raw, max(1, taken.expires_at - clock().timestamp()))
        raise FlowNotFoundError()
    taken.stored = False
    return taken


def consume(record: FlowRecord) -> FlowRecord:
    """The last step of a loaded record, from a final state: claimed by one caller among
    racers (FlowNotFoundError for the others) and not stored again."""
    _require_final(record)
    return claim(record)


def forget(record: FlowRecord) -> FlowRecord:
    """The last step of a loaded record, from a final state, for a step that already won its
    race on a one-time value of its own (an SMS code taken from the store): no second claim,
    the record is deleted with the request's next store call (gateway.store.access.later)."""
    _require_final(record)
    if record.stored:
        later("delete", _key(record.kind, record.id, record.bound_to))
        record.stored = False
    return record


def discard(record: FlowRecord) -> None:
    if record.stored:
        store().delete(_key(record.kind, record.id, record.bound_to))
        record.stored = False


def _require_final(record: FlowRecord) -> None:
    if record.state not in record.kind.final:
        raise FlowStateError(record.kind.name, record.state, "consume")
