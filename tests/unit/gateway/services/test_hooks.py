"""Hook points (gateway/services/hooks.py): the protocol layer adds back-channel logout to
ending a session without the service importing it; registrations belong to one app."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import LoginSession, OutboxMessage, SessionClient
from gateway.oidc.backchannel import CHANNEL, enqueue_logouts
from gateway.oidc.server import init_oauth
from gateway.oidc.ssf import _session_revoked as ssf_session_revoked
from gateway.services.hooks import HookPoint
from gateway.services.revocation import revoke_session, session_ended
from tests.helpers import new_account, new_client


def _session_with_client(account, client_id) -> str:
    now = utcnow()
    sid = secrets.token_urlsafe(16)
    db.session.add(LoginSession(sid=sid, handle_hash=secrets.token_hex(32), account_id=account.id,
                                kind="browser", auth_time=now, amr=["pwd"], acr="1",
                                created_at=now, expires_at=now + timedelta(hours=1)))
    db.session.add(SessionClient(sid=sid, client_id=client_id))
    db.session.commit()
    return sid


def test_the_protocol_layer_registers_back_channel_logout_once(app):
    hooks = (enqueue_logouts, ssf_session_revoked)
    assert session_ended.hooks() == hooks
    init_oauth(app)  # a second init (as the extension allows) adds nothing
    assert session_ended.hooks() == hooks


def test_ending_a_session_queues_its_back_channel_logouts_in_the_same_commit(app):
    account = new_account()
    client_id, _ = new_client(backchannel_logout_uri="http://127.0.0.1:9/backchannel-logout")
    sid = _session_with_client(account, client_id)
    revoke_session(sid, "logout")
    [message] = OutboxMessage.query.filter_by(channel=CHANNEL).all()
    assert message.template == "logout_token"
    assert LoginSession.query.filter_by(sid=sid).one().revoked_at is not None
    revoke_session(sid, "logout")  # already ended: no second notice
    assert OutboxMessage.query.filter_by(channel=CHANNEL).count() == 1


def test_hooks_run_inside_the_transaction_that_ends_the_session(app):
    account = new_account()
    client_id, _ = new_client()
    sid = _session_with_client(account, client_id)

    def refuse(**arguments):
        raise RuntimeError(f"hook failed for {arguments['sid']}")

    session_ended.register(app, refuse)
    with pytest.raises(RuntimeError, match="hook failed"):
        revoke_session(sid, "logout")
    db.session.rollback()
    # Nothing was committed: the session is not ended in SQL without its notices.
    assert LoginSession.query.filter_by(sid=sid).one().revoked_at is None


def test_hooks_belong_to_the_app_that_registered_them(make_app):
    point = HookPoint("example")
    calls = []

    def hook(**arguments):
        calls.append(arguments)

    first, second = make_app(), make_app()
    point.register(first, hook)
    point.register(first, hook)
    with first.app_context():
        point.run(sid="s1")
    with second.app_context():
        point.run(sid="s2")
    assert calls == [{"sid": "s1"}]
    assert point.hooks(first) == (hook,) and point.hooks(second) == ()
