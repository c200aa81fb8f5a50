"""redirect_uri is compared byte for byte with the registered list; anything else gets an error
page and never a redirect (RFC 6749 §3.1.2.4, §4.1.2.1; RFC 9700 §4.1.3), whatever else is wrong
with the request and whether or not someone is signed in."""

import pytest

from tests.helpers import REDIRECT, new_account, new_client
from tests.helpers.oidc import assert_no_redirect, authorize, sign_in

TRICKS = [
    "https://PORTAL.example.vn/callback",                     # case of the host
    "https://portal.example.vn/Callback",                    # case of the path
    "HTTPS://portal.example.vn/callback",                    # case of the scheme
    "https://portal.example.vn/callback/",                   # trailing slash
    "https://portal.example.vn/callback?x=1",                # added query
    "https://portal.example.vn/callback?",                   # empty query
    "https://portal.example.vn/callback/../callback",        # dot segments
    "https://portal.example.vn/x/../callback",
    "https://portal.example.vn/callback/..",
    "https://portal.example.vn/callback%2F..%2Fevil",
    "https://portal.example.vn/%63allback",                  # percent-encoded letter
    "https://portal.example.vn@evil.example/callback",       # userinfo trick
    "https://portal.example.vn:443@evil.example/callback",
    "https://portal.example.vn.evil.example/callback",       # suffix host
    "https://evil.example/callback",                         # other host
    "https://evil.example/https://portal.example.vn/callback",
    "https://portal.example.vn/callback#frag",               # fragment
    "https://portal.example.vn/callback#",
    "https://portal.example.vn:443/callback",                # default port spelled out
    "http://portal.example.vn/callback",                     # downgrade
    "https://portal.example.vn/callbac",                     # prefix
    "https://portal.example.vn/callbackx",                   # extension
    "https://portal.example.vn/callback ",                   # whitespace
    "https://portal.example.vn/callback\r\nSet-Cookie: x=1",
    "https://portal.example.vn\\@evil.example/callback",
    "//evil.example/callback",
    "javascript:alert(1)//https://portal.example.vn/callback",
    "",
]


@pytest.fixture
def portal(app):
    new_account()
    return new_client()[0]


@pytest.mark.parametrize("uri", TRICKS)
def test_unregistered_redirect_uri_gets_a_page_not_a_redirect(client, portal, uri):
    response = authorize(client, portal, redirect_uri=uri)
    assert_no_redirect(response)
    html = response.get_data(as_text=True)
    # the page links nowhere outside the gateway (the language switch repeats the query)
    assert 'href="http' not in html and "http-equiv" not in html.lower()


@pytest.mark.parametrize("uri", ["https://portal.example.vn@evil.example/callback",
                                 "https://portal.example.vn/callback/",
                                 "https://evil.example/callback"])
@pytest.mark.parametrize("problem", [
    {"response_type": "token"},                          # unsupported_response_type
    {"response_type": "code id_token"},
    {"code_challenge": None},                            # PKCE missing
    {"code_challenge_method": "plain"},
    {"prompt": "none"},                                  # login_required
    {"prompt": "none login"},
    {"scope": "openid admin"},
    {"response_mode": "fragment"},
    {"request": "eyJhbGciOiJub25lIn0.e30."},
    {"resource": "https://evil.example/"},
])
def test_other_errors_never_go_to_an_unverified_uri(client, portal, uri, problem):
    assert_no_redirect(authorize(client, portal, redirect_uri=uri, **problem))


def test_unverified_uri_is_refused_for_a_signed_in_person_too(client, portal):
    sign_in(client, portal)  # now there is an SSO session
    for uri in TRICKS[:6] + ["https://portal.example.vn@evil.example/callback"]:
        assert_no_redirect(authorize(client, portal, redirect_uri=uri))
        assert_no_redirect(authorize(client, portal, redirect_uri=uri, prompt="none"))


def test_missing_redirect_uri_is_refused_without_guessing(client, portal):
    """OIDC requires redirect_uri; even a single registered URI is not used as a default."""
    assert_no_redirect(authorize(client, portal, redirect_uri=None))


def test_repeated_redirect_uri_is_refused(client, portal):
    response = client.get("/authorize", query_string=[
        ("response_type", "code"), ("client_id", portal), ("redirect_uri", REDIRECT),
        ("redirect_uri", "https://evil.example/callback"), ("scope", "openid"),
        ("code_challenge", "x" * 43), ("code_challenge_method", "S256")])
    assert_no_redirect(response)


def test_another_clients_redirect_uri_is_refused(client, portal):
    other, _ = new_client(redirect_uris=("https://other.example.vn/cb",))
    assert_no_redirect(authorize(client, portal, redirect_uri="https://other.example.vn/cb"))
    assert_no_redirect(authorize(client, other, redirect_uri=REDIRECT))


@pytest.mark.parametrize("client_id", ["unknown-client", "", "x" * 65, "a\x00b", "ạ"])
def test_unknown_client_gets_a_page_not_a_redirect(client, app, client_id):
    for response_type in ("code", "token"):
        response = authorize(client, client_id, response_type=response_type)
        assert_no_redirect(response)


def test_missing_client_id_gets_a_page(client, app):
    assert_no_redirect(authorize(client, None))


def test_exact_registered_uri_among_several(client, app):
    new_account()
    uris = (REDIRECT, "https://portal.example.vn/callback2", "http://127.0.0.1:9000/cb")
    client_id, _ = new_client(redirect_uris=uris)
    response = authorize(client, client_id, redirect_uri=uris[2])
    assert response.status_code == 302 and response.location.startswith("/login?")
    assert_no_redirect(authorize(client, client_id, redirect_uri="http://127.0.0.1:9001/cb"))
    assert_no_redirect(authorize(client, client_id, redirect_uri="http://localhost:9000/cb"))
