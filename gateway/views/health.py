"""Liveness, readiness and metrics for the platform that runs the gateway."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from gateway.extensions import db
from gateway.metrics import metrics_response
from gateway.store import StoreUnavailableError
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


@bp.route("/metrics")
def metrics():
    return metrics_response()
