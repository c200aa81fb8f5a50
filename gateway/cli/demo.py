"""`flask --app wsgi demo seed`: the demo clients and accounts `make run` shows a newcomer.

Idempotent: running it twice changes nothing. Refused in production.
"""

from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.extensions import db
from gateway.models import Account, Client
from gateway.oidc.keys import ensure_signing_key
from gateway.services.accounts import create_account
from gateway.services.clients import create_client
from gateway.views.demo import client_file

DEMO_ACCOUNTS = [
    {"bhxh": "0123456789", "name": "Nguyễn Văn An", "dob": "1985-04-12", "sex": "male",
     "phone": "0912345623", "email": "an.nguyen@example.vn", "cccd": "001085012345",
     "password": "Vssid@Demo2026", "level": 2},
    {"bhxh": "7912345678", "name": "Trần Thị Bình", "dob": "2001-09-30", "sex": "female",
     "phone": "0987654321", "cccd": "079301004567", "password": "Binh#Demo2026", "level": 1},
]


@click.group("demo", help="Demo data for a development machine.")
def group():
    pass


@group.command("seed", help="Create the demo clients and accounts (idempotent).")
@with_appcontext
def seed():
    if not current_app.config["DEMO_ENABLED"]:
        raise click.ClickException("demo data is refused in production")
    ensure_signing_key()
    issuer = current_app.config["ISSUER"]
    path = client_file()
    portal = Client.query.filter_by(client_id="demo-portal").first()
    if portal is None or not os.path.exists(path):
        if portal is not None:
            db.session.delete(portal)
            db.session.flush()
        _, secret = create_client(
            client_id="demo-portal", name="Cổng dịch vụ công (demo)", type="web",
            redirect_uris=[f"{issuer}/demo/callback"],
            post_logout_redirect_uris=[f"{issuer}/demo/"],
        )
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"client_id": "demo-portal", "client_secret": secret}, fh)
        os.chmod(path, 0o600)
    if Client.query.filter_by(client_id="demo-app").first() is None:
        create_client(client_id="demo-app", name="VssID app (demo)", type="app",
                      redirect_uris=["http://127.0.0.1:8000/demo/app-callback"])
    resource = current_app.config["DEFAULT_RESOURCE"]
    service = Client.query.filter_by(client_id="demo-service").first()
    if service is not None and resource not in (service.resources or []):
        # seeded before resource servers were registered: it verifies the demo's tokens
        service.resources = [*(service.resources or []), resource]
    if service is None:
        _, service_secret = create_client(client_id="demo-service", name="Bệnh viện (demo)",
                                          type="service", resources=[resource])
        with open(os.path.join(current_app.instance_path, "demo-service.json"), "w",
                  encoding="utf-8") as fh:
            json.dump({"client_id": "demo-service", "client_secret": service_secret}, fh)
    for spec in DEMO_ACCOUNTS:
        if Account.query.filter_by(bhxh=spec["bhxh"]).first() is None:
            create_account(**spec)
    db.session.commit()
    click.echo(f"Open {issuer}/demo/ and sign in with one of:")
    for spec in DEMO_ACCOUNTS:
        click.echo(f"  social-insurance number {spec['bhxh']}  password {spec['password']}")
    click.echo("Relying-service credentials: instance/demo-service.json")
