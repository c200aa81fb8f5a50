"""The upstream's ID tokens, checked claim by claim, and its JWKS: cached, refetched once for
an unknown kid, never more often than REFETCH_INTERVAL."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

from providers.vneid_jose import (
    KEYS_TTL,
    REFETCH_INTERVAL,
    IdTokenError,
    UpstreamKeys,
    verify_id_token,
)
from tests.helpers.oidc import b64, hmac_signed, unsigned

ISSUER = "https://sso.example.vn"
CLIENT = "vssid-gateway"
NONCE = "n-0123456789"
NOW = 1_800_000_000


class Upstream:
    """A JWKS the test controls, and a count of how often it was fetched."""

    def __init__(self, *keys):
        self.keys = list(keys)

    def jwks(self) -> dict:
        return {"keys": [k.as_dict(private=False) | {"kid": k.kid, "use": "sig"}
                         for k in self.keys]}


def _ec(kid="ec-1"):
    return ECKey.generate_key("P-256", private=True, parameters={"kid": kid})


def _claims(**changes):
    claims = {"iss": ISSUER, "sub": "s-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW,
              "nonce": NONCE}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key, alg="ES256", header=None, **changes):
    head = {"alg": alg, "kid": key.kid, **(header or {})}
    return jwt.encode(head, _claims(**changes), key, algorithms=[alg])


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def world():
    key = _ec()
    upstream = Upstream(key)
    clock = Clock()
    keys = UpstreamKeys(upstream.jwks, clock)

    def verify(token, **options):
        args = {"keys": keys, "issuer": ISSUER, "client_id": CLIENT, "nonce": NONCE,
                "now": clock.now, "skew": 60, **options}
        return verify_id_token(token, **args)

    return key, upstream, clock, keys, verify


def _reason(call) -> str:
    with pytest.raises(IdTokenError) as info:
        call()
    return info.value.reason


def test_a_good_token_gives_its_claims(world):
    key, _, _, keys, verify = world
    assert verify(_sign(key))["sub"] == "s-1"
    rsa = RSAKey.generate_key(2048, private=True, parameters={"kid": "rsa-1"})
    world[1].keys.append(rsa)
    keys._fetched_at = None  # a new set, as after KEYS_TTL
    for alg in ("RS256", "PS256"):
        assert verify(_sign(rsa, alg))["aud"] == CLIENT


@pytest.mark.parametrize(("changes", "reason"), [
    ({"iss": "https://evil.example"}, "id_token_iss"),
    ({"iss": None}, "id_token_iss"),
    ({"aud": "someone-else"}, "id_token_aud"),
    ({"aud": ["someone-else", "another"]}, "id_token_aud"),
    ({"aud": [CLIENT, "another"]}, "id_token_azp"),            # several audiences, no azp
    ({"aud": [CLIENT, "another"], "azp": "another"}, "id_token_azp"),
    ({"azp": "another"}, "id_token_azp"),
    ({"exp": NOW - 61}, "id_token_expired"),
    ({"exp": None}, "id_token_expired"),
    ({"exp": "tomorrow"}, "id_token_expired"),
    ({"iat": NOW - 61}, "id_token_iat"),                       # stale: a replayed token
    ({"iat": NOW + 61}, "id_token_iat"),                       # from the future
    ({"iat": None}, "id_token_iat"),
    ({"iat": True}, "id_token_iat"),
    ({"nbf": NOW + 61}, "id_token_nbf"),
    ({"nonce": "another-nonce"}, "id_token_nonce"),
    ({"nonce": None}, "id_token_nonce"),
    ({"sub": ""}, "id_token_sub"),
    ({"sub": 12}, "id_token_sub"),
])
def test_each_claim_is_checked(world, changes, reason):
    key, *_, verify = world
    assert _reason(lambda: verify(_sign(key, **changes))) == reason


def test_the_skew_is_a_window_not_a_wall(world):
    key, *_, verify = world
    assert verify(_sign(key, iat=NOW - 60, exp=NOW - 59))
    assert verify(_sign(key, iat=NOW + 60, aud=[CLIENT, "x"], azp=CLIENT))


def test_infinite_or_nan_times_never_pass(world):
    key, *_, verify = world
    for bad in (float("inf"), float("nan"), 10**400):  # JSON's Infinity, NaN, a huge integer
        assert _reason(lambda b=bad: verify(_sign(key, exp=b))) == "id_token_expired"
        assert _reason(lambda b=bad: verify(_sign(key, iat=b))) == "id_token_iat"


def test_none_and_hmac_are_refused_before_any_key_is_used(world):
    key, upstream, _, keys, verify = world
    assert _reason(lambda: verify(unsigned({"alg": "none"}, _claims()))) == "id_token_alg"
    # HMAC keyed with the public key's bytes: the classic confusion.
    public = json.dumps(upstream.jwks()["keys"][0]).encode()
    for alg in ("HS256", "HS384", "HS512"):
        forged = hmac_signed({"alg": alg, "kid": key.kid}, _claims(), public)
        assert _reason(lambda f=forged: verify(f)) == "id_token_alg"
    assert keys.fetches == 0


def test_a_bad_signature_is_refused(world):
    key, *_, verify = world
    impostor = _ec(kid=key.kid)  # same kid, another key
    assert _reason(lambda: verify(_sign(impostor))) == "id_token_signature"
    header, payload, signature = _sign(key).split(".")
    tampered = _sign(key, sub="s-2").split(".")[1]
    assert _reason(lambda: verify(f"{header}.{tampered}.{signature}")) == "id_token_signature"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d.e", "x" * 20000, "###.###.###", None])
def test_malformed_tokens_are_refused(world, token):
    verify = world[4]
    assert _reason(lambda: verify(token)) == "id_token_malformed"


def _raw_signed(key, header: dict, claims: dict) -> str:
    """Signed by hand: joserfc itself refuses to write some headers (an unknown ``crit``)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = JWSRegistry.algorithms[header["alg"]].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def test_a_crit_header_is_refused(world):
    key, *_, verify = world
    token = _raw_signed(key, {"alg": "ES256", "kid": key.kid, "crit": ["x-vneid"],
                              "x-vneid": 1}, _claims())
    assert _reason(lambda: verify(token)) == "id_token_malformed"


def test_an_unknown_kid_refetches_once_then_at_most_once_a_minute(world):
    key, upstream, clock, keys, verify = world
    verify(_sign(key))
    assert keys.fetches == 1
    clock.now += REFETCH_INTERVAL
    # The upstream rotated: the new kid is found by one fetch.
    rotated = _ec(kid="ec-2")
    upstream.keys = [rotated]
    assert verify(_sign(rotated, iat=clock.now, exp=clock.now + 300), now=clock.now)
    assert keys.fetches == 2
    # A made-up kid right after: no fetch (rate-limited), refused.
    stranger = _ec(kid="ec-made-up")
    for _ in range(5):
        token = _sign(stranger, iat=clock.now, exp=clock.now + 300)
        assert _reason(lambda t=token: verify(t, now=clock.now)) == "id_token_unknown_kid"
    assert keys.fetches == 2
    clock.now += REFETCH_INTERVAL
    token = _sign(stranger, iat=clock.now, exp=clock.now + 300)
    assert _reason(lambda: verify(token, now=clock.now)) == "id_token_unknown_kid"
    assert keys.fetches == 3


def test_the_set_is_read_again_after_its_ttl(world):
    key, _, clock, keys, verify = world
    verify(_sign(key))
    clock.now += KEYS_TTL
    verify(_sign(key, iat=clock.now, exp=clock.now + 300), now=clock.now)
    assert keys.fetches == 2


def test_symmetric_and_foreign_keys_in_the_set_are_never_used(world):
    key, upstream, clock, keys, verify = world
    secret = b"0123456789abcdef0123456789abcdef"
    oct_jwk = {"kty": "oct", "kid": "shared", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}
    upstream.jwks = lambda: {"keys": [oct_jwk, {"kty": "EC", "kid": "enc", "use": "enc",
                                                **{k: v for k, v in key.as_dict().items()
                                                   if k in ("crv", "x", "y")}}]}
    forged = hmac_signed({"alg": "HS256", "kid": "shared"}, _claims(), secret)
    assert _reason(lambda: verify(forged)) == "id_token_alg"
    # A key published for encryption only does not verify signatures.
    assert _reason(lambda: verify(_sign(key, header={"kid": "enc"}))) == "id_token_unknown_kid"


def test_without_a_kid_only_a_single_usable_key_will_do(world):
    key, upstream, clock, keys, verify = world
    token = jwt.encode({"alg": "ES256"}, _claims(), key, algorithms=["ES256"])
    assert verify(token)["sub"] == "s-1"
    upstream.keys.append(_ec(kid="ec-2"))
    clock.now += REFETCH_INTERVAL
    token = jwt.encode({"alg": "ES256"}, _claims(iat=clock.now, exp=clock.now + 60), key,
                       algorithms=["ES256"])
    assert keys._fetched_at is not None
    keys._fetched_at = None
    assert _reason(lambda: verify(token, now=clock.now)) == "id_token_unknown_kid"


def test_a_malformed_set_is_refused(world):
    key, upstream, *_ = world
    keys = UpstreamKeys(lambda: {"keys": "none"}, lambda: NOW)
    assert _reason(lambda: keys.key_for("ES256", key.kid)) == "jwks_malformed"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_refused_with_a_reason_never_an_exception(text):
    keys = UpstreamKeys(lambda: {"keys": []}, lambda: NOW)
    with pytest.raises(IdTokenError):
        verify_id_token(text, keys=keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW,
                        skew=60)
