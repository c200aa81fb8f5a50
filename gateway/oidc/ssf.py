"""Security Event Tokens to relying services (OpenID SSF 1.0 + CAEP 1.0, RFC 8417, RFC 8935).

What the gateway's services do becomes CAEP events here, without a service importing this
layer: ending a session runs the ``session_ended`` hook point (session-revoked), and the
events ``password.changed``, ``password.reset``, ``passkey.registered``, ``passkey.removed``
(credential-change), ``account.level_raised`` and ``account.level_lowered``
(assurance-level-change) reach us through ``events.subscribe``. Both run inside the
transaction of the change, so each SET is queued in the outbox (channel ``ssf_push``) exactly
when the change commits (docs/events.md has the table).

A queued SET keeps its ``jti`` and the event's time; it is signed when it is sent (a retry
carries a fresh ``iat`` under the current key, the same ``jti``: RFC 8935 §2.1 lets the
receiver drop a duplicate by it), and pushed as ``application/secevent+jwt``. The outbox
claims each row once, retries with backoff, and gives up on what retrying cannot fix: a 400
with an RFC 8935 §2.3 error code (``invalid_key``, ``invalid_audience``, …), a stream deleted
or disabled, a person gone.

The subject is ``iss_sub`` (RFC 9493 §3.2.6): our issuer and the person's ``sub`` — the one
every relying party gets in its ID tokens (public subject type); never the social-insurance
number.
"""

from __future__ import annotations

import secrets
import threading

import requests
from flask import current_app
from sqlalchemy import event as orm_event

from gateway.clock import clock
from gateway.extensions import db
from gateway.models import Account, SsfStream
from gateway.oidc.tokens import sign_jwt
from gateway.services import ssf_streams, ssf_subjects
from gateway.services.events import subscribe
from gateway.services.outbox import enqueue_message, register_sender
from gateway.services.revocation import session_ended
from policies.assurance import ACR_LEVEL_1, ACR_LEVEL_2
from providers.sms import DeliveryError

CHANNEL = "ssf_push"
TYP = "secevent+jwt"
CONTENT_TYPE = "application/secevent+jwt"
ENABLED = "gateway.ssf"  # app.extensions: this app transmits security events
TIMEOUT = 5  # seconds for one push
# RFC 8935 §2.3: what a receiver answers with 400. Sending the same SET again cannot help.
SET_ERRORS = ("invalid_request", "invalid_key", "invalid_issuer", "invalid_audience",
              "authentication_failed", "access_denied")

# session_ended's reason -> CAEP initiating_entity (CAEP 1.0 §3.1: admin, user, policy, system)
_BY_USER = {"logout", "signed_out_by_user", "session_replaced", "signed_in_again",
            "device_changed", "password_changed", "phone_changed", "session_limit"}
_BY_ADMIN = {"signed_out_by_staff", "device_cleared", "password_reset"}


def initiating_entity(reason: str | None) -> str:
    if reason in _BY_USER:
        return "user"
    if reason in _BY_ADMIN:
        return "admin"
    return "policy"


# --- queueing -----------------------------------------------------------------------------

TXN = "gateway.ssf.txn"  # session.info: the RFC 8417 `txn` of this database transaction


def _txn() -> str:
    """One random `txn` per database transaction: the SETs one change queued share it (a
    password change's credential-change and the session-revoked it committed with)."""
    return db.session().info.setdefault(TXN, secrets.token_urlsafe(12))


@orm_event.listens_for(db.session, "after_commit")
def _forget_txn(session) -> None:
    session.info.pop(TXN, None)


@orm_event.listens_for(db.session, "after_soft_rollback")
def _forget_txn_after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(TXN, None)


def enqueue_set(stream: SsfStream, event: str, fields: dict, *, account_id: int | None = None,
                subject: dict | None = None):
    """One SET for ``stream`` in the caller's transaction: about a person (``account_id``,
    subject ``iss_sub`` resolved when sent) or about the stream itself (``subject``)."""
    payload = {"jti": secrets.token_urlsafe(16), "txn": _txn(), "stream_id": stream.stream_id,
               "event": event, "fields": fields, "account_id": account_id, "subject": subject}
    return enqueue_message(channel=CHANNEL, recipient=stream.stream_id,
                           template=event.rsplit("/", 1)[-1], payload=payload)


def signal(account_id: int, event: str, fields: dict, *, sid: str | None = None) -> int:
    """Queue ``event`` for every stream that must hear it about the person; how many."""
    if not current_app.extensions.get(ENABLED) or account_id is None:
        return 0
    fields = {"event_timestamp": clock().timestamp(), **fields}
    streams = ssf_subjects.streams_for(account_id, event, sid=sid)
    for stream in streams:
        enqueue_set(stream, event, fields, account_id=account_id)
    return len(streams)


def request_verification(stream: SsfStream, state: str | None) -> None:
    """SSF §8.1.4.2: a verification event, subject the stream itself, echoing ``state``;
    committed (sent after the response)."""
    enqueue_set(stream, ssf_streams.VERIFICATION, {"state": state} if state else {},
                subject={"format": "opaque", "id": stream.stream_id})
    db.session.commit()


# --- gateway events -> CAEP events --------------------------------------------------------


def _session_revoked(sid: str, account_id: int, reason: str | None = None) -> None:
    signal(account_id, ssf_streams.SESSION_REVOKED,
           {"initiating_entity": initiating_entity(reason),
            "reason_admin": {"en": reason or "revoked"}}, sid=sid)


def _credential_change(event) -> None:
    data = event.data or {}
    if event.name.startswith("password."):
        fields = {"credential_type": "password", "change_type": "update",
                  "initiating_entity": "admin" if data.get("reason") == "staff_reset"
                  else "user"}
    else:  # passkey.registered / passkey.removed (the passkeys work of issue 12)
        roaming = data.get("attachment") == "cross-platform"
        fields = {"credential_type": "fido2-roaming" if roaming else "fido2-platform",
                  "change_type": "create" if event.name == "passkey.registered" else "delete",
                  "initiating_entity": "user"}
    signal(event.account_id, ssf_streams.CREDENTIAL_CHANGE, fields)


def _level(value) -> str:
    return ACR_LEVEL_2 if isinstance(value, int) and value >= 2 else ACR_LEVEL_1


def _assurance_level_change(event) -> None:
    data = event.data or {}
    signal(event.account_id, ssf_streams.ASSURANCE_LEVEL_CHANGE, {
        # Our levels are the acr values of discovery's acr_values_supported.
        "namespace": "custom",
        "current_level": _level(data.get("after")),
        "previous_level": _level(data.get("before")),
        "change_direction": "increase" if event.name == "account.level_raised" else "decrease",
        "initiating_entity": "user" if data.get("via") == "vneid_link" else "admin",
    })


SUBSCRIPTIONS = {
    "password.changed": _credential_change,
    "password.reset": _credential_change,
    "passkey.registered": _credential_change,
    "passkey.removed": _credential_change,
    "account.level_raised": _assurance_level_change,
    "account.level_lowered": _assurance_level_change,
}


def init_ssf(app) -> None:
    """Make ``app`` transmit: its session ends and the events above become SETs."""
    app.extensions[ENABLED] = True
    session_ended.register(app, _session_revoked)
    if not getattr(init_ssf, "_subscribed", False):  # events.subscribe is per process
        for name, handler in SUBSCRIPTIONS.items():
            subscribe(name, handler)
        init_ssf._subscribed = True


# --- sending ------------------------------------------------------------------------------


def security_event_token(stream: SsfStream, payload: dict, sub_id: dict) -> str:
    """The SET (RFC 8417 §2.2, SSF §4): signed now with the current key, typ secevent+jwt."""
    issuer = current_app.config["ISSUER"]
    claims = {"iss": issuer, "aud": stream.client_id, "iat": clock().timestamp(),
              "jti": payload["jti"], "txn": payload["txn"], "sub_id": sub_id,
              "events": {payload["event"]: payload["fields"]}}
    return sign_jwt(TYP, claims)


def _sub_id(payload: dict) -> dict:
    if payload.get("subject"):
        return payload["subject"]
    account = db.session.get(Account, payload["account_id"])
    if account is None:
        raise DeliveryError("account_gone", permanent=True)
    return {"format": "iss_sub", "iss": current_app.config["ISSUER"], "sub": account.sub}


def _error_code(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "invalid_request"
    code = body.get("err") if isinstance(body, dict) else None
    return code if code in SET_ERRORS else "invalid_request"


_http = threading.local()


def _session() -> requests.Session:
    """One HTTP session per delivering thread: a receiver's connection is kept alive between
    the SETs of a batch (bench/set_delivery.py), and no session is shared across threads."""
    session = getattr(_http, "session", None)
    if session is None:
        session = _http.session = requests.Session()
    return session


def _send(message, recipient: str, payload: dict) -> None:
    stream = db.session.query(SsfStream).filter_by(stream_id=recipient).first()
    if stream is None:
        raise DeliveryError("stream_gone", permanent=True)
    if stream.status == "disabled":
        raise DeliveryError("stream_disabled", permanent=True)
    if stream.status == "paused":  # SSF §8.1.2: held, sent once the receiver enables it
        raise DeliveryError("stream_paused")
    token = security_event_token(stream, payload, _sub_id(payload))
    endpoint, authorization = ssf_streams.delivery_of(stream)
    headers = {"Content-Type": CONTENT_TYPE, "Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    try:
        response = _session().post(endpoint, data=token.encode(), headers=headers,
                                   timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryError(f"unreachable: {exc.__class__.__name__}") from None
    status = response.status_code
    if 200 <= status < 300:  # RFC 8935 §2.2 says 202; any success is accepted
        return
    if status == 400:
        raise DeliveryError(f"set_{_error_code(response)}", permanent=True)
    # 401/403: the receiver may fix the header of its stream; 429, 5xx: try again later.
    raise DeliveryError(f"http_{status}",
                        permanent=status not in (401, 403, 408, 429) and status < 500)


register_sender(CHANNEL, _send)
