"""`flask --app wsgi staff create|list|disable|totp` and `audit verify`: the operator's side of
the console, JSON out, one-line errors naming the field (exit 2), a broken chain exits 1."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import text

from gateway.crypto.password_hashing import verify_password
from gateway.extensions import db
from gateway.models import AuditRecord, StaffAccount
from gateway.services import staff_totp
from tests.helpers.staff import STAFF_PASSWORD, new_office, new_staff


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_prints_the_contract_with_a_generated_password(app):
    new_office("BHXH-001")
    result = run(app, "staff", "create", "--username", "clerk.an", "--role", "office_staff",
                 "--office", "BHXH-001", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"id", "username", "role", "office", "totp_uri", "password"}
    assert (out["username"], out["role"], out["office"]) == ("clerk.an", "office_staff",
                                                             "BHXH-001")
    staff = db.session.get(StaffAccount, out["id"])
    assert verify_password(staff.password_hash, out["password"]).ok
    secret = parse_qs(urlsplit(out["totp_uri"]).query)["secret"][0]
    assert staff_totp.unseal(staff.totp_secret_sealed, staff.id) == secret
    record = AuditRecord.query.one()
    assert record.actor.startswith("cli:") and record.action == "staff.created"


def test_create_with_a_password_does_not_print_it(app):
    result = run(app, "staff", "create", "--username", "boss.one", "--role", "supervisor",
                 "--password", STAFF_PASSWORD, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "password" not in out and out["office"] is None
    assert STAFF_PASSWORD not in result.output


@pytest.mark.parametrize(("args", "field", "code"), [
    (["--username", "Clerk", "--role", "supervisor"], "username", "invalid_username"),
    (["--username", "clerk.an", "--role", "office_staff"], "office", "office_required"),
    (["--username", "clerk.an", "--role", "office_staff", "--office", "NOPE-1"], "office",
     "unknown_office"),
    (["--username", "clerk.an", "--role", "supervisor", "--password", "password1"],
     "new_password", "password_rejected"),
])
def test_create_refusals_exit_2_naming_the_field(app, args, field, code):
    result = run(app, "staff", "create", *args, "--json")
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(f"error: {field}: {code}")
    assert len(result.output.strip().splitlines()) == 1
    assert StaffAccount.query.count() == 0 and AuditRecord.query.count() == 0


def test_an_unknown_role_is_refused_by_the_option(app):
    result = run(app, "staff", "create", "--username", "clerk.an", "--role", "admin")
    assert result.exit_code == 2 and "admin" in result.output


def test_list_shows_no_secret(app):
    new_staff("clerk.an")
    new_staff("boss.one", role="supervisor", office=None)
    result = run(app, "staff", "list", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)["staff"]
    assert [(s["username"], s["role"], s["office"], s["status"]) for s in listed] == [
        ("boss.one", "supervisor", None, "active"), ("clerk.an", "office_staff", "BHXH-001",
                                                     "active")]
    assert "totp" not in result.output and "hash" not in result.output


def test_disable_twice(app):
    new_staff("clerk.an")
    first = json.loads(run(app, "staff", "disable", "clerk.an", "--reason", "nghỉ việc").output)
    again = json.loads(run(app, "staff", "disable", "clerk.an").output)
    assert first["changed"] and not again["changed"] and again["disabled"]
    assert AuditRecord.query.filter_by(action="staff.disabled").count() == 1
    missing = run(app, "staff", "disable", "clerk.nobody")
    assert missing.exit_code == 2 and "unknown_staff" in missing.output


def test_reset_totp_replaces_the_secret_and_ends_sessions(app):
    from gateway.models import StaffSession
    from gateway.services import staff_sessions

    staff = new_staff("clerk.an")
    old_secret = staff_totp.unseal(staff.totp_secret_sealed, staff.id)
    staff_sessions.start(staff, address="127.0.0.1")
    result = run(app, "staff", "reset-totp", "clerk.an", "--reason", "mất điện thoại")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    new_secret = parse_qs(urlsplit(out["totp_uri"]).query)["secret"][0]
    db.session.expire_all()
    staff = db.session.get(StaffAccount, staff.id)
    assert staff_totp.unseal(staff.totp_secret_sealed, staff.id) == new_secret != old_secret
    assert StaffSession.query.one().ended_reason == "totp_reset"
    record = AuditRecord.query.filter_by(action="staff.totp_reset").one()
    assert record.reason == "mất điện thoại" and new_secret not in json.dumps(record.changes)
    assert run(app, "staff", "reset-totp", "clerk.nobody").exit_code == 2


def test_totp_prints_the_current_code_in_development(app):
    staff = new_staff("clerk.an")
    result = run(app, "staff", "totp", "clerk.an")
    assert result.exit_code == 0
    secret = staff_totp.unseal(staff.totp_secret_sealed, staff.id)
    assert pyotp.TOTP(secret).verify(result.output.strip(), valid_window=1)
    out = json.loads(run(app, "staff", "totp", "clerk.an", "--json").output)
    assert out == {"username": "clerk.an", "code": result.output.strip()}


def test_totp_is_refused_in_production(app):
    new_staff("clerk.an")
    app.config["ENV"] = "production"
    result = run(app, "staff", "totp", "clerk.an")
    assert result.exit_code != 0 and "refused in production" in result.output
    assert not any(ch.isdigit() for ch in result.output.replace("production", ""))


def test_every_command_has_help(app):
    for command in ("create", "list", "disable", "reset-totp", "totp"):
        assert run(app, "staff", command, "--help").exit_code == 0
    assert "hash chain" in run(app, "audit", "verify", "--help").output


# ---------------------------------------------------------------- audit verify


def test_audit_verify_intact(app):
    new_staff("clerk.an")
    new_staff("clerk.binh")
    result = run(app, "audit", "verify", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == {"checked": 2, "ok": True}
    plain = run(app, "audit", "verify")
    assert plain.exit_code == 0 and plain.output.strip() == "audit chain intact: 2 records"


@pytest.mark.parametrize(("tamper", "seq", "problem"), [
    ("UPDATE audit_records SET reason = 'sửa' WHERE seq = 2", 2, "content"),
    ("DELETE FROM audit_records WHERE seq = 2", 2, "gap"),
])
def test_audit_verify_names_the_first_broken_record(app, tamper, seq, problem):
    for name in ("clerk.an", "clerk.binh", "clerk.chi"):
        new_staff(name)
    db.session.execute(text(tamper))
    db.session.commit()
    result = run(app, "audit", "verify", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {"checked": 1, "ok": False, "broken_at": seq,
                                         "problem": problem}
    plain = run(app, "audit", "verify")
    assert plain.exit_code == 1 and f"broken at record {seq}: {problem}" in plain.output


def test_demo_seed_makes_the_demo_clerk_and_supervisor(make_app, tmp_path):
    from gateway.cli.demo import DEMO_OFFICE, DEMO_STAFF
    from gateway.services.staff import check_sign_in
    from tests.helpers.staff import code_at

    app = make_app(DEMO_ENABLED=True, DEMO_CLIENT_FILE=str(tmp_path / "demo-client.json"))
    app.instance_path = str(tmp_path)
    with app.app_context():
        result = run(app, "demo", "seed")
        assert result.exit_code == 0, result.output
        clerk, supervisor = DEMO_STAFF
        assert f"username {clerk['username']}  password {clerk['password']}" in result.output
        assert "flask --app wsgi staff totp USERNAME" in result.output
        assert run(app, "demo", "seed").exit_code == 0  # idempotent
        staff = StaffAccount.query.order_by(StaffAccount.username).all()
        assert [(s.username, s.role, s.office_code) for s in staff] == [
            ("demo.clerk", "office_staff", DEMO_OFFICE["code"]),
            ("demo.supervisor", "supervisor", None)]
        signed_in = check_sign_in(clerk["username"], clerk["password"], code_at(staff[0]),
                                  address="127.0.0.1")
        assert signed_in.username == "demo.clerk"
        db.session.remove()
