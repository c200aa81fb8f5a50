"""The sandbox OP on its own: discovery, its page, what its token endpoint refuses, userinfo.
Driven through its WSGI app (its own Flask app, as the gateway mounts it)."""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from gateway.clock import Clock
from providers.vneid_sandbox import (
    SandboxClient,
    SandboxProvider,
    load_citizens,
    sandbox_app,
)
from providers.vneid_sandbox.provider import ASSERTION_TYPE, s256
from tests.helpers.vneid import AN, BINH, ORGANISATION

ISSUER = "http://127.0.0.1:8000/sandbox/vneid"
CALLBACK = "http://127.0.0.1:8000/vneid/callback"
SECRET = "s" * 40
CLIENT_KEY = ECKey.generate_key("P-256", private=True)


@pytest.fixture
def op():
    provider = SandboxProvider(ISSUER, [
        SandboxClient("gw", (CALLBACK,), secret=SECRET),
        SandboxClient("jwt-client", (CALLBACK,), public_jwk=CLIENT_KEY.as_dict(private=False)),
    ], clock=Clock(), citizens=load_citizens())
    return provider, sandbox_app(provider).test_client()


def _basic(client_id="gw", secret=SECRET):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _authorize(ua, client_id="gw", **extra):
    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
              "scope": "openid", "state": "st", "nonce": "no", "code_challenge": s256(verifier),
              "code_challenge_method": "S256", **extra}
    return ua.get("/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})
                  ), verifier


def _code(ua, tech_id=AN, client_id="gw"):
    page, verifier = _authorize(ua, client_id)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = ua.post("/authorize/choose", data={"ticket": ticket, "citizen": tech_id})
    assert answer.status_code == 303
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.location).query).items()}
    assert query["iss"] == ISSUER and query["state"] == "st"
    return query["code"], verifier


def _token(ua, code, verifier, headers=None, **extra):
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": CALLBACK, **extra}
    return ua.post("/token", data={k: v for k, v in form.items() if v is not None},
                   headers=_basic() if headers is None else headers)


def test_discovery_and_keys(op):
    provider, ua = op
    meta = ua.get("/.well-known/openid-configuration").get_json()
    assert meta["issuer"] == ISSUER and meta["token_endpoint"] == ISSUER + "/token"
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    keys = ua.get("/jwks").get_json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]
    assert all("d" not in k for k in keys)


def test_the_page_lists_every_citizen_with_a_restrictive_policy(op):
    _, ua = op
    page, _ = _authorize(ua)
    html = page.get_data(as_text=True)
    for citizen in load_citizens():
        assert f'data-tech-id="{citizen.tech_id}"' in html and citizen.full_name in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store"


def test_the_whole_exchange(op):
    _, ua = op
    code, verifier = _code(ua, BINH)
    answer = _token(ua, code, verifier)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    keys = KeySet.import_key_set(ua.get("/jwks").get_json())
    claims = jwt.decode(body["id_token"], keys, algorithms=["ES256"]).claims
    assert claims["iss"] == ISSUER and claims["aud"] == "gw" and claims["nonce"] == "no"
    assert claims["acr"] == "1" and claims["loAs"] == "LoA2" and claims["TechID"] == BINH
    assert "SoDienThoai" not in claims  # only in userinfo
    info = ua.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.get_json()["sub"] == claims["sub"]
    assert info.get_json()["NgayThangNamSinh"] == "30/09/2001"
    assert info.get_json()["GioiTinh"] == "Nữ"


def test_a_second_use_of_a_code_revokes_what_the_first_gave(op):
    _, ua = op
    code, verifier = _code(ua)
    token = _token(ua, code, verifier).get_json()["access_token"]
    again = _token(ua, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    info = ua.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 401


@pytest.mark.parametrize(("change", "error"), [
    ({"code_verifier": "x" * 43}, "invalid_grant"),
    ({"code_verifier": None}, "invalid_grant"),
    ({"redirect_uri": "http://127.0.0.1:8000/elsewhere"}, "invalid_grant"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_the_token_endpoint_refuses(op, change, error):
    _, ua = op
    code, verifier = _code(ua)
    answer = _token(ua, code, verifier, **change)
    assert answer.status_code == 400 and answer.get_json()["error"] == error


@pytest.mark.parametrize("headers", [{}, _basic(secret="wrong"), _basic("nobody"),
                                     {"Authorization": "Basic !!!"}])
def test_clients_must_authenticate(op, headers):
    _, ua = op
    code, verifier = _code(ua)
    answer = _token(ua, code, verifier, headers=headers)
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"


def test_client_secret_post(op):
    _, ua = op
    code, verifier = _code(ua)
    assert _token(ua, code, verifier, headers={}, client_id="gw",
                  client_secret=SECRET).status_code == 200


def _assertion(key=CLIENT_KEY, **changes):
    now = Clock().timestamp()
    claims = {"iss": "jwt-client", "sub": "jwt-client", "aud": ISSUER + "/token",
              "exp": now + 60, "iat": now, "jti": secrets.token_urlsafe(8), **changes}
    return jwt.encode({"alg": "ES256"}, claims, key, algorithms=["ES256"])


def test_private_key_jwt_and_its_refusals(op):
    _, ua = op
    code, verifier = _code(ua, client_id="jwt-client")
    assertion = _assertion()
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    assert _token(ua, code, verifier, headers={}, **form).status_code == 200
    for bad in (assertion,  # replayed
                _assertion(key=ECKey.generate_key("P-256", private=True)),
                _assertion(aud="https://elsewhere"), _assertion(exp=Clock().timestamp() - 1),
                _assertion(iss="gw", sub="gw"), "not-a-jwt"):
        code, verifier = _code(ua, client_id="jwt-client")
        answer = _token(ua, code, verifier, headers={}, client_assertion_type=ASSERTION_TYPE,
                        client_assertion=bad)
        assert answer.status_code == 401, bad


@pytest.mark.parametrize(("change", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
])
def test_refusals_go_back_to_a_verified_redirect_uri_with_iss(op, change, error):
    _, ua = op
    answer, _ = _authorize(ua, **change)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.location).query)
    assert query["error"] == [error] and query["iss"] == [ISSUER] and query["state"] == ["st"]


@pytest.mark.parametrize("change", [{"client_id": "nobody"},
                                    {"redirect_uri": "https://evil.example/cb"}])
def test_an_unverified_client_or_redirect_gets_a_page(op, change):
    _, ua = op
    answer, _ = _authorize(ua, **change)
    assert answer.status_code == 400 and "location" not in answer.headers


def test_a_ticket_is_used_once_and_only_in_its_browser(op):
    provider, ua = op
    page, _ = _authorize(ua)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    stranger = sandbox_app(provider).test_client()
    assert stranger.post("/authorize/choose", data={"ticket": ticket, "citizen": AN}
                         ).status_code == 400
    # The stranger's try consumed it: the ticket is one-time, whoever presents it.
    assert ua.post("/authorize/choose", data={"ticket": ticket, "citizen": AN}
                   ).status_code == 400


def test_cancel_answers_access_denied(op):
    _, ua = op
    page, _ = _authorize(ua)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = ua.post("/authorize/cancel", data={"ticket": ticket})
    query = parse_qs(urlsplit(answer.location).query)
    assert query["error"] == ["access_denied"] and query["iss"] == [ISSUER]


def test_an_organisation_says_so(op):
    _, ua = op
    code, verifier = _code(ua, ORGANISATION)
    token = _token(ua, code, verifier).get_json()["access_token"]
    info = ua.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert info["LoaiTaiKhoan"] == "2"


def test_userinfo_needs_a_live_token(op):
    _, ua = op
    assert ua.get("/userinfo").status_code == 401
    assert ua.get("/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_malformed_citizens_file_is_refused(tmp_path):
    from providers.vneid_sandbox.citizens import COLUMNS

    good = ",".join(COLUMNS) + "\nx,001085012345,A,01/01/1985,Nam,0912345678,2,1,n,n\n"
    (tmp_path / "ok.csv").write_text(good, encoding="utf-8")
    assert load_citizens(tmp_path / "ok.csv")[0].level == 2
    for name, text in [("header.csv", "a,b\n"),
                       ("level.csv", good.replace(",2,1,", ",3,1,")),
                       ("twice.csv", good + good.splitlines()[1] + "\n")]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(ValueError):
            load_citizens(tmp_path / name)
