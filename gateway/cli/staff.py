"""`flask --app wsgi staff create|list|disable|reset-totp|totp`: the console's staff accounts.

Staff accounts are made by operators only (no page creates one), and each creation and
disabling is an audit record whose actor is ``cli:<operating-system user>``. Output is one
JSON object, as for every operator command; bad input is one line naming the field on
stderr, exit status 2, nothing written (gateway/cli/__init__.py).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.cli import emit_json, fail, operator_actor
from gateway.errors import GatewayError, ValidationError
from gateway.extensions import db
from gateway.services import staff as staff_service
from gateway.services import staff_totp
from gateway.settings import is_production
from policies.staff_rules import ROLES


@click.group("staff", help="Staff accounts of the console (/staff/): clerks, post-office "
             "agents, supervisors.")
def group():
    pass


def _staff_or_fail(username: str):
    staff = staff_service.find_by_username(username)
    if staff is None:
        fail(ValidationError("unknown_staff", field="username", detail="no such staff account"))
    return staff


@group.command("create", help="Create a staff account. Prints its id, username, role, office "
               "and an otpauth:// URI for the authenticator app (its TOTP secret is shown "
               "this once), and the password when it was generated. A given password must "
               "pass the citizens' password rules.")
@click.option("--username", required=True, help="3-32 characters: a-z, 0-9 and . _ - between "
              "them, starting with a letter.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="office_staff and "
              "post_office_agent need --office; a supervisor may have none (every office).")
@click.option("--office", default=None, help="Code of an active office (see `offices list`).")
@click.option("--password", default=None, help="Initial password; generated (about 99 bits) "
              "when omitted.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def create(username, role, office, password, as_json):
    try:
        made = staff_service.create_staff(username=username, role=role, office=office,
                                          password=password, actor=operator_actor())
        db.session.commit()
    except GatewayError as exc:
        fail(exc)
    out = {"id": made.staff.id, "username": made.staff.username, "role": made.staff.role,
           "office": made.staff.office_code, "totp_uri": made.totp_uri}
    if made.generated_password is not None:
        out["password"] = made.generated_password
    emit_json(out)


@group.command("list", help='List every staff account: {"staff": [{id, username, role, '
               'office, status, created_at}]}. No secret is shown.')
@click.option("--json", "as_json", is_flag=True, help="Accepted; the output is always JSON.")
@with_appcontext
def list_(as_json):
    emit_json({"staff": [{"id": s.id, "username": s.username, "role": s.role,
                          "office": s.office_code, "status": s.status,
                          "created_at": s.created_at.isoformat()}
                         for s in staff_service.list_staff()]})


@group.command("disable", help="Disable a staff account: no more sign-ins, and every open "
               "console session of theirs ends at once. Audited.")
@click.argument("username")
@click.option("--reason", default=None, help="Why (kept in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help="Accepted; the output is always JSON.")
@with_appcontext
def disable(username, reason, as_json):
    staff = _staff_or_fail(username)
    changed = staff_service.disable_staff(staff, actor=operator_actor(), reason=reason)
    db.session.commit()
    emit_json({"id": staff.id, "username": staff.username, "disabled": True,
               "changed": changed})


@group.command("reset-totp", help="A lost or replaced authenticator: a new TOTP secret (the "
               "old codes stop working at once), every open console session of theirs ends. "
               "Prints the new otpauth:// URI, shown this once. Audited.")
@click.argument("username")
@click.option("--reason", default=None, help="Why (kept in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help="Accepted; the output is always JSON.")
@with_appcontext
def reset_totp(username, reason, as_json):
    staff = _staff_or_fail(username)
    uri = staff_service.reset_totp(staff, actor=operator_actor(), reason=reason)
    db.session.commit()
    emit_json({"id": staff.id, "username": staff.username, "totp_uri": uri})


@group.command("totp", help="Print the current TOTP code of a staff account (development "
               "only, for the demo clerk: refused when GATEWAY_ENV=production).")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help='Print {"username", "code"}.')
@with_appcontext
def totp(username, as_json):
    if is_production(current_app.config):
        raise click.ClickException("staff totp is refused in production: a TOTP code belongs "
                                   "on the staff member's own device")
    staff = _staff_or_fail(username)
    code = staff_totp.current_code(staff)
    if as_json:
        emit_json({"username": staff.username, "code": code})
    else:
        click.echo(code)
