"""Table-driven and property tests of policies.redirect_uris: registration and exact match."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policies.redirect_uris import (
    RedirectUriError,
    redirect_uri_matches,
    validate_registered_redirect_uri,
)

ACCEPTED = [
    "https://client.example/cb",
    "https://client.example",
    "https://client.example/",
    "https://client.example:8443/oauth/callback?tenant=vss&x=1",
    "https://sub.client.example/a/b/c",
    "https://client.example/cb%20x",
    "https://client.example/cb/.well-known/x",  # a segment that merely starts with "."
    "https://client.example/cb/...",  # "..." is not a dot segment
    "https://client.example/cb?next=..",  # dot segments only matter in the path
    "https://Client.Example/CB",  # accepted as written; matching is exact
    "https://192.0.2.10/cb",
    "https://[2001:db8::1]/cb",
    "http://127.0.0.1:8000/cb",
    "http://127.0.0.1/cb",
    "http://127.1.2.3:65535/cb",
    "http://localhost:3000/cb",
    "http://localhost/cb",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
    "https://client.example/" + "a" * (2000 - len("https://client.example/")),
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_accepts_and_returns_unchanged(uri):
    assert validate_registered_redirect_uri(uri) is uri


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        # schemes
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("JavaScript://client.example/%0aalert(1)", "invalid_percent_encoding"),
        ("JavaScript://client.example/x", "scheme_not_allowed"),
        ("data:text/html,<script>alert(1)</script>", "invalid_character"),
        ("data:text/html;base64,PHNjcmlwdD4=", "scheme_not_allowed"),
        ("vbscript:msgbox(1)", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("ftp://client.example/cb", "scheme_not_allowed"),
        ("com.example.app:/oauth2redirect", "scheme_not_allowed"),  # native custom scheme
        ("vn.gov.baohiemxahoi://callback", "scheme_not_allowed"),
        ("HTTPS://client.example/cb", "scheme_not_allowed"),
        ("https:/client.example/cb", "scheme_not_allowed"),
        ("https:client.example/cb", "scheme_not_allowed"),
        ("//client.example/cb", "scheme_not_allowed"),
        ("/cb", "scheme_not_allowed"),
        ("", "scheme_not_allowed"),
        # plain http off loopback
        ("http://example.com", "insecure_http"),
        ("http://example.com/cb", "insecure_http"),
        ("http://localhost.evil.example/cb", "insecure_http"),
        ("http://127.0.0.1.evil.example/cb", "insecure_http"),
        ("http://10.0.0.1/cb", "insecure_http"),
        ("http://[::ffff:127.0.0.1]/cb", "insecure_http"),
        ("http://[2001:db8::1]/cb", "insecure_http"),
        # fragments and wildcards
        ("https://client.example/cb#", "fragment"),
        ("https://client.example/cb#frag", "fragment"),
        ("https://client.example/cb?x=#y", "fragment"),
        ("https://*.example/cb", "wildcard"),
        ("https://client.example/*", "wildcard"),
        ("https://client.example/cb?x=*", "wildcard"),
        # authority tricks
        ("https://good.example@evil.example/", "userinfo"),
        ("https://user:pass@client.example/cb", "userinfo"),
        ("https://@client.example/cb", "userinfo"),
        ("https://good.example%40evil.example/", "invalid_host"),
        ("https://good.example%2eevil.example/", "invalid_host"),
        ("https:///cb", "missing_host"),
        ("https://", "missing_host"),
        ("https://:443/cb", "missing_host"),
        ("https://client.example:/cb", "invalid_host"),
        ("https://client.example:0/cb", "invalid_port"),
        ("https://client.example:65536/cb", "invalid_port"),
        ("https://client.example:123456/cb", "invalid_host"),
        ("https://client.example:http/cb", "invalid_host"),
        ("https://client.example:+443/cb", "invalid_host"),
        ("https://client_x.example/cb", "invalid_host"),
        ("https://client.example./cb", "invalid_host"),
        ("https://.client.example/cb", "invalid_host"),
        ("https://client..example/cb", "invalid_host"),
        ("https://-client.example/cb", "invalid_host"),
        ("https://2130706433/cb", "invalid_host"),  # 127.0.0.1 for browsers
        ("http://0x7f.1/cb", "invalid_host"),
        ("http://127.1/cb", "invalid_host"),
        ("http://0177.0.0.1/cb", "invalid_host"),
        ("https://client.example.123/cb", "invalid_host"),
        ("http://[::1]x/cb", "invalid_host"),
        ("http://[::1%25eth0]/cb", "invalid_host"),
        ("http://[fe80::1%eth0]/cb", "invalid_percent_encoding"),
        ("http://[::1/cb", "malformed"),
        ("http://[not:v6:zz]/cb", "malformed"),
        ("https://[2001:db8::1]x/cb", "invalid_host"),
        # characters
        ("https://client.example/c b", "whitespace_or_control"),
        (" https://client.example/cb", "whitespace_or_control"),
        ("https://client.example/cb ", "whitespace_or_control"),
        ("https://client.example/cb\n", "whitespace_or_control"),
        ("https://client.example/cb\r\nSet-Cookie:x=1", "whitespace_or_control"),
        ("https://client.example/cb\t", "whitespace_or_control"),
        ("https://client.example/\x00cb", "whitespace_or_control"),
        ("https://client.example/\x7fcb", "whitespace_or_control"),
        ("https://client.example\\@evil.example/cb", "backslash"),
        ("https://client.example/cb\\..\\evil", "backslash"),
        ("https://clіent.example/cb", "non_ascii"),  # Cyrillic і
        ("https://client.example/cb/é", "non_ascii"),
        ("https://client.example/cb\u2028", "non_ascii"),
        ("https://client.example/cb\uff03frag", "non_ascii"),
        ('https://client.example/cb"onload="x', "invalid_character"),
        ("https://client.example/<script>", "invalid_character"),
        ("https://client.example/{x}", "invalid_character"),
        ("https://client.example/a|b", "invalid_character"),
        ("https://client.example/a^b", "invalid_character"),
        ("https://client.example/a`b", "invalid_character"),
        ("https://client.example/[x]", "invalid_character"),
        ("https://client.example/cb?a[]=1", "invalid_character"),
        ("https://client.example/cb%", "invalid_percent_encoding"),
        ("https://client.example/cb%zz", "invalid_percent_encoding"),
        ("https://client.example/cb%0d%0aSet-Cookie:x", "invalid_percent_encoding"),
        ("https://client.example/cb%00", "invalid_percent_encoding"),
        ("https://client.example/cb%7F", "invalid_percent_encoding"),
        # dot segments, plain and percent-encoded
        ("https://client.example/../evil", "dot_segment"),
        ("https://client.example/cb/..", "dot_segment"),
        ("https://client.example/cb/../../evil", "dot_segment"),
        ("https://client.example/./cb", "dot_segment"),
        ("https://client.example/cb/.", "dot_segment"),
        ("https://client.example/cb/./?x=1", "dot_segment"),
        ("https://client.example/cb/%2e%2e/evil", "dot_segment"),
        ("https://client.example/cb/%2E%2E/evil", "dot_segment"),
        ("https://client.example/cb/.%2e/evil", "dot_segment"),
        ("https://client.example/cb/%2e./evil", "dot_segment"),
        ("https://client.example/cb/%2e/evil", "dot_segment"),
        ("https://client.example/cb%2f..%2fevil", "encoded_separator"),
        ("https://client.example/cb%2F..", "encoded_separator"),
        ("https://client.example/cb%5c..%5cevil", "encoded_separator"),
        # length
        ("https://client.example/" + "a" * (2001 - len("https://client.example/")), "too_long"),
        # not a string
        (None, "invalid_type"),
        (b"https://client.example/cb", "invalid_type"),
    ],
)
def test_refuses(uri, code):
    with pytest.raises(RedirectUriError) as info:
        validate_registered_redirect_uri(uri)
    assert info.value.code == code
    assert isinstance(info.value, ValueError)


REGISTERED = ["https://client.example/cb", "http://127.0.0.1:8000/cb"]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("https://client.example/cb", True),
        ("http://127.0.0.1:8000/cb", True),
        ("https://CLIENT.example/cb", False),  # case change in the host
        ("https://client.example/CB", False),  # case change in the path
        ("HTTPS://client.example/cb", False),
        ("https://client.example/cb/", False),  # trailing slash
        ("https://client.example/cb?x=1", False),  # added query
        ("https://client.example/cb?", False),  # empty query
        ("https://client.example/cb#", False),
        ("https://client.example/cb/../cb", False),
        ("https://client.example/cb/..", False),
        ("https://client.example/%63b", False),  # percent-encoded "c"
        ("https://client.example:443/cb", False),  # default port spelled out
        ("https://client.example./cb", False),
        ("https://client.example/cb ", False),
        (" https://client.example/cb", False),
        ("https://client.example/c", False),  # prefix
        ("https://client.example/cbx", False),  # extension
        ("https://client.example@evil.example/cb", False),
        ("https://client.example.evil.example/cb", False),
        ("https://evil.example/https://client.example/cb", False),
        ("http://client.example/cb", False),
        ("http://127.0.0.1:8001/cb", False),  # no RFC 8252 §7.3 port wildcard
        ("http://127.0.0.1/cb", False),
        ("http://localhost:8000/cb", False),
        ("http://[::1]:8000/cb", False),
        ("", False),
        (None, False),
    ],
)
def test_matches_exactly(requested, expected):
    assert redirect_uri_matches(requested, REGISTERED) is expected


def test_matches_nothing_when_nothing_registered():
    assert redirect_uri_matches("https://client.example/cb", []) is False


def test_matching_ignores_non_string_registrations():
    assert redirect_uri_matches("None", [None]) is False  # type: ignore[list-item]


# --- properties ---------------------------------------------------------------------------

URI_ALPHABET = st.sampled_from(list("abcAB019:/?#@[]%.*\\-_~ \t\n") + ["é", "\x00", "%2e"])
URI_LIKE = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["https://", "http://", "http://127.0.0.1", "http://[::1]", "javascript:", ""]),
    st.lists(URI_ALPHABET, max_size=30).map("".join),
)


@given(st.one_of(st.text(), URI_LIKE))
def test_validation_raises_only_its_own_error(uri):
    try:
        assert validate_registered_redirect_uri(uri) is uri
    except RedirectUriError:
        pass


@given(st.one_of(st.text(), URI_LIKE))
def test_accepted_uris_are_safe(uri):
    try:
        validate_registered_redirect_uri(uri)
    except RedirectUriError:
        return
    assert uri.startswith(("https://", "http://"))
    assert uri.isascii()
    assert not any(c in uri for c in "#*\\ \t\r\n\x00")


@given(st.one_of(st.text(), URI_LIKE))
def test_uri_matches_itself(x):
    assert redirect_uri_matches(x, [x]) is True


@given(st.one_of(st.text(), URI_LIKE), st.one_of(st.text(), URI_LIKE))
def test_uri_matches_nothing_else(x, y):
    assume(x != y)
    assert redirect_uri_matches(y, [x]) is False


@given(st.one_of(st.text(), URI_LIKE), st.sampled_from(["/", "?", "?x=1", "#", "%2e", "."]))
def test_near_misses_never_match(x, suffix):
    assert redirect_uri_matches(x + suffix, [x]) is False
    assert redirect_uri_matches(x, [x + suffix]) is False
    if x.lower() != x:
        assert redirect_uri_matches(x.lower(), [x]) is False
