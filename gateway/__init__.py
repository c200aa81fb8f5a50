"""The VssID identity gateway. `create_app()` is the only way an app is built."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import Flask, g, request
from sqlalchemy import create_engine, event, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import deferred, pool_checks
from gateway.availability import PG_CONNECT_TIMEOUT
from gateway.clock import Clock
from gateway.cookie_session import CookieSessionInterface
from gateway.extensions import db, migrate
from gateway.logs import configure_logging
from gateway.services import client_cache
from gateway.settings import (
    SANDBOX_CLIENT_ID,
    SANDBOX_PATH,
    is_production,
    load_settings,
    sandbox_issuer,
)
from gateway.store import create_store
from providers.email import email_provider_for
from providers.files import file_store_for
from providers.health_cards import health_cards_for
from providers.insurance_register import register_for
from providers.sms import sms_provider_for
from providers.vneid import VneidClient, VneidConfig
from providers.vneid_jose import load_private_key

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
        store_engine = None if settings["REDIS_URL"] else _store_engine(db.engine)
    app.extensions["clock"] = clock or Clock()
    app.extensions["gateway.store"] = create_store(
        settings["REDIS_URL"], lambda: store_engine, settings["REDIS_KEY_PREFIX"],
        wait_replicas=settings["REDIS_WAIT_REPLICAS"], wait_ms=settings["REDIS_WAIT_MS"],
    )
    client_cache.init_app(app)
    app.extensions["gateway.sms"] = sms_provider_for(settings)
    app.extensions["gateway.email"] = email_provider_for(settings)
    app.extensions["gateway.files"] = file_store_for(settings)
    app.extensions["gateway.vneid"] = VneidClient(VneidConfig.from_settings(settings),
                                                  clock=app.extensions["clock"])
    app.extensions["gateway.insurance_register"] = register_for(settings)
    app.extensions["gateway.health_cards"] = health_cards_for(settings)
    if settings["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings["TRUSTED_PROXIES"], x_proto=1)
    if not is_production(settings):
        _mount_vneid_sandbox(app, settings)
    deferred.init_app(app)
    from gateway.jobs.queue import init_app as init_queue

    init_queue(app)
    from gateway.oidc.server import init_oauth

    init_oauth(app)
    _register_blueprints(app)
    _register_hooks(app)
    from gateway.cli import register_cli

    register_cli(app)
    return app


def _mount_vneid_sandbox(app: Flask, settings: dict) -> None:
    """The offline VNeID (providers/vneid_sandbox) under {ISSUER}/sandbox/vneid, outside
    production only, with the gateway registered as its client. The gateway reaches it over
    HTTP on its own host like any upstream: the server must serve both at once (the
    development server is threaded; `make run` says so)."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from providers.vneid_sandbox import SandboxClient, SandboxProvider, load_citizens, sandbox_app

    public_jwk = None
    if settings["VNEID_PRIVATE_KEY_FILE"]:
        public_jwk = load_private_key(settings["VNEID_PRIVATE_KEY_FILE"])[1].as_dict(
            private=False)
    client = SandboxClient(settings["VNEID_CLIENT_ID"] or SANDBOX_CLIENT_ID,
                           (settings["ISSUER"] + "/vneid/callback",),
                           secret=settings["VNEID_CLIENT_SECRET"] or None, public_jwk=public_jwk)
    provider = SandboxProvider(sandbox_issuer(settings), [client], clock=app.extensions["clock"],
                               citizens=load_citizens())
    app.extensions["gateway.vneid_sandbox"] = provider
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {SANDBOX_PATH: sandbox_app(provider)})


def _configure_flask(app: Flask, settings: dict) -> None:
    app.session_interface = CookieSessionInterface()
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


def _engine_options(url: str, *, store: bool = False) -> dict:
    if url.startswith("sqlite"):
        options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        # The store's pool has no cap: a SQLite connection is a file handle, writers queue
        # on the database's lock, and a store operation must never wait for a connection.
        return {**options, "max_overflow": -1} if store else options
    # No pre-ping (a round trip per checkout): gateway/pool_checks.py checks each connection
    # taken from the pool without one, so a connection left stale by a restart or a dropped
    # connection is still replaced instead of failing a request (gateway.availability).
    options = {"pool_size": 10, "max_overflow": 20}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT}
    return options


def _store_engine(orm_engine):
    """The SQL-backed store's own engine: the same database as db.engine, its own pool.

    A request holds its ORM connection from its first query to its commit, and calls the
    store in between. When the store drew from the same pool (5 + 10 connections on SQLite),
    fifteen requests in flight at once (a race of 20 refreshes or OTP submissions) could
    each hold one connection while waiting for a second: no one could go on until the pool
    gave up after 30 s (a 500). With a pool of its own, a store operation never waits for a
    connection a request holds, and it holds its own only for one short transaction.
    """
    engine = create_engine(orm_engine.url, **_engine_options(str(orm_engine.url), store=True))
    _tune_engine(engine)
    return engine


def _tune_engine(engine) -> None:
    if engine.dialect.name == "postgresql":
        pool_checks.install(engine)
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
    from gateway.views import (
        account,
        api,
        applications_api,
        demo,
        health,
        health_card,
        login,
        oauth,
        passkeys,
        passkeys_api,  # noqa: F401 - nests itself in the API blueprint at import
        register,
        ssf,
        staff,
        vneid,
    )

    app.register_blueprint(oauth.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(api.bp)  # with passkeys_api.bp nested in it (/api/v1/passkeys)
    app.register_blueprint(health_card.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(passkeys.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(vneid.bp)
    app.register_blueprint(register.bp)
    app.register_blueprint(applications_api.bp)
    app.register_blueprint(ssf.bp)

    from gateway.metrics import init_metrics
    from gateway.services.events import subscribe

    init_metrics(app, subscribe)


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

    from gateway.views.errors import register_error_handlers

    register_error_handlers(app)
