"""`flask --app wsgi accounts create ...`"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import account_or_fail, emit_json, fail
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.services.accounts import create_account


@click.group("accounts", help="Create and manage VssID accounts.")
def group():
    pass


@group.command("create", help="Create an account; prints its id and its opaque subject.")
@click.option("--bhxh", required=True, help="Social-insurance number (10 digits): the login.")
@click.option("--name", required=True, help="Full name.")
@click.option("--dob", required=True, help="Date of birth, YYYY-MM-DD.")
@click.option("--phone", required=True, help="Registered mobile number (receives OTPs).")
@click.option("--email", default=None)
@click.option("--cccd", default=None, help="12-digit personal identification number.")
@click.option("--sex", default=None, type=click.Choice(["male", "female"]))
@click.option("--password", required=True, help="Initial password (8 to 128 characters).")
@click.option("--level", default=1, type=click.IntRange(1, 2), help="Identity level.")
@click.option("--must-change-password", is_flag=True, help="Issued password: change at first "
              "sign-in.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def create(bhxh, name, dob, phone, email, cccd, sex, password, level, must_change_password,
           as_json):
    try:
        account = create_account(
            bhxh=bhxh, name=name, dob=dob, phone=phone, email=email, cccd=cccd, sex=sex,
            password=password, level=level, must_change_password=must_change_password, via="cli",
        )
        db.session.commit()
    except GatewayError as exc:
        fail(exc)
    emit_json({"id": account.id, "sub": account.sub})


@group.command("reset-password", help="Staff reset (lost password): send a one-time password "
               "by SMS; the person must change it at the next sign-in. Signs out everywhere.")
@click.option("--bhxh", required=True, help="Social-insurance number of the account.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def reset_password(bhxh, as_json):
    from gateway.services.passwords import issue_password
    from policies.identifiers import mask_phone

    account = account_or_fail(bhxh)
    issue_password(account, reason="staff_reset")
    emit_json({"id": account.id, "sms_sent_to": mask_phone(account.phone)})


@group.command("sign-out-all", help="Lost phone: revoke every session, device and refresh token "
               "of the account at once; the next device to sign in binds as a first device.")
@click.option("--bhxh", required=True, help="Social-insurance number of the account.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def sign_out_all(bhxh, as_json):
    from gateway.services.sign_out import sign_out_everywhere

    account = account_or_fail(bhxh)
    emit_json({"id": account.id, "revoked": sign_out_everywhere(account, by="staff")})
