"""`flask --app wsgi devices show|clear`: staff tools for the one-active-device rule."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import account_or_fail, emit_json
from gateway.services import devices


@click.group("devices", help="The one active app device per account.")
def group():
    pass


@group.command("show", help="Show the account's active device.")
@click.option("--bhxh", required=True, help="Social-insurance number of the account.")
@with_appcontext
def show(bhxh):
    account = account_or_fail(bhxh)
    active = devices.active_device(account.id)
    emit_json({"id": account.id, "active_device": None if active is None else {
        "name": active.device_name, "client_id": active.client_id,
        "bound_at": active.bound_at.isoformat(), "last_seen_at": active.last_seen_at.isoformat(),
    }})


@group.command("clear", help="Lost phone: clear the active device; its session and tokens are "
               "revoked at once, as by a takeover.")
@click.option("--bhxh", required=True, help="Social-insurance number of the account.")
@with_appcontext
def clear(bhxh):
    account = account_or_fail(bhxh)
    emit_json({"id": account.id, "cleared": devices.clear(account, by="staff")})
