"""Malformed and oversized input gets a 4xx, never a 500: property-based fuzzing of every endpoint
a stranger can reach, with random text (NUL, controls, quotes, non-ASCII, huge values), repeated
parameters and bytes that are not UTF-8; and bodies beyond MAX_CONTENT_LENGTH get 413."""

from __future__ import annotations

import base64
import io
import json
import os
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import REDIRECT, basic, new_account, new_client, s256

EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

NASTY = ["", "\x00", "\r\n", '"', "\\", "'", "<script>", "%", "%00", "%ff", "é", "😀", "\ud800",
         " ", "..", "/", "#", "?", "&", "=", "+", "null", "[]", "{}", "a" * 5000, "0", "-1",
         "9" * 40, "code", "S256", "plain", "none", "login", "openid", "https://evil.example/"]

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["alg", "kid", "typ", "iss", "sub", "aud", "exp", "iat", "nbf",
                                 "jti", "sid", "crit", "jwk", "b64"]), inner, max_size=5)),
    max_leaves=8)
JWTISH = st.builds(
    lambda h, p, sig: ".".join([_b64(json.dumps(h).encode()), _b64(json.dumps(p).encode()), sig]),
    st.one_of(JSONISH, st.fixed_dictionaries({"alg": st.sampled_from(
        ["none", "ES256", "RS256", "HS256", "EdDSA", "", "x"])}, optional={"kid": st.text()})),
    JSONISH, st.one_of(st.just(""), st.binary(max_size=80).map(_b64), st.text(max_size=8)))
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=64), JWTISH,
                 st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=300))
RAW = st.one_of(st.binary(max_size=64), TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")))

AUTHORIZE_KEYS = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                  "code_challenge", "code_challenge_method", "prompt", "max_age", "resource",
                  "response_mode", "request", "request_uri", "login_hint", "ui_locales", "lang",
                  "login_flow", "acr_values", "id_token_hint", "claims", "display"]
TOKEN_KEYS = ["grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "client_id",
              "client_secret", "client_assertion", "client_assertion_type", "scope", "resource",
              "token", "token_type_hint"]


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _encode(pairs: list[tuple[bytes, bytes]]) -> str:
    """Percent-encoded by hand, so the bytes need not be UTF-8."""
    return "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs)


def pairs(keys, base: list[tuple[str, str]]):
    """A parameter list, one of two shapes:

    * some of the well-formed parameters, with random (repeated, raw) ones before or after
      (the first of a repeated parameter is usually the one that counts);
    * the well-formed parameters with one value replaced by a nasty one, which reaches the
      checks behind the first ones far more often than random keys do.
    """
    key = st.one_of(st.sampled_from(keys), st.text(max_size=12))
    fuzzed = st.lists(st.tuples(key.map(lambda k: k.encode("utf-8", "surrogatepass")), RAW),
                      max_size=8)
    keep = st.lists(st.sampled_from(base), unique=True, max_size=len(base))
    encoded = [(k.encode(), v.encode()) for k, v in base]
    mixed = st.builds(
        lambda kept, extra, first: (extra if first else []) + [
            (k.encode(), v.encode()) for k, v in kept] + ([] if first else extra),
        keep, fuzzed, st.booleans())
    mutated = st.builds(
        lambda index, value: [(k, value if i == index else v)
                              for i, (k, v) in enumerate(encoded)],
        st.integers(0, len(encoded) - 1), RAW)
    return st.one_of(mixed, mutated)


def assert_not_5xx(response):
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])


@pytest.fixture
def parties(app):
    new_account()
    web_id, secret = new_client()
    app_id, _ = new_client(type="app")
    return {"web": (web_id, secret), "app": app_id}


def _authorize_base(parties):
    return [("response_type", "code"), ("client_id", parties["web"][0]),
            ("redirect_uri", REDIRECT), ("scope", "openid profile"),
            ("code_challenge", s256("v" * 43)), ("code_challenge_method", "S256")]


def test_fuzz_authorize(client, parties):
    base = _authorize_base(parties)

    @FUZZ
    @given(pairs(AUTHORIZE_KEYS, base), st.sampled_from(["GET", "POST"]))
    def run(params, method):
        body = _encode(params)
        if method == "GET":
            response = client.get("/authorize", query_string=body)
        else:
            response = client.post("/authorize", data=body,
                                   content_type="application/x-www-form-urlencoded")
        assert_not_5xx(response)
        if response.status_code == 302:  # only to the login page or the verified redirect_uri
            assert response.location.startswith(("/login?", REDIRECT + "?")), response.location

    run()


def test_fuzz_authorize_signed_in(client, parties):
    """The same with an SSO session: the prompt, max_age and code-issuing paths."""
    from tests.helpers import get_code

    get_code(client, parties["web"][0])
    base = _authorize_base(parties)

    @FUZZ
    @given(pairs(AUTHORIZE_KEYS, base))
    def run(params):
        response = client.get("/authorize", query_string=_encode(params))
        assert_not_5xx(response)
        if response.status_code == 302:
            assert response.location.startswith(("/login?", REDIRECT + "?")), response.location

    run()


# --- every parameter with every nasty value, deterministically -------------------------------

NASTY_VALUES = ["", "\x00", "a\x00b", "\r\n", '"', "\\", "é", "😀", "\ud800", "%", "\x7f",
                " x ", "a" * 3000, "[]", "{}", "eyJhbGciOiJub25lIn0.e30.", "a.b.c"]


def _each_nasty(base):
    for index in range(len(base)):
        for value in NASTY_VALUES:
            yield [(k, value if i == index else v) for i, (k, v) in enumerate(base)]


def _raw(params) -> str:
    return _encode([(k.encode(), v.encode("utf-8", "surrogatepass")) for k, v in params])


def test_each_authorize_parameter_with_each_nasty_value(client, parties):
    base = [*_authorize_base(parties), ("state", "s"), ("nonce", "n"), ("prompt", "none"),
            ("max_age", "60"), ("resource", "http://127.0.0.1:8000")]
    for params in _each_nasty(base):
        response = client.get("/authorize", query_string=_raw(params))
        assert_not_5xx(response)


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token", "client_credentials"])
def test_each_token_parameter_with_each_nasty_value(client, parties, grant):
    web_id, secret = parties["web"]
    base = [("grant_type", grant), ("client_id", web_id), ("client_secret", secret),
            ("code", "c" * 43), ("code_verifier", "v" * 43), ("redirect_uri", REDIRECT),
            ("refresh_token", "r" * 43), ("scope", "openid"), ("resource", "urn:x"),
            ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", "a.b.c")]
    for params in _each_nasty(base):
        response = client.post("/token", data=_raw(params),
                               content_type="application/x-www-form-urlencoded")
        assert_not_5xx(response)


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_each_introspect_and_revoke_parameter_with_each_nasty_value(client, parties, path):
    web_id, secret = parties["web"]
    base = [("token", "t" * 43), ("token_type_hint", "access_token"), ("client_id", web_id),
            ("client_secret", secret)]
    for params in _each_nasty(base):
        response = client.post(path, data=_raw(params),
                               content_type="application/x-www-form-urlencoded")
        assert_not_5xx(response)


def test_each_logout_parameter_with_each_nasty_value(client, parties):
    base = [("id_token_hint", "a.b.c"), ("post_logout_redirect_uri", REDIRECT),
            ("client_id", parties["web"][0]), ("state", "s"), ("confirm", "yes"),
            ("csrf_token", "x")]
    for params in _each_nasty(base):
        assert_not_5xx(client.get("/logout", query_string=_raw(params)))
        assert_not_5xx(client.post("/logout", data=_raw(params),
                                   content_type="application/x-www-form-urlencoded"))


AUTH_HEADERS = st.one_of(
    st.none(),
    st.sampled_from(["basic", "Basic", "Basic ", "Basic !!!", "Bearer x", "Basic Og==",
                     "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
                     "Basic " + base64.b64encode("é:😀".encode()).decode(),
                     "Basic " + base64.b64encode(b"a" * 3000).decode()]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=80),
    st.text(max_size=40).map(lambda t: "Bearer " + t),
).map(lambda h: h if h is None else "".join(c for c in h if c not in "\r\n"))


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_fuzz_token_endpoints(client, parties, path):
    web_id, secret = parties["web"]

    @FUZZ
    @given(pairs(TOKEN_KEYS, [("grant_type", "authorization_code"), ("client_id", web_id),
                              ("grant_type", "refresh_token"), ("token", "abc"),
                              ("grant_type", "client_credentials"),
                              ("client_assertion_type", ASSERTION_TYPE)]),
           AUTH_HEADERS, st.booleans())
    def run(params, auth, good_auth):
        headers = {}
        if good_auth:
            headers.update(basic(web_id, secret))
        elif auth is not None:
            headers["Authorization"] = auth
        response = client.post(path, data=_encode(params), headers=headers,
                               content_type="application/x-www-form-urlencoded")
        assert_not_5xx(response)
        assert response.mimetype == "application/json"

    run()


def test_fuzz_userinfo(client, parties):
    @FUZZ
    @given(AUTH_HEADERS, st.booleans())
    def run(auth, post):
        headers = {}
        if auth is not None:
            try:
                auth.encode("latin-1")
            except UnicodeEncodeError:
                auth = auth.encode("utf-8", "surrogatepass").decode("latin-1")
            headers["Authorization"] = auth
        response = (client.post if post else client.get)("/userinfo", headers=headers)
        assert_not_5xx(response)
        assert response.status_code in (200, 400, 401), response.status_code

    run()


def test_fuzz_login(client, parties):
    from tests.helpers.oidc import authorize

    start = authorize(client, parties["web"][0])
    flow = start.location.split("flow=")[1]

    @settings(max_examples=max(10, EXAMPLES * 2 // 3), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(pairs(["flow", "csrf_token", "username", "password", "lang"],
                 [("flow", flow), ("username", "0123456789")]), st.booleans())
    def run(params, post):
        if post:
            response = client.post("/login", data=_encode(params),
                                   content_type="application/x-www-form-urlencoded")
        else:
            response = client.get("/login", query_string=_encode(params))
        assert_not_5xx(response)

    run()


def test_fuzz_logout(client, parties):
    @FUZZ
    @given(pairs(["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales",
                  "logout_hint", "csrf_token", "confirm"],
                 [("client_id", parties["web"][0]), ("confirm", "yes")]), st.booleans())
    def run(params, post):
        if post:
            response = client.post("/logout", data=_encode(params),
                                   content_type="application/x-www-form-urlencoded")
        else:
            response = client.get("/logout", query_string=_encode(params))
        assert_not_5xx(response)
        assert "Location" not in response.headers  # no valid id_token_hint, no redirect

    run()


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke", "/login", "/authorize",
                                  "/logout", "/userinfo"])
def test_oversized_bodies_get_413(client, app, parties, path):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = b"grant_type=authorization_code&code=" + b"a" * (limit + 1)
    response = client.post(path, data=big, content_type="application/x-www-form-urlencoded",
                           headers=basic(*parties["web"]))
    # /userinfo answers from the Authorization header without reading the body
    expected = 401 if path == "/userinfo" else 413
    assert response.status_code == expected, (path, response.status_code)
    multipart = client.post(path, data={"f": (io.BytesIO(b"x" * (limit + 10)), "f.bin")},
                            content_type="multipart/form-data")
    assert multipart.status_code == expected


def test_huge_single_values_within_the_limit_are_4xx(client, app, parties):
    web_id, secret = parties["web"]
    value = "A" * (app.config["MAX_CONTENT_LENGTH"] - 200)
    for data in ({"grant_type": "authorization_code", "code": value, "code_verifier": "v" * 43,
                  "redirect_uri": REDIRECT},
                 {"grant_type": "refresh_token", "refresh_token": value},
                 {"grant_type": "client_credentials", "scope": value}):
        response = client.post("/token", data=data, headers=basic(web_id, secret))
        assert 400 <= response.status_code < 500, response.status_code
    for path in ("/introspect", "/revoke"):
        response = client.post(path, data={"token": value}, headers=basic(web_id, secret))
        assert response.status_code in (200, 400), response.status_code
    response = client.get("/userinfo", headers={"Authorization": "Bearer " + "x" * 9000})
    assert response.status_code == 401


def test_huge_query_values_are_not_a_500(client, parties):
    """Front proxies cap the request line; behind them, a huge value is still no crash."""
    from tests.helpers import authorize_params

    for name in ("state", "nonce", "scope", "client_id", "redirect_uri", "code_challenge"):
        params = authorize_params(parties["web"][0], "v" * 43)
        params[name] = "s" * 200_000
        response = client.get("/authorize", query_string=params)
        assert_not_5xx(response)
        if response.status_code == 302:
            assert response.location.startswith(("/login?", REDIRECT + "?"))


def test_content_type_json_at_token_is_4xx(client, parties):
    response = client.post("/token", json={"grant_type": "client_credentials"},
                           headers=basic(*parties["web"]))
    assert 400 <= response.status_code < 500
