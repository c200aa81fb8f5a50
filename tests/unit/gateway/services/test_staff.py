"""Staff accounts (gateway/services/staff.py, staff_totp.py): creation rules, the sealed TOTP
secret, codes accepted once under concurrency, and a sign-in that tells nothing apart."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidTag

from gateway.clock import FixedClock
from gateway.crypto.password_hashing import verify_password
from gateway.errors import AuthenticationError, ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import AuditRecord, Event, StaffAccount, StaffSession
from gateway.services import audit, staff_sessions, staff_totp
from gateway.services.passwords import PasswordRejectedError
from gateway.services.staff import (
    check_sign_in,
    create_staff,
    disable_staff,
    find_by_username,
    generate_password,
)
from gateway.services.throttle import Attempt, LockedError
from tests.helpers import race
from tests.helpers.staff import OPERATOR, STAFF_PASSWORD, code_at, new_office, new_staff

ADDRESS = "127.0.0.5"


def test_create_returns_the_uri_once_and_keeps_only_a_sealed_secret(app):
    new_office("BHXH-001")
    made = create_staff(username="clerk.an", role="office_staff", office="BHXH-001",
                        password=STAFF_PASSWORD, actor=OPERATOR)
    db.session.commit()
    staff = made.staff
    uri = urlsplit(made.totp_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    secret = query["secret"][0]
    assert len(base64.b32decode(secret)) == 20  # 160 bits
    assert query["issuer"] == ["VssID Staff"] and uri.path.endswith(":clerk.an")
    assert made.generated_password is None
    stored = bytes(db.session.get(StaffAccount, staff.id).totp_secret_sealed)
    assert secret.encode() not in stored and staff_totp.unseal(stored, staff.id) == secret
    assert verify_password(staff.password_hash, STAFF_PASSWORD).ok
    assert staff.password_hash.startswith("$argon2id$")
    [record] = AuditRecord.query.all()
    assert (record.actor, record.action, record.subject) == ("cli:test", "staff.created",
                                                             "staff:clerk.an")
    assert record.changes == {"role": [None, "office_staff"], "office": [None, "BHXH-001"]}
    [event] = Event.query.filter_by(name="staff.created").all()
    assert event.data == {"staff_id": staff.id, "role": "office_staff", "office": "BHXH-001",
                          "by": "cli:test"}


def test_a_seal_moved_to_another_staff_row_does_not_open(app):
    first, second = new_staff("clerk.an"), new_staff("clerk.binh")
    with pytest.raises(InvalidTag):
        staff_totp.unseal(first.totp_secret_sealed, second.id)


def test_a_generated_password_is_returned_and_works(app):
    new_office()
    made = create_staff(username="clerk.an", role="office_staff", office="BHXH-001",
                        actor=OPERATOR)
    db.session.commit()
    assert made.generated_password and verify_password(made.staff.password_hash,
                                                       made.generated_password).ok
    assert len({generate_password() for _ in range(50)}) == 50


@pytest.mark.parametrize(("spec", "code"), [
    ({"username": "Clerk"}, "invalid_username"),
    ({"username": "0123456789"}, "invalid_username"),
    ({"role": "admin"}, "invalid_role"),
    ({"office": None}, "office_required"),
    ({"role": "post_office_agent", "office": None}, "office_required"),
    ({"office": "BHXH-999"}, "unknown_office"),
    ({"office": "BHXH-002"}, "office_inactive"),
    ({"password": "short"}, "password_rejected"),
    ({"password": "password123"}, "password_rejected"),
    ({"username": "nguyenvanan", "password": "NguyenVanAn-2026!"}, "password_rejected"),
])
def test_creation_refusals(app, spec, code):
    new_office("BHXH-001")
    new_office("BHXH-002", active=False)
    args = {"username": "clerk.an", "role": "office_staff", "office": "BHXH-001",
            "password": STAFF_PASSWORD, **spec}
    with pytest.raises(ValidationError) as refused:
        create_staff(**args, actor=OPERATOR)
    assert refused.value.code == code
    db.session.rollback()
    assert StaffAccount.query.count() == 0 and AuditRecord.query.count() == 0


def test_the_password_rules_name_every_violation(app):
    new_office()
    with pytest.raises(PasswordRejectedError) as refused:
        create_staff(username="clerk.an", role="office_staff", office="BHXH-001",
                     password="1234567", actor=OPERATOR)
    assert "too_short" in refused.value.violations


def test_a_supervisor_needs_no_office_and_names_are_unique(app):
    assert new_staff("boss.one", role="supervisor", office=None).office_code is None
    with pytest.raises(ConflictError, match="staff_exists"):
        create_staff(username="boss.one", role="supervisor", actor=OPERATOR)


# ------------------------------------------------------------------------- TOTP


def test_a_code_is_accepted_within_one_step_either_side(make_app, clock):
    app = make_app(clock=clock)
    with app.app_context():
        staff = new_staff()
        for offset in (-1, 0, 1):
            clock.advance(seconds=90)  # a fresh step each time (a code is used once)
            assert staff_totp.matching(staff, code_at(staff, offset)) is not None
        for offset in (-3, 3):
            code = code_at(staff, offset)
            if code not in {code_at(staff, d) for d in (-1, 0, 1)}:
                assert staff_totp.matching(staff, code) is None
        for junk in ("", "12345", "abcdef", "１２３４５６"):
            assert staff_totp.matching(staff, junk) is None


def test_a_step_is_consumed_once_and_never_an_older_one(app):
    staff = new_staff()
    assert staff_totp.consume(staff.id, 1000)
    assert not staff_totp.consume(staff.id, 1000)
    assert not staff_totp.consume(staff.id, 999)  # an older code after a newer one
    assert staff_totp.consume(staff.id, 1001)


def test_twenty_concurrent_sign_ins_with_one_code_give_one_success(make_app):
    app = make_app(LOCKOUT_THRESHOLD=50)
    with app.app_context():
        staff = new_staff()
        code = code_at(staff)
        db.session.remove()

    def attempt(_):
        with app.app_context():
            try:
                check_sign_in("clerk.an", STAFF_PASSWORD, code, address=ADDRESS)
                return "ok"
            except AuthenticationError:
                return "refused"
            finally:
                db.session.remove()

    outcomes = race(20, attempt)
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 19
    with app.app_context():
        reused = Event.query.filter_by(name="staff.sign_in_failed").all()
        assert {e.data["reason"] for e in reused} == {"code_reused"} and len(reused) == 19


# ------------------------------------------------------------------------- sign-in


def test_sign_in_checks_all_three(app):
    staff = new_staff()
    assert check_sign_in("clerk.an", STAFF_PASSWORD, code_at(staff), address=ADDRESS) == staff


@pytest.mark.parametrize("case", ["unknown", "malformed", "password", "code", "reused",
                                  "disabled", "not_text"])
def test_every_refusal_is_the_same_error(make_app, case):
    clock = FixedClock()
    app = make_app(clock=clock)
    with app.app_context():
        staff = new_staff()
        username, password, code = "clerk.an", STAFF_PASSWORD, code_at(staff)
        if case == "unknown":
            username = "clerk.nobody"
        elif case == "malformed":
            username = "Clerk An"
        elif case == "password":
            password = "Mật-khẩu-sai-2026"
        elif case == "code":
            code = next(c for c in (f"{n:06d}" for n in range(10**6))
                        if c not in {code_at(staff, d) for d in (-1, 0, 1)})
        elif case == "reused":
            check_sign_in(username, password, code, address=ADDRESS)
        elif case == "disabled":
            disable_staff(staff, actor=OPERATOR, reason="nghỉ việc")
            db.session.commit()
        elif case == "not_text":
            password = None
        with pytest.raises(AuthenticationError) as refused:
            check_sign_in(username, password, code, address=ADDRESS)
        assert refused.value.code == "invalid_credentials" and refused.value.status == 401
        failed = Event.query.filter_by(name="staff.sign_in_failed").all()[-1]
        assert failed.data["staff_id"] == (None if case in ("unknown", "malformed")
                                           else staff.id)


def test_five_failures_lock_the_username_even_with_the_right_code(make_app, clock):
    app = make_app(clock=clock, LOCKOUT_DURATIONS="60,300")
    with app.app_context():
        staff = new_staff()
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                check_sign_in("clerk.an", "Sai-mật-khẩu-2026", code_at(staff), address=ADDRESS)
        with pytest.raises(LockedError) as locked:
            check_sign_in("clerk.an", STAFF_PASSWORD, code_at(staff), address=ADDRESS)
        assert 1 <= locked.value.retry_after <= 60
        [event] = Event.query.filter_by(name="staff.locked").all()
        assert event.data == {"staff_id": staff.id, "seconds": 60}
        clock.advance(seconds=61)
        assert check_sign_in("clerk.an", STAFF_PASSWORD, code_at(staff), address=ADDRESS)


def test_an_unknown_username_locks_alike(make_app, clock):
    app = make_app(clock=clock)
    with app.app_context():
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                check_sign_in("clerk.nobody", STAFF_PASSWORD, "123456", address=ADDRESS)
        with pytest.raises(LockedError):
            check_sign_in("clerk.nobody", STAFF_PASSWORD, "123456", address=ADDRESS)


def test_a_staff_lock_and_a_citizen_lock_are_apart(app):
    """The same string locked as a staff username leaves the citizens' login name free."""
    for _ in range(5):
        Attempt("clerk.an", ADDRESS, space="sf").begin().failed()
    with pytest.raises(LockedError):
        Attempt("clerk.an", ADDRESS, space="sf").begin()
    Attempt("clerk.an", ADDRESS).begin().succeeded()
    with pytest.raises(ValueError, match="key space"):
        Attempt("clerk.an", ADDRESS, space="xx")


def test_disabling_ends_every_open_session_and_is_audited(app):
    staff = new_staff()
    for _ in range(2):
        staff_sessions.start(staff, address=ADDRESS)
    assert disable_staff(staff, actor=OPERATOR, reason="nghỉ việc")
    db.session.commit()
    assert not disable_staff(staff, actor=OPERATOR, reason="lần nữa")
    assert {s.ended_reason for s in StaffSession.query.all()} == {"staff_disabled"}
    record = AuditRecord.query.filter_by(action="staff.disabled").one()
    assert record.changes == {"status": ["active", "disabled"]} and record.reason == "nghỉ việc"
    assert audit.verify() == (2, None)
    assert find_by_username("clerk.an").status == "disabled"


def test_find_by_username_never_matches_a_malformed_name(app):
    new_staff()
    assert find_by_username("clerk.an") is not None
    assert find_by_username("CLERK.AN") is None and find_by_username("clerk.an ") is None
