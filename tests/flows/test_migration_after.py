"""After the migration: an imported account signs in on the login page with its legacy
password (re-hashed at once), meets the forced change when MIGRATION_FORCE_PASSWORD_CHANGE
says so, and links to VNeID on its first VNeID sign-in by the same rules as the batch."""

from __future__ import annotations

import csv
import re
from datetime import date
from urllib.parse import urlencode

import pytest

from bench.legacy_export import password_of
from gateway.crypto.password_hashing import argon2_parameters
from gateway.extensions import db
from gateway.models import Account, VneidLink
from gateway.services.links import settle
from policies.linking import VneidIdentity
from tests.helpers import authorize_params, csrf_of, login, new_client
from tests.helpers.migration import export, run

NEW = "Một mật khẩu mới rất dài 7"


def _first_active(path):
    for index, row in enumerate(csv.DictReader(path.open(encoding="utf-8"))):
        if row["status"] == "active" and len(row["id_number"]) == 12:
            return index, row
    raise AssertionError("no active row")


@pytest.mark.parametrize("forced", [True, False])
def test_an_imported_account_signs_in_with_its_old_password(make_app, tmp_path, forced):
    app = make_app(MIGRATION_FORCE_PASSWORD_CHANGE=forced)
    with app.app_context():
        path, _ = export(tmp_path, 30, seed=41, dirty=0)
        assert run(app, "import-legacy", path, "--json")[0] == 0
        index, row = _first_active(path)
        client_id, _ = new_client()
        db.session.remove()
        client = app.test_client()
        start = client.get("/authorize?" + urlencode(authorize_params(client_id, "v" * 43)))
        response = login(client, start.location, username=row["bhxh_number"],
                         password=password_of(41, index))
        account = Account.query.filter_by(bhxh=row["bhxh_number"]).one()
        argon2_parameters(account.password_hash)  # re-hashed at this first sign-in
        if not forced:
            assert response.status_code == 302 and "login_flow=" in response.location
            return
        assert response.status_code == 302 and response.location.startswith("/login/password")
        page = client.get(response.location).get_data(as_text=True)
        flow = re.search(r'name="flow" value="([^"]+)"', page).group(1)
        done = client.post("/login/password", data={
            "csrf_token": csrf_of(page), "flow": flow, "current_password": password_of(41, index),
            "new_password": NEW, "confirm_password": NEW})
        assert done.status_code == 302 and "login_flow=" in done.location
        db.session.refresh(account)
        assert not account.must_change_password


def test_the_first_vneid_sign_in_links_by_the_same_rules(app, tmp_path):
    path, _ = export(tmp_path, 30, seed=42, dirty=0)
    run(app, "import-legacy", path, "--json")
    _, row = _first_active(path)
    verification = tmp_path / "verification.csv"
    verification.write_text(
        "id_number,full_name,date_of_birth,verified,verified_at\n"
        f"{row['id_number']},{row['full_name']},{row['date_of_birth']},true,"
        "2024-05-01T00:00:00Z\n", encoding="utf-8")
    assert run(app, "import-verification", verification, "--json")[1]["updated"] == 1
    identity = VneidIdentity("vneid-first-sign-in", row["id_number"], row["full_name"],
                             date.fromisoformat(row["date_of_birth"]), row["sex"], None, 2, "1")
    settlement = settle(identity, register_knows=False)
    assert (settlement.decision.kind, settlement.decision.reason) == ("link",
                                                                      "auto_verified_match")
    assert settlement.account.bhxh == row["bhxh_number"] and settlement.account.level == 2
    assert VneidLink.query.filter_by(subject="vneid-first-sign-in").one().how == "auto"
