"""Creating an account (gateway/services/accounts.py): the service records it, in the caller's
transaction, whoever calls (the CLI, the demo seed, a future staff console)."""

from __future__ import annotations

from gateway.extensions import db
from gateway.models import Account, Event
from gateway.services.accounts import create_account

SPEC = dict(bhxh="0123456789", name="Lê Thị Hoa", dob="1990-01-02", phone="0912345678",
            password="mot-mat-khau-dai", level=2)


def test_creation_emits_account_created_with_the_account(app):
    account = create_account(**SPEC, via="demo")
    db.session.commit()
    [event] = Event.query.filter_by(name="account.created").all()
    assert event.account_id == account.id and event.data == {"level": 2, "via": "demo"}


def test_a_rolled_back_creation_leaves_no_event(app):
    create_account(**SPEC, via="cli")
    db.session.rollback()
    assert Account.query.count() == 0
    assert Event.query.filter_by(name="account.created").count() == 0
