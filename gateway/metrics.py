"""Prometheus metrics: requests and latency by endpoint, logins and grants by outcome,
requests refused because a dependency could not be reached.

A private registry per process keeps repeated create_app() calls (tests) from colliding.
"""

from __future__ import annotations

import time

from flask import Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from werkzeug.exceptions import HTTPException

from gateway.availability import DATABASE, STORE

REGISTRY = CollectorRegistry()
REQUESTS = Counter("gateway_http_requests_total", "HTTP requests", ["endpoint", "method", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("gateway_http_request_seconds", "HTTP request latency", ["endpoint"],
                    registry=REGISTRY)
LOGINS = Counter("gateway_logins_total", "Sign-in attempts", ["method", "outcome"],
                 registry=REGISTRY)
GRANTS = Counter("gateway_token_grants_total", "Token endpoint answers", ["grant_type", "outcome"],
                 registry=REGISTRY)
DEVICE_CHANGES = Counter("gateway_device_changes_total",
                         "Active app device changes (bound, taken over, cleared, conflicts)",
                         ["change"], registry=REGISTRY)
DEPENDENCY_UNAVAILABLE = Counter(
    "gateway_dependency_unavailable_total",
    "Requests answered 503 because the database or the store could not be reached",
    ["dependency"], registry=REGISTRY)
for _dependency in (DATABASE, STORE):  # both series exist (at 0) before the first outage
    DEPENDENCY_UNAVAILABLE.labels(_dependency)
ADDRESS_VERDICTS = Counter("gateway_address_throttle_total",
                           "Password and code checks slowed (delayed) or refused by the "
                           "per-address limit", ["verdict"], registry=REGISTRY)
EVENTS_COUNTED = {"device.bound": "bound", "device.taken_over": "taken_over",
                  "device.cleared": "cleared", "device.conflict": "conflict"}


def _count_device_event(event) -> None:
    DEVICE_CHANGES.labels(EVENTS_COUNTED[event.name]).inc()


_CHILDREN: dict[tuple, object] = {}


def _child(metric, *labels):
    """``metric.labels(*labels)``, looked up once: labels() takes the metric's lock and
    builds its key on every call, on every request. The label sets are few (endpoints ×
    methods × statuses), and a child is never removed, so the copy here stays the one."""
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*(str(label) for label in labels))
    return child


def init_metrics(app, subscribe) -> None:
    """Request metrics on `app`; device changes counted from events through `subscribe`
    (gateway.services.events.subscribe, passed in by create_app so that this module, which
    services use for their own counters, imports nothing above it)."""
    if not getattr(init_metrics, "_subscribed", False):
        for name in EVENTS_COUNTED:
            subscribe(name, _count_device_event)
        init_metrics._subscribed = True

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = request.endpoint or "unknown"
        _child(REQUESTS, endpoint, request.method, response.status_code).inc()
        if "started" in g:
            _child(LATENCY, endpoint).observe(time.perf_counter() - g.started)
        if endpoint == "oauth.token":
            try:
                grant_type = request.form.get("grant_type", "")
            except HTTPException:  # an unreadable (oversized) body: already answered with 413
                grant_type = ""
            if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
                grant_type = "other"
            GRANTS.labels(grant_type, "issued" if response.status_code == 200 else "refused").inc()
        if endpoint == "login.login" and request.method == "POST":
            outcome = "succeeded" if response.status_code == 302 else "failed"
            LOGINS.labels("pwd", outcome).inc()
        return response


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
