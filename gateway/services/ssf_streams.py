"""Shared Signals streams (OpenID SSF 1.0 §8): a relying service's subscription to the
security events the gateway transmits about the people who use it.

One stream per client (the receiver authenticates with its own access token, scope
``ssf.manage``; the view passes its client id, and every operation here is on that client's
stream only: another client's stream id is "not found", never "forbidden"). The delivery
endpoint and its Authorization header are sealed at rest (gateway/models/ssf_stream.py).

Who a stream hears about is gateway/services/ssf_subjects.py.

Past 250 lines on purpose: the stream's whole management surface of SSF §8.1 (create,
read, update, replace, delete, status, verification) validates one configuration shape and
shares its checks; split, each half would need the other's validators.

Public surface::

    EVENTS_SUPPORTED, SESSION_REVOKED, CREDENTIAL_CHANGE, ASSURANCE_LEVEL_CHANGE, VERIFICATION
    create_stream(client_id, config) -> SsfStream           ConflictError stream_exists
    stream_of(client_id, stream_id=None) -> SsfStream       StreamNotFoundError
    streams_of(client_id) -> list[SsfStream]
    update_stream(stream, config, *, replace) / delete_stream(stream)
    set_status(stream, status, reason)
    check_verification_interval(stream)                      VerificationTooSoonError
    delivery_of(stream) -> (endpoint_url, authorization or None)
    events_delivered(stream) -> list[str]
"""

from __future__ import annotations

import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.crypto.secrets import derive_key
from gateway.errors import ConflictError, GatewayError, ValidationError
from gateway.extensions import db
from gateway.models import SsfStream, SsfSubject
from gateway.models.ssf_stream import STATUSES
from gateway.services.events import emit
from gateway.store.access import store
from policies.redirect_uris import RedirectUriError, validate_registered_redirect_uri

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
CREDENTIAL_CHANGE = CAEP + "credential-change"
ASSURANCE_LEVEL_CHANGE = CAEP + "assurance-level-change"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"
EVENTS_SUPPORTED = (SESSION_REVOKED, CREDENTIAL_CHANGE, ASSURANCE_LEVEL_CHANGE)
PUSH = "urn:ietf:rfc:8935"  # RFC 8935 push delivery: the one method transmitted
MAX_AUTHORIZATION = 4096
MIN_VERIFICATION_INTERVAL = 10  # seconds between two verification events of one stream
_NONCE = 12


class StreamNotFoundError(GatewayError):
    """No stream of this receiver with that id (another receiver's stream alike): 404."""

    status = 404
    code = "stream_not_found"


class VerificationTooSoonError(GatewayError):
    """A verification event asked for within ``min_verification_interval`` of the last one
    (SSF §8.1.4.2): 429 with Retry-After."""

    status = 429
    code = "verification_too_soon"

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def check_verification_interval(stream: SsfStream) -> None:
    """At most one verification event per stream per MIN_VERIFICATION_INTERVAL: a receiver
    cannot make us knock at its endpoint (or someone else's) in a loop."""
    if not store().add(f"ssf:verify:{stream.stream_id}", "1", MIN_VERIFICATION_INTERVAL):
        raise VerificationTooSoonError(MIN_VERIFICATION_INTERVAL)


# --- sealing ------------------------------------------------------------------------------


def _aead() -> AESGCM:
    return AESGCM(derive_key(b"vssid-gateway ssf streams v1", encryption=True))


def _aad(stream_id: str, field: str) -> bytes:
    return stream_id.encode() + b"\x00" + field.encode()


def _seal(stream_id: str, field: str, value: str | None) -> bytes:
    if not value:
        return b""
    nonce = os.urandom(_NONCE)
    return nonce + _aead().encrypt(nonce, value.encode(), _aad(stream_id, field))


def _unseal(stream_id: str, field: str, blob: bytes) -> str | None:
    blob = bytes(blob or b"")
    if not blob:
        return None
    return _aead().decrypt(blob[:_NONCE], blob[_NONCE:], _aad(stream_id, field)).decode()


def delivery_of(stream: SsfStream) -> tuple[str, str | None]:
    """The receiver's endpoint URL and the Authorization header it asked us to present
    (InvalidTag if a sealed value was altered or copied from another stream)."""
    return (_unseal(stream.stream_id, "endpoint_url", stream.endpoint_sealed),
            _unseal(stream.stream_id, "authorization_header", stream.authorization_sealed))


# --- reading a receiver's configuration ---------------------------------------------------


def _events(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 200
                                              for v in value) or len(value) > 20:
        raise ValidationError("invalid_events_requested", field="events_requested")
    return list(dict.fromkeys(value))


def _delivery(value) -> tuple[str, str | None]:
    if not isinstance(value, dict):
        raise ValidationError("invalid_delivery", field="delivery")
    if value.get("method") != PUSH:
        raise ValidationError("unsupported_delivery_method", field="delivery.method")
    url = value.get("endpoint_url")
    if not isinstance(url, str):
        raise ValidationError("invalid_endpoint_url", field="delivery.endpoint_url")
    try:
        url = validate_registered_redirect_uri(url)  # https, or http on loopback; no fragment
    except RedirectUriError as exc:
        raise ValidationError("invalid_endpoint_url", field="delivery.endpoint_url",
                              detail=exc.code) from None
    if current_app.config["ENV"] == "production" and not url.startswith("https://"):
        # A receiver sets this itself: in production never a push to the gateway's own
        # loopback (its Redis, its metrics), and never a SET in clear.
        raise ValidationError("invalid_endpoint_url", field="delivery.endpoint_url",
                              detail="https required")
    authorization = value.get("authorization_header")
    if authorization is not None and not (
            isinstance(authorization, str) and 0 < len(authorization) <= MAX_AUTHORIZATION
            and authorization.isascii() and authorization.isprintable()):
        # Printable ASCII only: a CR or LF would inject headers into our requests.
        raise ValidationError("invalid_authorization_header",
                              field="delivery.authorization_header")
    return url, authorization


def _description(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError("invalid_description", field="description")
    return value


def _apply(stream: SsfStream, config: dict, *, replace: bool) -> None:
    if replace or "delivery" in config:
        url, authorization = _delivery(config.get("delivery"))
        stream.delivery_method = PUSH
        stream.endpoint_sealed = _seal(stream.stream_id, "endpoint_url", url)
        stream.authorization_sealed = _seal(stream.stream_id, "authorization_header",
                                            authorization)
    if replace or "events_requested" in config:
        stream.events_requested = _events(config.get("events_requested"))
    if replace or "description" in config:
        stream.description = _description(config.get("description"))


# --- the operations -----------------------------------------------------------------------


def events_delivered(stream: SsfStream) -> list[str]:
    """SSF §8.1.1: what the receiver asked for that the transmitter supports."""
    return [uri for uri in stream.events_requested or [] if uri in EVENTS_SUPPORTED]


def create_stream(client_id: str, config: dict) -> SsfStream:
    """A new stream for ``client_id`` (one per client: ConflictError ``stream_exists``)."""
    if not isinstance(config, dict):
        raise ValidationError("invalid_request")
    now = utcnow()
    stream = SsfStream(stream_id=secrets.token_urlsafe(16), client_id=client_id,
                       status="enabled", created_at=now, updated_at=now)
    _apply(stream, config, replace=True)
    db.session.add(stream)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError("stream_exists", detail="one stream per receiver") from None
    emit("ssf_stream.created", client_id=client_id, stream_id=stream.stream_id,
         events=events_delivered(stream))
    db.session.commit()
    return stream


def streams_of(client_id: str) -> list[SsfStream]:
    return list(db.session.scalars(select(SsfStream).where(SsfStream.client_id == client_id)))


def stream_of(client_id: str, stream_id) -> SsfStream:
    """This receiver's stream ``stream_id``; StreamNotFoundError for any other."""
    if not isinstance(stream_id, str) or not stream_id or len(stream_id) > 64:
        raise StreamNotFoundError(field="stream_id")
    stream = db.session.scalar(select(SsfStream).where(SsfStream.stream_id == stream_id,
                                                       SsfStream.client_id == client_id))
    if stream is None:
        raise StreamNotFoundError(field="stream_id")
    return stream


def update_stream(stream: SsfStream, config: dict, *, replace: bool) -> SsfStream:
    """PATCH (only the members given) or PUT (``replace``: every receiver-supplied member)."""
    if not isinstance(config, dict):
        raise ValidationError("invalid_request")
    _apply(stream, config, replace=replace)
    stream.updated_at = utcnow()
    emit("ssf_stream.updated", client_id=stream.client_id, stream_id=stream.stream_id,
         events=events_delivered(stream), replaced=replace)
    db.session.commit()
    return stream


def delete_stream(stream: SsfStream) -> None:
    """The stream, its subject choices; SETs still queued for it are given up at sending."""
    db.session.execute(SsfSubject.__table__.delete().where(SsfSubject.stream_id == stream.id))
    db.session.delete(stream)
    emit("ssf_stream.deleted", client_id=stream.client_id, stream_id=stream.stream_id)
    db.session.commit()


def set_status(stream: SsfStream, status, reason) -> SsfStream:
    if status not in STATUSES:
        raise ValidationError("invalid_status", field="status")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
        raise ValidationError("invalid_reason", field="reason")
    before = stream.status
    stream.status, stream.status_reason = status, reason
    stream.updated_at = utcnow()
    emit("ssf_stream.status_changed", client_id=stream.client_id, stream_id=stream.stream_id,
         before=before, after=status)
    db.session.commit()
    return stream
