"""How an error becomes an answer: the one renderer, for the whole app.

Programs (the protocol and API paths, or a client that asks for JSON and not HTML) get
`{"error": <stable code>, ...}` with `Cache-Control: no-store`; people get a page in their
language. A domain error (gateway/errors.py) brings its status, its body (`field`,
`violations`) and its `retry_after`; every 503 says when to retry (RFC 9110 §10.2.3).

Protocol errors (Authlib's OAuth2Error) are answered by their endpoints in their RFCs' shape;
only what escapes every endpoint arrives here: an unreachable dependency (503), an HTTP error
(404, 405, 413, ...), or a bug (500, logged with its traceback).
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from gateway.availability import (
    DATABASE,
    RETRY_AFTER_SECONDS,
    STORE,
    StoreUnavailableError,
    database_unreachable,
)
from gateway.errors import GatewayError
from gateway.extensions import db

log = logging.getLogger("gateway")

_PROGRAM_PATHS = ("/token", "/introspect", "/revoke", "/userinfo", "/api", "/authorize-challenge",
                  "/jwks.json", "/.well-known/", "/ssf/")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
               400: "invalid_request", 401: "unauthorized"}


def wants_json() -> bool:
    if request.path.startswith(_PROGRAM_PATHS):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def error_response(code: str, status: int, *, body: dict | None = None,
                   retry_after: int | None = None):
    """The answer for `code`: `body` (default `{"error": code}`) as JSON for a program, the
    error page (or the outage page for a 503) for a person."""
    from gateway.i18n import MESSAGES
    from gateway.views.pages import error_page, unavailable_page

    if wants_json():
        response = jsonify(body or {"error": code})
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
    elif status == 503:
        response = unavailable_page()
    else:
        message = code if code in MESSAGES["vi"] else "invalid_request"
        response = error_page(message, code, status, retry_after)
    if status == 503:
        retry_after = retry_after or RETRY_AFTER_SECONDS
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def domain_error_response(exc: GatewayError):
    return error_response(exc.code, exc.status, body=exc.body(), retry_after=exc.retry_after)


def unavailable_response(dependency: str, exc: Exception):
    """Fail closed and say so: 503, counted by dependency, logged without the error's text
    (a database error quotes its SQL and parameters: personal numbers)."""
    from gateway.metrics import DEPENDENCY_UNAVAILABLE

    cause = exc.__cause__ or getattr(exc, "orig", None)
    log.error("dependency unavailable", extra={
        "dependency": dependency, "error": type(exc).__name__,
        "cause": type(cause).__name__ if cause is not None else None})
    DEPENDENCY_UNAVAILABLE.labels(dependency).inc()
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone; the session is discarded at teardown
        pass
    return error_response("temporarily_unavailable", 503)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(StoreUnavailableError)
    def _store_down(exc):
        return unavailable_response(STORE, exc)

    @app.errorhandler(GatewayError)
    def _domain_error(exc):
        return domain_error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if exc.response is not None:  # Authlib's protocol errors carry their own response
            return exc.response
        return error_response(_HTTP_CODES.get(exc.code, "error"), exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        # Authlib's endpoints catch only OAuth2Error, so a database error from any endpoint
        # (every grant, client authentication, token checks) arrives here.
        if database_unreachable(exc):
            return unavailable_response(DATABASE, exc)
        log.exception("unhandled error")
        db.session.rollback()
        return error_response("server_error", 500)
