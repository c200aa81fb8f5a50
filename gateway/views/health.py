"""Liveness, readiness and metrics for the platform that runs the gateway.

/metrics is not for everyone: request counts by endpoint and status, sign-in failures and
device changes tell an attacker how an attack is going. It answers only addresses in
METRICS_ALLOW_FROM (by default this machine) and, when METRICS_TOKEN is set, only with that
bearer token as well.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from gateway.availability import StoreUnavailableError
from gateway.extensions import db
from gateway.metrics import metrics_response
from gateway.services.throttle import client_address
from gateway.settings import metrics_networks
from gateway.store.access import store

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        log.warning("database not ready", extra={"error": exc.__class__.__name__})
        checks["database"] = "unavailable"
        db.session.rollback()
    try:
        store().ping()
        checks["store"] = "ok"
    except StoreUnavailableError:
        checks["store"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), (
        200 if ready else 503)


def _address_allowed(address: str, networks: list) -> bool:
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def _token_ok(expected: str) -> bool:
    if not expected:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              expected.encode())


@bp.route("/metrics")
def metrics():
    cfg = current_app.config
    if not _address_allowed(client_address(), metrics_networks(cfg["METRICS_ALLOW_FROM"])):
        return Response("forbidden\n", 403, mimetype="text/plain")
    if not _token_ok(cfg["METRICS_TOKEN"]):
        return Response("unauthorized\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return metrics_response()
