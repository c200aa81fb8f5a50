"""The Shared Signals transmitter's HTTP face (OpenID SSF 1.0 §7 and §8): its metadata at
``/.well-known/ssf-configuration`` and the stream management API under ``/ssf/``.

Every management call carries the receiver's own access token (RFC 6750 Bearer or RFC 9449
DPoP) with scope ``ssf.manage``: a client's ``client_credentials`` token, never one a person
granted. The client it was issued to is the receiver; its stream is the only one it sees.
Answers are JSON; domain errors are the app's (``{"error": code}``, gateway/views/errors.py),
token errors RFC 6750's.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, jsonify, request

from gateway.errors import ValidationError
from gateway.models import SsfStream
from gateway.oidc import ssf
from gateway.oidc.dpop_binding import ScopeRequiredError
from gateway.oidc.server import resource_protector
from gateway.services import ssf_streams, ssf_subjects
from gateway.services.clients import SSF_SCOPE

bp = Blueprint("ssf", __name__)


@bp.errorhandler(OAuth2Error)
def _protocol_error(error: OAuth2Error):
    response = jsonify(dict(error.get_body()))
    response.status_code = error.status_code or 400
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _receiver() -> str:
    """The client id of the calling receiver (its own token, scope ssf.manage, still
    registered for that scope); 401/403 otherwise."""
    token = resource_protector.acquire_token([SSF_SCOPE])
    dpop = bool((token.claims.get("cnf") or {}).get("jkt"))
    client = token.get_client()
    if token.has_user or client is None or SSF_SCOPE not in (client.scopes or []):
        raise ScopeRequiredError([SSF_SCOPE], dpop=dpop,
                                 description="A receiver's own token with scope ssf.manage.")
    return client.client_id


def _body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise ValidationError("invalid_request", detail="a JSON object is expected")
    return data


def _config(stream: SsfStream) -> dict:
    """SSF §8.1.1 stream configuration (the authorization header is never echoed)."""
    endpoint, _ = ssf_streams.delivery_of(stream)
    config = {
        "stream_id": stream.stream_id,
        "iss": current_app.config["ISSUER"],
        "aud": stream.client_id,
        "delivery": {"method": stream.delivery_method, "endpoint_url": endpoint},
        "events_supported": list(ssf_streams.EVENTS_SUPPORTED),
        "events_requested": list(stream.events_requested or []),
        "events_delivered": ssf_streams.events_delivered(stream),
        "min_verification_interval": ssf_streams.MIN_VERIFICATION_INTERVAL,
    }
    if stream.description is not None:
        config["description"] = stream.description
    return config


def _status(stream: SsfStream) -> dict:
    status = {"stream_id": stream.stream_id, "status": stream.status}
    if stream.status_reason:
        status["reason"] = stream.status_reason
    return status


@bp.route("/.well-known/ssf-configuration")
def configuration():
    """SSF §7.1 transmitter configuration metadata."""
    issuer = current_app.config["ISSUER"]
    response = jsonify({
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks.json",
        "delivery_methods_supported": [ssf_streams.PUSH],
        "configuration_endpoint": f"{issuer}/ssf/stream",
        "status_endpoint": f"{issuer}/ssf/status",
        "add_subject_endpoint": f"{issuer}/ssf/subjects/add",
        "remove_subject_endpoint": f"{issuer}/ssf/subjects/remove",
        "verification_endpoint": f"{issuer}/ssf/verify",
        "critical_subject_members": ["user"],
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"},
                                  {"spec_urn": "urn:ietf:rfc:9449"}],
        "default_subjects": "ALL",
    })
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/ssf/stream", methods=["POST"])
def create_stream():
    stream = ssf_streams.create_stream(_receiver(), _body())
    return jsonify(_config(stream)), 201


@bp.route("/ssf/stream", methods=["GET"])
def read_stream():
    client_id = _receiver()
    stream_id = request.args.get("stream_id")
    if stream_id is None:  # SSF §8.1.1.2: every stream of the receiver, as a list
        return jsonify([_config(s) for s in ssf_streams.streams_of(client_id)])
    return jsonify(_config(ssf_streams.stream_of(client_id, stream_id)))


@bp.route("/ssf/stream", methods=["PATCH", "PUT"])
def update_stream():
    client_id = _receiver()
    data = _body()
    stream = ssf_streams.stream_of(client_id, data.get("stream_id"))
    stream = ssf_streams.update_stream(stream, data, replace=request.method == "PUT")
    return jsonify(_config(stream))


@bp.route("/ssf/stream", methods=["DELETE"])
def delete_stream():
    stream = ssf_streams.stream_of(_receiver(), request.args.get("stream_id"))
    ssf_streams.delete_stream(stream)
    return "", 204


@bp.route("/ssf/status", methods=["GET"])
def read_status():
    stream = ssf_streams.stream_of(_receiver(), request.args.get("stream_id"))
    return jsonify(_status(stream))


@bp.route("/ssf/status", methods=["POST"])
def update_status():
    client_id = _receiver()
    data = _body()
    stream = ssf_streams.stream_of(client_id, data.get("stream_id"))
    return jsonify(_status(ssf_streams.set_status(stream, data.get("status"),
                                                  data.get("reason"))))


@bp.route("/ssf/subjects/add", methods=["POST"])
def add_subject():
    client_id = _receiver()
    data = _body()
    ssf_subjects.add_subject(ssf_streams.stream_of(client_id, data.get("stream_id")),
                            data.get("subject"))
    return "", 200


@bp.route("/ssf/subjects/remove", methods=["POST"])
def remove_subject():
    client_id = _receiver()
    data = _body()
    ssf_subjects.remove_subject(ssf_streams.stream_of(client_id, data.get("stream_id")),
                               data.get("subject"))
    return "", 204


@bp.route("/ssf/verify", methods=["POST"])
def verify():
    """SSF §8.1.4.2: queue a verification event to the stream's endpoint."""
    client_id = _receiver()
    data = _body()
    stream = ssf_streams.stream_of(client_id, data.get("stream_id"))
    state = data.get("state")
    if state is not None and (not isinstance(state, str) or len(state) > 256):
        raise ValidationError("invalid_state", field="state")
    ssf_streams.check_verification_interval(stream)
    ssf.request_verification(stream, state)
    return "", 204
