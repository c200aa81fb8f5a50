"""The VssID identity gateway. `create_app()` is the only way an app is built."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from flask import Flask, g, jsonify, request
from sqlalchemy import event
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import deferred
from gateway.clock import Clock
from gateway.errors import GatewayError
from gateway.extensions import db, migrate
from gateway.logs import configure_logging
from gateway.settings import is_production, load_settings
from gateway.store import StoreUnavailableError, create_store
from providers.sms import sms_provider_for

log = logging.getLogger("gateway")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None, *, clock: Clock | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    settings = load_settings(overrides, instance_path=app.instance_path)
    app.config.update(settings)
    configure_logging(settings["LOG_LEVEL"])
    _configure_flask(app, settings)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    with app.app_context():
        _tune_engine(db.engine)
    app.extensions["clock"] = clock or Clock()
    app.extensions["gateway.store"] = create_store(
        settings["REDIS_URL"], lambda: db.engine, settings["REDIS_KEY_PREFIX"]
    )
    app.extensions["gateway.sms"] = sms_provider_for(settings)
    if settings["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings["TRUSTED_PROXIES"], x_proto=1)
    deferred.init_app(app)
    from gateway.oidc.server import init_oauth

    init_oauth(app)
    _register_blueprints(app)
    _register_hooks(app)
    from gateway.cli import register_cli

    register_cli(app)
    return app


def _configure_flask(app: Flask, settings: dict) -> None:
    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings["DATABASE_URL"]),
        SESSION_COOKIE_NAME="vssid_ui",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=is_production(settings),
        MAX_CONTENT_LENGTH=settings["MAX_CONTENT_LENGTH"],
        MAX_FORM_MEMORY_SIZE=settings["MAX_CONTENT_LENGTH"],
        JSON_SORT_KEYS=False,
    )
    if settings["DATABASE_URL"].startswith("sqlite:///"):
        Path(settings["DATABASE_URL"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _tune_engine(engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is crash-safe (no corruption); a power cut may lose the last
        # commits. The embedded default is for development and small sites; production is
        # PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from gateway.views import account, api, demo, health, login, oauth

    app.register_blueprint(oauth.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(account.bp)

    from gateway.metrics import init_metrics

    init_metrics(app)


def _wants_json() -> bool:
    if request.path.startswith(("/token", "/introspect", "/revoke", "/userinfo", "/api")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def _register_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)

    @app.after_request
    def _headers(response):
        from gateway.views.pages import content_security_policy

        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        if is_production(app.config):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()

    @app.errorhandler(StoreUnavailableError)
    def _store_down(exc):
        log.error("store unavailable", extra={"error": str(exc)})
        db.session.rollback()
        return _error("temporarily_unavailable", 503)

    @app.errorhandler(GatewayError)
    def _domain_error(exc):
        return _error(exc.code, exc.status, field=exc.field)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
                 400: "invalid_request", 401: "unauthorized"}
        if exc.response is not None:  # Authlib's protocol errors carry their own response
            return exc.response
        return _error(codes.get(exc.code, "error"), exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error")
        db.session.rollback()
        return _error("server_error", 500)


def _error(code: str, status: int, **extra):
    from gateway.i18n import MESSAGES
    from gateway.views.pages import error_page

    if _wants_json():
        body = {"error": code, **{k: v for k, v in extra.items() if v}}
        response = jsonify(body)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
    message = code if code in MESSAGES["vi"] else "invalid_request"
    return error_page(message, code, status)
