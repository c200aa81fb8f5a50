"""The gateway's VNeID client against a real upstream on loopback: the shipped sandbox, and
the sandbox made to misbehave one way at a time (issue 10's list of upstream failures)."""

from __future__ import annotations

import time
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey, RSAKey

from gateway.clock import Clock
from providers.vneid import DISCOVERY_TTL, VneidError
from providers.vneid_jose import REFETCH_INTERVAL
from providers.vneid_sandbox import SandboxClient
from tests.helpers.vneid import (
    AN,
    BINH,
    CLIENT_ID,
    EM,
    ORGANISATION,
    REDIRECT,
    callback_params,
    choose,
    client_for,
    served_upstream,
    silent_server,
)


class MovableClock(Clock):
    """The wall clock, plus an offset a test moves (the upstream and the client share it)."""

    def __init__(self):
        self.offset = 0

    def timestamp(self) -> int:
        return int(time.time()) + self.offset


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def upstream(clock):
    with served_upstream(clock) as up:
        yield up


def sign_in(upstream, client, tech_id=AN, *, state="state-0123456789abcdef", cancel=False):
    request = client.authorization_request(state=state)
    location = choose(requests.Session(), request.url, tech_id, cancel=cancel)
    assert location.startswith(REDIRECT)
    return request, callback_params(location)


def identity(upstream, client, tech_id=AN, **kw):
    request, params = sign_in(upstream, client, tech_id, **kw)
    return client.identity_from_callback(params, state=request.state, nonce=request.nonce,
                                         code_verifier=request.code_verifier)


def refusal(call) -> VneidError:
    with pytest.raises(VneidError) as info:
        call()
    return info.value


def test_the_sandbox_citizen_arrives_mapped_and_normalised(upstream, clock):
    client = client_for(upstream.issuer, clock)
    who = identity(upstream, client, AN)
    assert who.subject == AN  # TechID, not the pairwise sub
    assert who.id_number == "001085012345"
    assert who.full_name == "Nguyễn Văn An"
    assert who.birthdate == date(1985, 4, 12)   # dd/mm/yyyy, from userinfo
    assert who.sex == "male" and who.phone == "+84912345623"
    assert who.level == 2 and who.account_type == "1"
    assert identity(upstream, client, EM).level == 1
    assert identity(upstream, client, ORGANISATION).account_type == "2"


def test_the_authorization_request_carries_pkce_state_nonce_and_acr_values(upstream, clock):
    plain = client_for(upstream.issuer, clock).authorization_request(state="s" * 32)
    query = parse_qs(urlsplit(plain.url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"] == ["s" * 32] and query["nonce"] == [plain.nonce]
    assert query["redirect_uri"] == [REDIRECT] and query["scope"] == ["openid"]
    assert "acr_values" not in query
    loa2 = client_for(upstream.issuer, clock, acr_values="LoA2").authorization_request(
        state="s" * 32)
    assert parse_qs(urlsplit(loa2.url).query)["acr_values"] == ["LoA2"]
    assert loa2.nonce != plain.nonce and loa2.code_verifier != plain.code_verifier


def test_the_level_comes_from_the_level_claim_never_from_acr(upstream, clock):
    client = client_for(upstream.issuer, clock)
    upstream.tampering.claims = {"acr": "LoA2"}
    assert identity(upstream, client, EM).level == 1  # loAs says LoA1
    upstream.tampering.claims = {"acr": "1"}
    assert identity(upstream, client, AN).level == 2  # loAs says LoA2
    strict = client_for(upstream.issuer, clock, level2_values="2")
    assert identity(upstream, strict, AN).level == 1  # "LoA2" is not listed


def test_another_channels_claim_names_are_configuration(upstream, clock):
    upstream.tampering.claims = {"citizenPid": "001085012345", "fullName": "Nguyễn Văn An",
                                 "accountLevel": 2}
    client = client_for(upstream.issuer, clock, claims=(
        '{"id_number": "citizenPid", "full_name": "fullName", "level": "accountLevel"}'))
    who = identity(upstream, client, AN)
    assert who.subject != AN and len(who.subject) == 32  # no TechID mapping: `sub`
    assert (who.id_number, who.full_name, who.level) == ("001085012345", "Nguyễn Văn An", 2)
    assert who.birthdate is None and who.phone is None


def test_private_key_jwt(clock, tmp_path):
    key = RSAKey.generate_key(2048, private=True)
    key_file = tmp_path / "client.pem"
    key_file.write_bytes(key.as_pem(private=True))
    registered = SandboxClient(CLIENT_ID, (REDIRECT,), public_jwk=key.as_dict(private=False))
    with served_upstream(clock, client=registered) as up:
        client = client_for(up.issuer, clock, client_secret="", private_key_file=str(key_file))
        assert identity(up, client, BINH).full_name == "Trần Thị Bình"
        impostor = tmp_path / "other.pem"
        impostor.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
        wrong = client_for(up.issuer, clock, client_secret="", private_key_file=str(impostor))
        error = refusal(lambda: identity(up, wrong, BINH))
        assert (error.reason, error.upstream_error) == ("token_error", "invalid_client")


def test_a_wrong_secret_is_the_upstreams_refusal(upstream, clock):
    client = client_for(upstream.issuer, clock, client_secret="not-the-secret")
    error = refusal(lambda: identity(upstream, client))
    assert (error.reason, error.upstream_error) == ("token_error", "invalid_client")


def test_an_rs256_upstream(clock):
    with served_upstream(clock, signing_alg="RS256") as up:
        assert identity(up, client_for(up.issuer, clock)).subject == AN


@pytest.mark.parametrize(("claims", "reason"), [
    ({"iss": "https://evil.example/sandbox/vneid"}, "id_token_iss"),
    ({"aud": "another-client"}, "id_token_aud"),
    ({"azp": "another-client"}, "id_token_azp"),
    ({"nonce": "not-the-nonce"}, "id_token_nonce"),
    ({"nonce": None}, "id_token_nonce"),
    ({"iat": int(time.time()) - 3600}, "id_token_iat"),   # stale
    ({"iat": int(time.time()) + 3600}, "id_token_iat"),   # from the future
    ({"exp": int(time.time()) - 3600}, "id_token_expired"),
])
def test_id_tokens_with_a_wrong_claim_are_refused(upstream, clock, claims, reason):
    upstream.tampering.claims = claims
    assert refusal(lambda: identity(upstream, client_for(upstream.issuer, clock))).reason == (
        reason)


def test_a_bad_signature_is_refused(upstream, clock):
    upstream.tampering.sign_with = ECKey.generate_key("P-256", private=True)
    client = client_for(upstream.issuer, clock)
    assert refusal(lambda: identity(upstream, client)).reason == "id_token_signature"


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_and_hmac_tokens_are_refused(upstream, clock, alg):
    upstream.tampering.alg = alg
    client = client_for(upstream.issuer, clock)
    assert refusal(lambda: identity(upstream, client)).reason == "id_token_alg"


def test_an_unknown_kid_is_fetched_again_once_then_refused(upstream, clock):
    client = client_for(upstream.issuer, clock)
    identity(upstream, client)
    assert client.keys.fetches == 1
    clock.offset += REFETCH_INTERVAL
    upstream.provider.rotate_keys()  # rotation upstream: found by one more fetch
    assert identity(upstream, client).subject == AN
    assert client.keys.fetches == 2
    upstream.tampering.header = {"kid": "made-up"}
    for _ in range(3):
        assert refusal(lambda: identity(upstream, client)).reason == "id_token_unknown_kid"
    assert client.keys.fetches == 2  # rate-limited: no fetch within the interval


def test_the_callbacks_iss_must_be_the_upstreams(upstream, clock):
    client = client_for(upstream.issuer, clock)
    upstream.tampering.callback = {"iss": "https://another-op.example"}
    assert refusal(lambda: identity(upstream, client)).reason == "callback_iss_mismatch"
    # The sandbox's metadata promises iss: a callback without it is refused too.
    upstream.tampering.callback = {"iss": None}
    assert refusal(lambda: identity(upstream, client)).reason == "callback_iss_missing"


def test_the_state_must_be_ours(upstream, clock):
    client = client_for(upstream.issuer, clock)
    request, params = sign_in(upstream, client)
    error = refusal(lambda: client.identity_from_callback(
        params, state="another-state-0123456789", nonce=request.nonce,
        code_verifier=request.code_verifier))
    assert error.reason == "callback_state_mismatch"


def test_an_error_response_is_reported_with_the_upstreams_code(upstream, clock):
    client = client_for(upstream.issuer, clock)
    error = refusal(lambda: identity(upstream, client, cancel=True))
    assert (error.reason, error.upstream_error) == ("upstream_error", "access_denied")
    upstream.tampering.callback = {"error": "<script>", "code": None}
    error = refusal(lambda: identity(upstream, client))
    assert (error.reason, error.upstream_error) == ("upstream_error", "invalid")


def test_a_replayed_callback_is_refused_by_the_upstream(upstream, clock):
    client = client_for(upstream.issuer, clock)
    request, params = sign_in(upstream, client)
    args = {"state": request.state, "nonce": request.nonce,
            "code_verifier": request.code_verifier}
    client.identity_from_callback(params, **args)
    error = refusal(lambda: client.identity_from_callback(params, **args))
    assert (error.reason, error.upstream_error) == ("token_error", "invalid_grant")


def test_a_wrong_verifier_is_refused_by_the_upstream(upstream, clock):
    client = client_for(upstream.issuer, clock)
    request, params = sign_in(upstream, client)
    error = refusal(lambda: client.identity_from_callback(
        params, state=request.state, nonce=request.nonce, code_verifier="x" * 64))
    assert (error.reason, error.upstream_error) == ("token_error", "invalid_grant")


def test_userinfo_must_be_about_the_same_subject(upstream, clock):
    upstream.tampering.userinfo = {"sub": "someone-else"}
    client = client_for(upstream.issuer, clock)
    assert refusal(lambda: identity(upstream, client)).reason == "userinfo_sub_mismatch"


def test_discovery_must_name_the_configured_issuer(upstream, clock):
    client = client_for(upstream.issuer + "/", clock)  # one character off
    assert refusal(lambda: client.authorization_request(state="s" * 20)).reason == (
        "discovery_issuer_mismatch")


def test_discovery_is_cached_for_its_ttl(upstream, clock):
    client = client_for(upstream.issuer, clock)
    first = client.metadata()
    upstream.provider.issuer = "https://changed.example"  # what a re-read would see
    assert client.metadata() is first
    clock.offset += DISCOVERY_TTL
    assert refusal(client.metadata).reason == "discovery_issuer_mismatch"


def test_an_unreachable_upstream_is_said_plainly(clock):
    with served_upstream(clock) as up:
        issuer = up.issuer
    client = client_for(issuer, clock)  # the port is closed now
    error = refusal(lambda: client.authorization_request(state="s" * 20))
    assert error.reason == "upstream_unreachable" and error.retryable


def test_an_upstream_that_goes_down_between_the_redirect_and_the_callback(clock):
    with served_upstream(clock) as up:
        client = client_for(up.issuer, clock)
        request, params = sign_in(up, client)
    error = refusal(lambda: client.identity_from_callback(
        params, state=request.state, nonce=request.nonce, code_verifier=request.code_verifier))
    assert error.reason == "upstream_unreachable"


def test_a_hung_upstream_times_out(clock):
    with silent_server() as base:
        client = client_for(base, clock, timeout=1)
        started = time.monotonic()
        assert refusal(client.metadata).reason == "upstream_unreachable"
        assert time.monotonic() - started < 5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                       children, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: json_values for name in (
    "id_number", "full_name", "birthdate", "sex", "phone", "account_type", "level")}),
    st.one_of(json_values, st.text(min_size=1, max_size=40)))
def test_any_claim_values_give_a_well_formed_identity_or_subject_missing(fields, subject):
    client = client_for("https://sso.example.vn", Clock())
    try:
        who = client._identity({**fields, "subject": subject})
    except VneidError as exc:
        assert exc.reason == "subject_missing"
        return
    assert who.subject and who.subject == who.subject.strip()
    assert who.id_number is None or (len(who.id_number) == 12 and who.id_number.isdigit())
    assert who.phone is None or who.phone.startswith("+84")
    assert who.sex in (None, "male", "female") and who.level in (1, 2)
    assert who.full_name is None or (who.full_name.isprintable() and 0 < len(who.full_name)
                                     <= 200)


@pytest.mark.parametrize(("value", "level"), [
    ("LoA2", 2), ("2", 2), (2, 2), (" LoA2 ", 2), (["LoA1", "LoA2"], 2), ("LoA1", 1),
    ("loa2", 1), (True, 1), (None, 1), ([], 1), ({"level": 2}, 1), (2.0, 1),
])
def test_the_level_claim(value, level):
    client = client_for("https://sso.example.vn", Clock())
    assert client._identity({"subject": "s", "level": value, **dict.fromkeys(
        ("id_number", "full_name", "birthdate", "sex", "phone", "account_type"))}).level == level
