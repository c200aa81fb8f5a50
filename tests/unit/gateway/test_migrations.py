"""The Alembic migrations produce exactly the schema the models describe, on each backend."""

import json
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from gateway import create_app
from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import OutboxMessage, modelled
from gateway.services import outbox
from gateway.services.outbox import sealing
from providers.sms import OutboxFileProvider
from tests.helpers import services
from tests.helpers.services import BACKEND


def test_models_match_migrations(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": modelled})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


@pytest.fixture
def scratch_database(backend_settings, tmp_path):
    """An empty database of the run's backend, for a migration test of its own."""
    if BACKEND == "production":
        url = services.fresh_postgres_database()
        yield url
        services.drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"


def test_0005_seals_the_recipients_already_stored(backend_settings, scratch_database, tmp_path):
    """Rows written before 0005 kept the number in clear: a pending row gets it sealed (and is
    still delivered, to the right number), a delivered row keeps only the masked hint."""
    app = create_app({**backend_settings, "DATABASE_URL": scratch_database,
                      "SMS_OUTBOX": str(tmp_path / "sms.jsonl")})
    try:
        with app.app_context():
            upgrade(revision="0004")
            now = utcnow()
            pending_key, done_key = os.urandom(16), os.urandom(16)
            payload = sealing.seal(
                json.dumps({"params": {}, "text": "Mat khau VssID da doi."}).encode(),
                sealing.payload_aad(pending_key, "sms", "+84912345623"))
            insert = text(
                "INSERT INTO outbox_messages (message_key, channel, recipient, template, "
                "payload_encrypted, locale, created_at, attempts, next_attempt_at) "
                "VALUES (:k, 'sms', :r, 'password_changed', :p, 'vi', :t, :a, :n)")
            db.session.execute(insert, {"k": pending_key, "r": "+84912345623", "p": payload,
                                        "t": now, "a": 0, "n": now})
            db.session.execute(insert, {"k": done_key, "r": "+84388123456", "p": b"",
                                        "t": now, "a": 1, "n": None})
            db.session.commit()

            upgrade(revision="0005")
            db.session.expire_all()
            dump = repr(db.session.execute(text("SELECT * FROM outbox_messages")).all())
            assert "912345623" not in dump and "388123456" not in dump
            db.session.rollback()  # end the read: the upgrade alters the table
            upgrade()  # what follows reads the rows with today's model
            pending, done = OutboxMessage.query.order_by(OutboxMessage.id).all()
            assert (pending.recipient_hint, done.recipient_hint) == (
                "+84 9** *** *23", "+84 3** *** *56")
            assert outbox.recipient_of(pending) == "+84912345623"
            assert outbox.recipient_of(done) is None
            db.session.rollback()
            assert outbox.deliver_pending() == {"delivered": 1, "failed": 0, "pending": 0}
            [message] = OutboxFileProvider(app.config["SMS_OUTBOX"]).messages()
            assert message["to"] == "+84912345623"

            downgrade(revision="0004")
            rows = db.session.execute(text(
                "SELECT recipient FROM outbox_messages ORDER BY id")).scalars().all()
            assert rows == ["+84 9** *** *23", "+84 3** *** *56"]  # delivered: hint only
            db.session.commit()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        store = app.extensions["gateway.store"]
        if hasattr(store, "client"):
            store.client.close()


def test_0013_fills_the_name_key_of_applications_already_stored(backend_settings,
                                                                 scratch_database):
    """Applications stored before 0013 get the search key of their name; the down migration
    removes the columns again."""
    app = create_app({**backend_settings, "DATABASE_URL": scratch_database})
    try:
        with app.app_context():
            upgrade(revision="0012")
            now = utcnow()
            db.session.execute(text(
                "INSERT INTO offices (code, name, province, active, updated_at) "
                "VALUES ('BHXH-079', 'BHXH TP HCM', '079', :t, :n)"), {"t": True, "n": now})
            db.session.execute(text(
                "INSERT INTO applications (reference, status, bhxh, full_name, dob, sex, cccd, "
                "phone, office_code, portrait_file, id_front_file, id_back_file, submitted_at, "
                "updated_at) VALUES ('HS0013TEST', 'submitted', '0123456789', :name, "
                "'1985-04-12', 'male', '079085001234', '+84912345623', 'BHXH-079', 'a', 'b', "
                "'c', :n, :n)"), {"name": "ĐỖ  Nguye\u0302\u0303n An", "n": now})
            db.session.commit()
            upgrade(revision="0013")
            key = db.session.execute(text("SELECT name_key FROM applications")).scalar_one()
            assert key == "đỗ nguyễn an"
            db.session.rollback()
            downgrade(revision="0012")
            columns = db.session.execute(text("SELECT * FROM applications")).keys()
            assert "name_key" not in columns
            db.session.rollback()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        store = app.extensions["gateway.store"]
        if hasattr(store, "client"):
            store.client.close()


def test_0014_keeps_existing_accounts_usable_and_downgrades(backend_settings, scratch_database,
                                                            tmp_path):
    """Accounts stored before 0014 all have a password: they come out with password_usable
    true and no population verification; the downgrade removes the tables and columns."""
    app = create_app({**backend_settings, "DATABASE_URL": scratch_database,
                      "SMS_OUTBOX": str(tmp_path / "sms.jsonl")})
    try:
        with app.app_context():
            upgrade(revision="0013")
            now = utcnow()
            db.session.execute(text(
                "INSERT INTO accounts (sub, bhxh, full_name, dob, phone, status, level, "
                "password_hash, password_changed_at, must_change_password, created_at) "
                "VALUES ('s', '0123456789', 'A', :dob, '+84912345623', 'active', 1, 'x', "
                ":now, :false, :now)"), {"dob": now.date(), "now": now, "false": False})
            db.session.commit()
            upgrade(revision="0014")
            row = db.session.execute(text(
                "SELECT password_usable, population_verified_at FROM accounts")).one()
            assert (bool(row[0]), row[1]) == (True, None)
            db.session.rollback()
            downgrade(revision="0013")
            tables = set(db.inspect(db.engine).get_table_names())
            assert not {"vneid_links", "link_reviews"} & tables
            columns = {c["name"] for c in db.inspect(db.engine).get_columns("accounts")}
            assert not {"password_usable", "population_verified_at"} & columns
            db.session.commit()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        store = app.extensions["gateway.store"]
        if hasattr(store, "client"):
            store.client.close()
