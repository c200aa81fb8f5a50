"""Console sessions (gateway/services/staff_sessions.py): server-side, ended by idleness, by
age, by signing out or disabling — each once — on the injected clock."""

from __future__ import annotations

from gateway.extensions import db
from gateway.models import Event, StaffSession
from gateway.services import staff_sessions
from gateway.services.staff import disable_staff
from tests.helpers import race
from tests.helpers.staff import OPERATOR, new_staff


def test_a_session_is_found_by_its_handle_only(app):
    staff = new_staff()
    handle = staff_sessions.start(staff, address="127.0.0.5")
    found = staff_sessions.find(handle)
    assert found.staff.id == staff.id and found.session.ended_at is None
    assert StaffSession.query.one().handle_hash != handle  # only its hash is kept
    for other in ("", None, handle[:-1] + "x", "x" * 200):
        assert staff_sessions.find(other) == staff_sessions.Found()
    [event] = Event.query.filter_by(name="staff.signed_in").all()
    assert event.data["staff_id"] == staff.id and event.data["address"] == "127.0.0.5"


def test_idle_for_the_timeout_ends_it(make_app, clock):
    app = make_app(clock=clock, STAFF_IDLE_TIMEOUT=900)
    with app.app_context():
        handle = staff_sessions.start(new_staff(), address="127.0.0.5")
        for _ in range(20):  # busy for 5 hours, never 15 minutes idle: still open
            clock.advance(seconds=899)
            assert staff_sessions.find(handle).staff is not None
        clock.advance(seconds=900)
        assert staff_sessions.find(handle) == staff_sessions.Found(ended="idle_timeout")
        assert staff_sessions.find(handle) == staff_sessions.Found()  # ended for good
        assert StaffSession.query.one().ended_reason == "idle_timeout"


def test_touches_are_written_at_most_once_a_minute_and_never_extend_past_the_timeout(make_app,
                                                                                   clock):
    app = make_app(clock=clock, STAFF_IDLE_TIMEOUT=120)
    with app.app_context():
        handle = staff_sessions.start(new_staff(), address="127.0.0.5")
        started = StaffSession.query.one().last_seen_at
        clock.advance(seconds=30)
        staff_sessions.find(handle)
        db.session.expire_all()
        assert StaffSession.query.one().last_seen_at == started  # under a minute: not written
        clock.advance(seconds=89)  # 119 s after the last write: still open, and now written
        assert staff_sessions.find(handle).staff is not None
        clock.advance(seconds=119)
        assert staff_sessions.find(handle).staff is not None
        clock.advance(seconds=120)
        assert staff_sessions.find(handle).ended == "idle_timeout"


def test_eight_hours_end_it_however_busy(make_app, clock):
    app = make_app(clock=clock, STAFF_SESSION_TTL=8 * 3600, STAFF_IDLE_TIMEOUT=900)
    with app.app_context():
        handle = staff_sessions.start(new_staff(), address="127.0.0.5")
        for _ in range(8 * 6 - 1):
            clock.advance(minutes=10)
            assert staff_sessions.find(handle).staff is not None
        clock.advance(minutes=10)
        assert staff_sessions.find(handle).ended == "expired"
        [ended] = Event.query.filter_by(name="staff.session_ended").all()
        assert ended.data["reason"] == "expired"


def test_a_disabled_staff_members_session_opens_nothing(app):
    staff = new_staff()
    handle = staff_sessions.start(staff, address="127.0.0.5")
    disable_staff(staff, actor=OPERATOR, reason="nghỉ việc")
    db.session.commit()
    assert staff_sessions.find(handle).staff is None


def test_a_session_ends_once_among_racers(make_app):
    app = make_app()
    with app.app_context():
        handle = staff_sessions.start(new_staff(), address="127.0.0.5")
        session_id = staff_sessions.find(handle).session.id
        db.session.remove()

    def end(_):
        with app.app_context():
            try:
                return staff_sessions.end(db.session.get(StaffSession, session_id), "signed_out")
            finally:
                db.session.remove()

    assert sorted(race(10, end)) == [False] * 9 + [True]
    with app.app_context():
        assert Event.query.filter_by(name="staff.session_ended").count() == 1
