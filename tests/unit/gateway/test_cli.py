"""The operator CLI contracts: JSON output, one-line errors naming the field, exit status 2."""

import json

import pytest

from gateway.crypto import password_hashing
from gateway.crypto.password_hashing import argon2_parameters
from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from gateway.models import Account, Client


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_clients_create_web_prints_id_and_secret_and_stores_hash(app):
    result = run(app, "clients", "create", "--name", "Cổng DVC", "--type", "web",
                 "--redirect-uri", "https://dvc.example.vn/cb", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    client = Client.query.filter_by(client_id=out["client_id"]).one()
    assert client.secret_hash == hash_secret(out["client_secret"])
    assert out["client_secret"] not in json.dumps(client.redirect_uris)


def test_clients_create_app_has_no_secret(app):
    result = run(app, "clients", "create", "--name", "VssID", "--type", "app",
                 "--redirect-uri", "http://127.0.0.1:7000/cb", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)) == {"client_id"}


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "https://*.example.vn/cb",
                                 "https://dvc.example.vn/cb#frag", "http://dvc.example.vn/cb"])
def test_clients_create_refuses_bad_redirect_uris(app, uri):
    result = run(app, "clients", "create", "--name", "x", "--type", "web",
                 "--redirect-uri", uri, "--json")
    assert result.exit_code == 2
    assert "redirect-uri" in result.output and len(result.output.strip().splitlines()) == 1
    assert Client.query.count() == 0


def test_accounts_create_prints_id_and_opaque_sub(app):
    result = run(app, "accounts", "create", "--bhxh", "0123456789", "--name", "Lê Thị Hoa",
                 "--dob", "1990-01-02", "--phone", "0912345678", "--cccd", "001190012345",
                 "--sex", "female", "--password", "mot-mat-khau-dai", "--level", "2",
                 "--must-change-password", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    account = db.session.get(Account, out["id"])
    assert out["sub"] == account.sub and "0123456789" not in account.sub
    assert account.must_change_password and account.level == 2
    assert argon2_parameters(account.password_hash) == password_hashing.ARGON2_PARAMS


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [("--bhxh", "12345", "bhxh"), ("--phone", "12345", "phone"), ("--dob", "1990-13-40", "dob"),
     ("--cccd", "999190012345", "cccd"), ("--password", "short", "password")],
)
def test_accounts_create_bad_input_exit_2_naming_field(app, flag, value, field):
    args = {"--bhxh": "0123456789", "--name": "A", "--dob": "1990-01-02",
            "--phone": "0912345678", "--password": "mot-mat-khau-dai"}
    args[flag] = value
    flat = [x for kv in args.items() for x in kv]
    result = run(app, "accounts", "create", *flat, "--json")
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert Account.query.count() == 0


@pytest.mark.parametrize(("length", "exit_code"), [(128, 0), (129, 2)])
def test_accounts_create_password_bound_is_the_rules_one(app, length, exit_code):
    # policies.password_rules allows 8 to 128: an account may not start with a password the
    # person could never choose themselves.
    password = ("mot-mat-khau-dai-" * 10)[:length]
    result = run(app, "accounts", "create", "--bhxh", "0123456789", "--name", "A",
                 "--dob", "1990-01-02", "--phone", "0912345678", "--password", password,
                 "--json")
    assert result.exit_code == exit_code, result.output
    assert Account.query.count() == (1 if exit_code == 0 else 0)
    if exit_code:
        assert "password" in result.output and "invalid_password" in result.output


def test_accounts_create_duplicate_refused(app):
    base = ["accounts", "create", "--bhxh", "0123456789", "--name", "A", "--dob", "1990-01-02",
            "--phone", "0912345678", "--password", "mot-mat-khau-dai", "--json"]
    assert run(app, *base).exit_code == 0
    again = run(app, *base)
    assert again.exit_code == 2 and "bhxh" in again.output
    assert Account.query.count() == 1


def test_keys_rotate_adds_a_signing_key(app):
    first = json.loads(run(app, "keys", "ensure").output)
    rotated = json.loads(run(app, "keys", "rotate", "--alg", "RS256").output)
    assert rotated["kid"] != first["kid"] and rotated["alg"] == "RS256"
    listed = json.loads(run(app, "keys", "list").output)["keys"]
    assert [k["signing"] for k in listed] == [False, True]  # published, not signing yet
    assert listed[1]["retired_at"] == listed[0]["active_from"] == rotated["active_from"]
    at_once = json.loads(run(app, "keys", "rotate", "--now").output)
    listed = json.loads(run(app, "keys", "list").output)["keys"]
    assert [(k["kid"], k["signing"]) for k in listed] == [
        (at_once["kid"], True), (rotated["kid"], False), (first["kid"], False)]


def test_clients_create_service_registered_as_resource_server(app):
    issuer = app.config["ISSUER"]
    result = run(app, "clients", "create", "--name", "Bệnh viện", "--type", "service",
                 "--resource", "https://api.benhvien.example.vn", "--resource", issuer,
                 "--resource", issuer, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["resources"] == ["https://api.benhvien.example.vn", issuer]
    client = Client.query.filter_by(client_id=out["client_id"]).one()
    assert client.resources == ["https://api.benhvien.example.vn", issuer]
    assert client.secret_hash == hash_secret(out["client_secret"])


def test_clients_create_without_resource_stores_none(app):
    result = run(app, "clients", "create", "--name", "Bệnh viện", "--type", "service", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "resources" not in out
    assert Client.query.filter_by(client_id=out["client_id"]).one().resources == []


@pytest.mark.parametrize("type_", ["web", "app"])
def test_clients_create_resource_is_for_services_only(app, type_):
    result = run(app, "clients", "create", "--name", "x", "--type", type_,
                 "--redirect-uri", "https://dvc.example.vn/cb",
                 "--resource", app.config["ISSUER"], "--json")
    assert result.exit_code == 2
    assert "resource" in result.output and len(result.output.strip().splitlines()) == 1
    assert Client.query.count() == 0


@pytest.mark.parametrize("uri", ["api", "ftp://api.example.vn", "http://api.example.vn",
                                 "https://api.example.vn/#f", "https://*.example.vn",
                                 "https://user@api.example.vn", ""])
def test_clients_create_refuses_bad_resource_uris(app, uri):
    result = run(app, "clients", "create", "--name", "x", "--type", "service",
                 "--resource", uri, "--json")
    assert result.exit_code == 2
    assert "resource" in result.output and len(result.output.strip().splitlines()) == 1
    assert Client.query.count() == 0


def test_clients_set_resources_replaces_the_list(app):
    created = json.loads(run(app, "clients", "create", "--name", "Bệnh viện", "--type",
                             "service", "--json").output)
    issuer = app.config["ISSUER"]
    result = run(app, "clients", "set-resources", "--client-id", created["client_id"],
                 "--resource", issuer, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"client_id": created["client_id"],
                                         "resources": [issuer]}
    db.session.expire_all()
    assert Client.query.filter_by(client_id=created["client_id"]).one().resources == [issuer]
    cleared = run(app, "clients", "set-resources", "--client-id", created["client_id"])
    assert json.loads(cleared.output)["resources"] == []
    db.session.expire_all()
    assert Client.query.filter_by(client_id=created["client_id"]).one().resources == []


def test_clients_set_resources_refusals(app):
    web = json.loads(run(app, "clients", "create", "--name", "x", "--type", "web",
                         "--redirect-uri", "https://dvc.example.vn/cb", "--json").output)
    service = json.loads(run(app, "clients", "create", "--name", "y", "--type", "service",
                             "--json").output)
    for args, field in (
        (["--client-id", "nobody", "--resource", app.config["ISSUER"]], "client-id"),
        (["--client-id", web["client_id"], "--resource", app.config["ISSUER"]], "resource"),
        (["--client-id", service["client_id"], "--resource", "http://api.example.vn"],
         "resource"),
    ):
        result = run(app, "clients", "set-resources", *args)
        assert result.exit_code == 2, result.output
        assert field in result.output and len(result.output.strip().splitlines()) == 1
    db.session.expire_all()
    assert Client.query.filter_by(client_id=service["client_id"]).one().resources == []


def test_demo_seed_registers_demo_service_for_the_default_resource(make_app, tmp_path):
    """`make run`'s relying-service example: demo-service introspects the demo portal's
    tokens, on a fresh instance and on one seeded before resource servers existed."""
    from tests.helpers.oidc import introspect, running, tokens

    app = make_app(DEMO_ENABLED=True, DEMO_CLIENT_FILE=str(tmp_path / "demo-client.json"))
    app.instance_path = str(tmp_path)
    with running(app):
        result = run(app, "demo", "seed")
        assert result.exit_code == 0, result.output
        service = json.loads((tmp_path / "demo-service.json").read_text())
        assert Client.query.filter_by(client_id="demo-service").one().resources == [
            app.config["DEFAULT_RESOURCE"]]
        # ... and, as the demo hospital, verifies the demo's health cards.
        assert Client.query.filter_by(client_id="demo-service").one().scopes == ["health_card"]
        portal = json.loads((tmp_path / "demo-client.json").read_text())
        browser = app.test_client()
        issued = tokens(browser, "demo-portal", portal["client_secret"],
                        redirect_uri=app.config["ISSUER"] + "/demo/callback",
                        password="Vssid@Demo2026")
        info = introspect(browser, service["client_id"], service["client_secret"],
                          issued["access_token"]).json
        assert info["active"] is True and info["client_id"] == "demo-portal"

        # An instance seeded before: demo-service without resources gains the default one,
        # and the health-card scope.
        seeded_before = Client.query.filter_by(client_id="demo-service").one()
        seeded_before.resources, seeded_before.scopes = [], []
        db.session.commit()
        assert run(app, "demo", "seed").exit_code == 0
        db.session.expire_all()
        again = Client.query.filter_by(client_id="demo-service").one()
        assert again.resources == [app.config["DEFAULT_RESOURCE"]]
        assert again.scopes == ["health_card"]
        assert json.loads((tmp_path / "demo-service.json").read_text()) == service


def test_demo_seed_writes_private_files_into_a_new_instance_folder(app, tmp_path, monkeypatch):
    """With GATEWAY_DATABASE_URL set nothing creates instance/ (the SQLite default did): the
    seed creates it. Both credential files are 0600 from creation — no chmod afterwards (it
    is made to fail here) — also when an older, world-readable file is replaced."""
    import os
    import stat

    instance = tmp_path / "missing" / "instance"
    app.instance_path = str(instance)
    app.config["DEMO_CLIENT_FILE"] = ""
    monkeypatch.setattr(os, "chmod", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("chmod after creation")))
    old_umask = os.umask(0o022)
    try:
        result = run(app, "demo", "seed")
        assert result.exit_code == 0, (result.output, result.exception)
        for name in ("demo-client.json", "demo-service.json"):
            path = instance / name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
            data = json.loads(path.read_text(encoding="utf-8"))
            assert Client.query.filter_by(client_id=data["client_id"]).one().secret_hash == \
                hash_secret(data["client_secret"])
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
        # Seeding again changes nothing ...
        before = {n: (instance / n).read_text() for n in ("demo-client.json",
                                                          "demo-service.json")}
        assert run(app, "demo", "seed").exit_code == 0
        assert {n: (instance / n).read_text() for n in before} == before
        # ... but a credential file left readable by others (an older version wrote
        # demo-service.json 0644) gets a new secret in a private file.
        (instance / "demo-service.json").unlink()
        fd = os.open(instance / "demo-service.json", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, before["demo-service.json"].encode())
        os.close(fd)
        assert run(app, "demo", "seed").exit_code == 0
        path = instance / "demo-service.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        fresh = json.loads(path.read_text(encoding="utf-8"))
        old = json.loads(before["demo-service.json"])
        assert fresh["client_secret"] != old["client_secret"]
        db.session.expire_all()
        assert Client.query.filter_by(client_id="demo-service").one().secret_hash == \
            hash_secret(fresh["client_secret"])
        assert sorted(p.name for p in instance.iterdir()) == ["demo-client.json",
                                                             "demo-service.json"]
    finally:
        os.umask(old_umask)
