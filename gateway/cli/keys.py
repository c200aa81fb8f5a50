"""`flask --app wsgi keys rotate|list`"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.oidc.keys import ensure_signing_key, published_rows, rotate_key


@click.group("keys", help="Token signing keys.")
def group():
    pass


@group.command("rotate", help="Add a key and sign with it from now on; older keys stay in "
               "JWKS until every token they signed has expired.")
@click.option("--alg", type=click.Choice(["ES256", "RS256"]), default=None,
              help="Default: GATEWAY_SIGNING_ALG.")
@with_appcontext
def rotate(alg):
    row = rotate_key(alg or current_app.config["SIGNING_ALG"])
    emit_json({"kid": row.kid, "alg": row.alg})


@group.command("ensure", help="Create a signing key if there is none (idempotent).")
@with_appcontext
def ensure():
    row = ensure_signing_key()
    emit_json({"kid": row.kid, "alg": row.alg})


@group.command("list", help="Keys published in JWKS, newest first.")
@with_appcontext
def list_keys():
    emit_json({"keys": [
        {"kid": r.kid, "alg": r.alg, "signing": r.retired_at is None,
         "created_at": r.created_at.isoformat()} for r in published_rows()
    ]})
