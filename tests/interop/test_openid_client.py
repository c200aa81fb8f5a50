"""panva's certified openid-client (Node) as the relying party, against a live gateway.

tests/interop/rp.mjs does the whole journey with the library's own checks and prints what
it saw; this test asserts on it. `make test-deps` installs the Node project (npm ci).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run `make test-deps`")
    if not (HERE / "node_modules" / "openid-client").is_dir():
        pytest.fail("tests/interop/node_modules is missing: run `make test-deps`")
    return node


def run_rp(live) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ISSUER": live.base,
        "CLIENT_ID": live.client_id,
        "CLIENT_SECRET": live.client_secret,
        "REDIRECT_URI": live.redirect_uri,
        "POST_LOGOUT_REDIRECT_URI": live.post_logout_redirect_uri,
        "USERNAME": live.username,
        "PASSWORD": live.password,
    }
    done = subprocess.run([_node(), str(HERE / "rp.mjs")], env=env, cwd=HERE,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"rp.mjs failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout)


def test_openid_client_full_journey(live):
    out = run_rp(live)

    assert out["discovery"] == {"issuer": live.base,
                                "authorization_response_iss_parameter_supported": True}
    assert out["authorization_response"] == {"has_code": True, "state_matches": True,
                                             "iss": live.base}

    id_token = out["id_token"]
    assert id_token["sub"] == live.sub
    assert id_token["aud"] == live.client_id
    assert id_token["iss"] == live.base
    assert id_token["nonce_matches"] is True
    assert id_token["sid"] and id_token["amr"] == ["pwd"]
    assert out["token"]["token_type"].lower() == "bearer"
    assert 0 < out["token"]["expires_in"] <= 300

    assert out["userinfo"]["sub"] == live.sub
    assert out["userinfo"]["name"] == live.name

    assert out["refresh"]["rotated"] is True
    assert out["refresh"]["new_access_token"] is True

    before = out["introspection_before"]
    assert before["active"] is True
    assert before["sub"] == live.sub and before["client_id"] == live.client_id

    # RFC 7009 §2.1: revoking the refresh token ends its grant, access tokens included.
    assert out["introspection_after"] == {"refresh_token_active": False,
                                          "access_token_active": False}

    assert out["logout"] == {"had_session_cookie": True,
                             "redirect": live.post_logout_redirect_uri,
                             "state_matches": True, "session_cookie_cleared": True}
    assert out["after_logout"] == {"error": "login_required"}
