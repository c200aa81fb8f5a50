"""`flask --app wsgi keys rotate|list`"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.oidc.keys import current_key_row, ensure_signing_key, published_rows, rotate_key


@click.group("keys", help="Token signing keys.")
def group():
    pass


@group.command("rotate", help="Add a key: published in JWKS at once, it signs after "
               "GATEWAY_KEY_PUBLISH_LEAD seconds (so relying services' cached key sets know it "
               "first); older keys stay in JWKS until every token they signed has expired.")
@click.option("--alg", type=click.Choice(["ES256", "RS256"]), default=None,
              help="Default: GATEWAY_SIGNING_ALG.")
@click.option("--now", "at_once", is_flag=True,
              help="Sign with the new key at once (a suspected compromise of the old one): "
                   "verifiers with a cached key set refetch it on the new kid.")
@with_appcontext
def rotate(alg, at_once):
    row = rotate_key(alg or current_app.config["SIGNING_ALG"], now=at_once)
    emit_json({"kid": row.kid, "alg": row.alg, "active_from": row.active_from.isoformat()})


@group.command("ensure", help="Create a signing key if there is none (idempotent).")
@with_appcontext
def ensure():
    row = ensure_signing_key()
    emit_json({"kid": row.kid, "alg": row.alg})


@group.command("list", help="Keys published in JWKS, newest first: which signs now, which "
               "is waiting to sign (active_from ahead) and which are retired.")
@with_appcontext
def list_keys():
    signing = current_key_row()
    emit_json({"keys": [
        {"kid": r.kid, "alg": r.alg, "signing": signing is not None and r.kid == signing.kid,
         "created_at": r.created_at.isoformat(), "active_from": r.active_from.isoformat(),
         "retired_at": r.retired_at.isoformat() if r.retired_at else None}
        for r in published_rows()
    ]})
