"""Fixtures. The suite runs once per backend, chosen by GATEWAY_TEST_BACKEND:

* ``production`` — PostgreSQL + Redis on loopback (the production path), a fresh database
  per run, migrated with Alembic;
* ``embedded``   — a SQLite file and the SQL-backed store, as `make run` uses.

A missing service fails the run loudly (see tests/helpers/services.py); nothing is skipped.
"""

from __future__ import annotations

import secrets

import pytest
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

from gateway import create_app
from gateway.clock import FixedClock
from gateway.extensions import db
from tests.helpers import hashing, services, speed
from tests.helpers.services import BACKEND

# A small Argon2id profile for the suite's many hashes; why, and how the shipped profile is
# still tested, in tests/helpers/hashing.py.
hashing.use_suite_profile()
speed.memoize_rule_builders()  # tests/helpers/speed.py: why new apps are cheap

# No per-example deadline: the suite runs both backends at once on two cores (make test), and
# a property's worth is in its examples, not their speed (speed is measured in bench/).
hypothesis_settings.register_profile("gateway", deadline=None)
hypothesis_settings.load_profile("gateway")

TABLES = ["import_staged_chunks", "legacy_rows", "verification_rows", "vneid_rows",
          "import_rejects", "import_parts", "import_chunks", "import_jobs", "passkeys",
          "vneid_links", "link_reviews", "audit_records",
          "applications", "staff_sessions", "active_devices", "outbox_messages",
          "password_history", "events", "session_clients", "refresh_tokens", "login_sessions",
          "store_entries", "ssf_stream_subjects", "ssf_streams", "clients", "accounts",
          "staff_accounts", "offices", "signing_keys"]


def pytest_report_header(config):
    return f"gateway backend: {BACKEND}"


@pytest.fixture(scope="session")
def backend_settings(tmp_path_factory):
    if BACKEND == "production":
        database_url = services.fresh_postgres_database()
        redis_url = services.redis_url()
    elif BACKEND == "embedded":
        path = tmp_path_factory.mktemp("db") / "gateway.sqlite3"
        database_url = f"sqlite:///{path}"
        redis_url = ""
        keeper = speed.keep_sqlite_open(str(path))
    else:
        raise pytest.UsageError(f"GATEWAY_TEST_BACKEND={BACKEND!r}: production or embedded")
    settings = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMS_OUTBOX": str(tmp_path_factory.mktemp("sms") / "outbox.jsonl"),
        "FILE_STORE_DIR": str(tmp_path_factory.mktemp("uploads")),
        "EMAIL_OUTBOX": str(tmp_path_factory.mktemp("email") / "outbox.jsonl"),
        "ISSUER": "http://127.0.0.1:8000",
        "LOG_LEVEL": "WARNING",
        # Each run has its own Redis namespace: runs in parallel never see each other.
        "REDIS_KEY_PREFIX": f"test{secrets.token_hex(4)}:",
    }
    app = create_app(settings)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield settings
    if BACKEND == "production":
        services.drop_postgres_database(database_url)
    else:
        keeper.close()


def _clean(app):
    with app.app_context():
        # one round trip: the statements as one script (both drivers take several
        # parameterless statements at once this way)
        script = "".join(f"DELETE FROM {table};" for table in TABLES)  # noqa: S608
        connection = db.session.connection().connection.driver_connection
        if db.engine.dialect.name == "sqlite":
            connection.executescript(script)
        else:
            connection.execute(script)
        db.session.commit()
        store = app.extensions["gateway.store"]
        if hasattr(store, "clear"):
            store.clear()
        db.session.remove()


class ClosingClient(FlaskClient):
    """Closes each response before returning it, as a WSGI server does once the answer is
    sent, so the work a request deferred until after its response (gateway/deferred.py) has
    run when the test goes on. ``buffered=False`` keeps a response open: the test closes it."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def make_app(backend_settings):
    """Builds apps over the shared migrated database; each test starts from empty tables."""
    built = []

    def factory(clock=None, **overrides):
        app = create_app({**backend_settings, **overrides}, clock=clock)
        app.config["TESTING"] = True
        app.test_client_class = ClosingClient
        built.append(app)
        return app

    yield factory
    if built:
        _clean(built[0])
    for app in built:
        release(app)


def release(app):
    """Return every pooled connection of an app a test built (PostgreSQL has ~100 slots in
    all): its ORM pool, and its store's Redis client or SQL engine."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    store = app.extensions["gateway.store"]
    if hasattr(store, "client"):
        store.client.close()
    if hasattr(store, "close"):  # the SQL store's own engine
        store.close()


@pytest.fixture
def app(make_app):
    app = make_app()
    _clean(app)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock():
    return FixedClock()

