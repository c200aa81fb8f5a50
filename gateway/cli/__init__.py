"""Operator commands (`flask --app wsgi --help`). Their JSON output is a contract: other
tooling parses it. Bad input: one line naming the field on stderr, exit status 2, nothing
written."""

from __future__ import annotations

import getpass
import json
import re
import sys

import click

from gateway.errors import GatewayError, ValidationError
from gateway.extensions import db
from gateway.services.accounts import find_by_login
from gateway.services.audit import Actor


def fail(exc: GatewayError) -> None:
    field = exc.field or "input"
    click.echo(f"error: {field}: {exc.code}" + (f" ({exc.detail})" if exc.detail else ""),
               err=True)
    db.session.rollback()
    sys.exit(2)


def account_or_fail(bhxh: str):
    """The account whose login name is ``bhxh``, or the one-line error and exit status 2."""
    account = find_by_login(bhxh)
    if account is None:
        fail(ValidationError("unknown_account", field="bhxh", detail="no such account"))
    return account


def operator_actor() -> Actor:
    """Who runs an operator command, for the audit trail: ``cli:<operating-system user>``
    (``cli:unknown`` when the system cannot say; odd characters replaced)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor("cli:" + (re.sub(r"[^A-Za-z0-9._-]", "_", user)[:64] or "unknown"))


def emit_json(data: dict) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def register_cli(app) -> None:
    from gateway.cli import (
        accounts,
        audit,
        clients,
        demo,
        devices,
        email,
        keys,
        links,
        migrate,
        offices,
        outbox,
        passwords,
        staff,
        sweeps,
        worker,
    )

    app.cli.add_command(clients.group)
    app.cli.add_command(accounts.group)
    app.cli.add_command(keys.group)
    app.cli.add_command(demo.group)
    app.cli.add_command(outbox.group)
    app.cli.add_command(email.group)
    app.cli.add_command(passwords.group)
    app.cli.add_command(devices.group)
    app.cli.add_command(offices.group)
    app.cli.add_command(staff.group)
    app.cli.add_command(audit.group)
    app.cli.add_command(links.group)
    app.cli.add_command(worker.command)
    app.cli.add_command(sweeps.command)
    app.cli.add_command(migrate.group)
