"""`flask --app wsgi demo seed`: the demo clients and accounts `make run` shows a newcomer.

Idempotent: running it twice changes nothing. Refused in production. The credential files it
writes are the owner's alone from the moment they exist (created 0600 under a temporary name,
then renamed over the old file), in a folder it creates if needed (with a PostgreSQL
GATEWAY_DATABASE_URL nothing else creates instance/).
"""

from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import Account, Client, Office
from gateway.oidc.health_card import VERIFIER_SCOPE
from gateway.oidc.keys import ensure_signing_key
from gateway.services import staff as staff_service
from gateway.services.accounts import create_account
from gateway.services.audit import Actor
from gateway.services.clients import create_client
from gateway.services.offices import load_file, shipped_file
from gateway.views.demo import client_file

DEMO_ACCOUNTS = [
    {"bhxh": "0123456789", "name": "Nguyễn Văn An", "dob": "1985-04-12", "sex": "male",
     "phone": "0912345623", "email": "an.nguyen@example.vn", "cccd": "001085012345",
     "password": "Vssid@Demo2026", "level": 2},
    {"bhxh": "7912345678", "name": "Trần Thị Bình", "dob": "2001-09-30", "sex": "female",
     "phone": "0987654321", "cccd": "079301004567", "password": "Binh#Demo2026", "level": 1},
    # The VNeID sandbox's Lê Văn Cường has this CCCD with another birth date: staff review.
    {"bhxh": "0312345678", "name": "Lê Văn Cường", "dob": "1990-06-15", "sex": "male",
     "phone": "0903456789", "cccd": "031090001234", "password": "Cuong@Demo2026", "level": 2},
]

# The counter of the demo clerk: demo data only, never in the shipped list.
DEMO_OFFICE = {"code": "DEMO-001", "name": "Điểm tiếp nhận thử nghiệm (demo), quận Ba Đình",
               "province": "001"}

# The demo console users: a clerk at the demo counter, and a supervisor (every office, the
# audit trail). Their TOTP codes come from `flask --app wsgi staff totp USERNAME`.
DEMO_STAFF = [
    {"username": "demo.clerk", "role": "office_staff", "office": DEMO_OFFICE["code"],
     "password": "Quay-Tiep-Nhan#2026"},
    {"username": "demo.supervisor", "role": "supervisor", "office": None,
     "password": "Giam-Sat-Vien#2026"},
]


@click.group("demo", help="Demo data for a development machine.")
def group():
    pass


def write_private(path: str, data: dict) -> None:
    """JSON in ``path``, readable by the owner only from creation on (never chmod after)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _private(path: str) -> bool:
    try:
        return os.stat(path).st_mode & 0o077 == 0
    except FileNotFoundError:
        return False


def _confidential_client(path: str, *, client_id: str, **spec) -> None:
    """The client and its credential file, made again (new secret) when the file is missing
    or was readable by others: a secret that may have been read is not kept."""
    client = Client.query.filter_by(client_id=client_id).first()
    if client is not None and _private(path):
        return
    if client is not None:
        db.session.delete(client)
        db.session.flush()
    _, secret = create_client(client_id=client_id, **spec)
    write_private(path, {"client_id": client_id, "client_secret": secret})


def _offices() -> None:
    """The shipped office list when there is none yet, and the demo office (active)."""
    if db.session.query(Office).count() == 0:
        load_file(shipped_file(), via="demo")
    office = db.session.get(Office, DEMO_OFFICE["code"])
    if office is None:
        db.session.add(Office(**DEMO_OFFICE, active=True, updated_at=utcnow()))
    elif not office.active:
        office.active, office.updated_at = True, utcnow()


@group.command("seed", help="Create the demo clients and accounts (idempotent).")
@with_appcontext
def seed():
    if not current_app.config["DEMO_ENABLED"]:
        raise click.ClickException("demo data is refused in production")
    ensure_signing_key()
    _offices()
    issuer = current_app.config["ISSUER"]
    _confidential_client(client_file(), client_id="demo-portal",
                         name="Cổng dịch vụ công (demo)", type="web",
                         redirect_uris=[f"{issuer}/demo/callback"],
                         post_logout_redirect_uris=[f"{issuer}/demo/"])
    if Client.query.filter_by(client_id="demo-app").first() is None:
        create_client(client_id="demo-app", name="VssID app (demo)", type="app",
                      redirect_uris=[f"{issuer}/demo/app-callback"])
    resource = current_app.config["DEFAULT_RESOURCE"]
    service_file = os.path.join(current_app.instance_path, "demo-service.json")
    _confidential_client(service_file, client_id="demo-service", name="Bệnh viện (demo)",
                         type="service", resources=[resource], scopes=[VERIFIER_SCOPE])
    service = Client.query.filter_by(client_id="demo-service").first()
    if resource not in (service.resources or []):
        # seeded before resource servers were registered: it verifies the demo's tokens
        service.resources = [*(service.resources or []), resource]
    if VERIFIER_SCOPE not in (service.scopes or []):
        # seeded before the health-card QR: the demo hospital verifies the demo cards
        service.scopes = [*(service.scopes or []), VERIFIER_SCOPE]
    for spec in DEMO_ACCOUNTS:
        if Account.query.filter_by(bhxh=spec["bhxh"]).first() is None:
            create_account(**spec, via="demo")
    db.session.flush()  # the demo office exists before a clerk is bound to it
    for spec in DEMO_STAFF:
        if staff_service.find_by_username(spec["username"]) is None:
            staff_service.create_staff(**spec, actor=Actor("demo"))
    db.session.commit()
    click.echo(f"Open {issuer}/demo/ and sign in with one of:")
    for spec in DEMO_ACCOUNTS:
        click.echo(f"  social-insurance number {spec['bhxh']}  password {spec['password']}")
    click.echo("Relying-service credentials: instance/demo-service.json")
    click.echo(f"Or press 'Đăng nhập bằng VNeID' and choose a citizen of the offline sandbox "
               f"({current_app.config['VNEID_ISSUER']}): linked, asked for proof, sent to review,"
               " given an account, or told to declare")
    click.echo(f"Staff console: open {issuer}/staff/ and sign in with one of:")
    for spec in DEMO_STAFF:
        click.echo(f"  username {spec['username']}  password {spec['password']}  "
                   f"({spec['role']}{', office ' + spec['office'] if spec['office'] else ''})")
    click.echo("  the 6-digit code: flask --app wsgi staff totp USERNAME")
