"""gateway.oidc.dpop: RFC 9449 proofs, each §4.3 check refused with its own reason.

Hand-made proofs (alg "none", HS256 keyed with the public key, tampered segments) are built
with base64url and hmac directly, so the verifier is tested against what an attacker can send,
not against what joserfc would agree to produce. RFC 9449's and RFC 7638's own examples pin
interoperability.
"""

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from gateway.oidc.dpop import (
    ALGS,
    MAX_PROOF_LENGTH,
    DPoPProof,
    DPoPProofError,
    UseDPoPNonceError,
    access_token_hash,
    create_proof,
    jwk_thumbprint,
    normalize_htu,
    verify_proof,
    www_authenticate,
)

NOW = 1_700_000_000
URL = "https://id.vssid.example/token"
DROP = object()  # claims(jti=DROP) leaves the claim out

EC = ECKey.generate_key("P-256", private=True)
EC_OTHER = ECKey.generate_key("P-256", private=True)
EC384 = ECKey.generate_key("P-384", private=True)
RSA = RSAKey.generate_key(2048, private=True)
ED = OKPKey.generate_key("Ed25519", private=True)
X25519 = OKPKey.generate_key("X25519", private=True)

# RFC 9449 §5 (Figure 4) token request proof and §7.1 (Figure 13) resource proof, same key.
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_HEADER = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0Vj"
    "NoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5"
    "VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19")
RFC_TOKEN_PROOF = RFC_HEADER + (
    ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1w"
    "bGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4P"
    "tFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg")
RFC_RESOURCE_PROOF = RFC_HEADER + (
    ".eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFt"
    "cGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc0"
    "5yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8"
    "y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA")
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"


class Replay:
    """A set-backed replay_check, as the store's atomic add() behaves; it records each call."""

    def __init__(self):
        self.seen, self.calls = set(), []

    def __call__(self, key, ttl):
        self.calls.append((key, ttl))
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value) -> str:
    return b64(json.dumps(value).encode())


def claims(**changes) -> dict:
    out = {"jti": secrets.token_urlsafe(12), "htm": "POST", "htu": URL, "iat": NOW}
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def header(key=EC, alg="ES256", **changes) -> dict:
    out = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def signed(key=EC, hdr=None, body=None, alg="ES256") -> str:
    """A JWS over any header and claims, signed by `key` with joserfc's `alg` primitive
    whatever the header says: no registry check stands between the test and the verifier."""
    hdr = header(key, alg) if hdr is None else hdr
    signing_input = f"{b64json(hdr)}.{b64json(claims() if body is None else body)}"
    signature = jws.JWSRegistry.algorithms[alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def unsigned(hdr: dict, body: dict, signature: bytes = b"") -> str:
    return f"{b64json(hdr)}.{b64json(body)}.{b64(signature)}"


def hs256(hdr: dict, body: dict, secret: bytes) -> str:
    signing_input = f"{b64json(hdr)}.{b64json(body)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def verify(proof, **changes) -> DPoPProof:
    args = {"method": "POST", "url": URL, "now": NOW, "replay_check": Replay()}
    args.update(changes)
    return verify_proof(proof, **args)


def refusal(proof, **changes) -> DPoPProofError:
    with pytest.raises(DPoPProofError) as caught:
        verify(proof, **changes)
    return caught.value


# --- valid proofs -------------------------------------------------------------------------


@pytest.mark.parametrize("key, alg", [
    (EC, "ES256"), (EC384, "ES384"), (RSA, "RS256"), (RSA, "PS256"), (ED, "EdDSA"),
    (OKPKey.generate_key("Ed448", private=True), "EdDSA"),
], ids=["ES256", "ES384", "RS256", "PS256", "EdDSA-Ed25519", "EdDSA-Ed448"])
def test_round_trip(key, alg):
    replay = Replay()
    proof = create_proof(key, method="POST", url=URL, iat=NOW, jti="jti-1", alg=alg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no joserfc SecurityWarning for "EdDSA" either
        result = verify(proof, replay_check=replay)
    assert result == DPoPProof(jkt=key.thumbprint(), jwk=result.jwk, jti="jti-1", iat=NOW,
                               htm="POST", htu=URL)
    assert result.jwk == key.as_dict(private=False)
    assert jwk_thumbprint(result.jwk) == result.jkt
    assert replay.calls == [(f"{key.thumbprint()}:jti-1", 60 + 2 * 5)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.jti = "other"


def test_create_proof_contents():
    proof = create_proof(EC, method="GET", url="HTTPS://ID.vssid.example:443/me?x=1#f",
                         access_token="tok", nonce="n-1")
    hdr, body = (json.loads(base64.urlsafe_b64decode(s + "==")) for s in proof.split(".")[:2])
    assert hdr == {"typ": "dpop+jwt", "alg": "ES256", "jwk": EC.as_dict(private=False)}
    assert "d" not in hdr["jwk"]
    assert body["htm"] == "GET" and body["htu"] == "https://id.vssid.example/me"
    assert body["ath"] == access_token_hash("tok") and body["nonce"] == "n-1"
    assert isinstance(body["iat"], int) and len(body["jti"]) >= 22
    first, second = (json.loads(base64.urlsafe_b64decode(
        create_proof(EC, method="GET", url=URL).split(".")[1] + "==")) for _ in range(2))
    assert "ath" not in first and "nonce" not in first
    assert first["jti"] != second["jti"]  # random, so two proofs never share one


def test_rfc9449_examples_verify():
    token = verify(RFC_TOKEN_PROOF, url="https://server.example.com/token", now=1562262620)
    assert (token.jkt, token.jti, token.iat) == (RFC_JKT, "-BwC3ESc6acc2lTc", 1562262616)
    url = "https://resource.example.org/protectedresource"
    resource = verify(RFC_RESOURCE_PROOF, method="GET", url=url, now=1562262620,
                      access_token=RFC_ACCESS_TOKEN)
    assert resource.jkt == RFC_JKT
    assert refusal(RFC_RESOURCE_PROOF, method="GET", url=url, now=1562262620,
                   access_token="another token").reason == "ath_mismatch"


def test_ath_is_unpadded_base64url_sha256():
    assert access_token_hash(RFC_ACCESS_TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    assert access_token_hash("x") == b64(hashlib.sha256(b"x").digest())
    assert "=" not in access_token_hash("a")


def test_rfc7638_thumbprint_example():
    """RFC 7638 §3.1: the thumbprint of this RSA key (its "alg" and "kid" do not count)."""
    key = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
             "c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
             "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-b"
             "FTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jwk_thumbprint(EC.as_dict(private=True)) == EC.thumbprint()


def test_extra_jwk_members_neither_count_nor_trip():
    jwk = dict(EC.as_dict(private=False), use="enc", kid="k1", alg="RS256", key_ops=["encrypt"])
    result = verify(signed(hdr=header(jwk=jwk)))
    assert result.jwk == EC.as_dict(private=False) and result.jkt == EC.thumbprint()


def test_unknown_header_parameters_are_ignored():
    assert verify(signed(hdr=header(x_vendor={"a": 1}, kid="k"))).jkt == EC.thumbprint()


def test_fractional_iat_accepted():
    assert verify(signed(body=claims(iat=NOW - 0.5))).iat == NOW - 1


@pytest.mark.parametrize("request_url, htu", [
    (URL + "?client=x#frag", URL),  # query and fragment of the request are ignored
    (URL, URL + "?a=1"),  # and those a client put into htu
    ("https://ID.VssID.example:443/token", URL),
    (URL, "HTTPS://id.vssid.EXAMPLE:443/token"),
    ("http://127.0.0.1:8000/token", "http://127.0.0.1:8000/token"),
    ("http://127.0.0.1/token", "http://127.0.0.1:80/token"),
    ("https://id.vssid.example/~u/a%2Fb", "https://id.vssid.example/%7eu/a%2fb"),
    ("https://id.vssid.example", "https://id.vssid.example/"),
])
def test_htu_equivalent_urls_accepted(request_url, htu):
    assert verify(signed(body=claims(htu=htu)), url=request_url).htu == normalize_htu(request_url)


@pytest.mark.parametrize("htu", [
    "https://id.vssid.example/authorize",  # other path
    "https://id.vssid.example/token/",
    "https://id.vssid.example/TOKEN",  # paths are case-sensitive
    "https://evil.example/token",  # other host
    "https://id.vssid.example.evil.example/token",
    "http://id.vssid.example/token",  # http is not https
    "https://id.vssid.example:8443/token",  # other port
    "https://id.vssid.example/a/../token",  # dot segments are not resolved
    "https://id.vssid.example/%74oken2",
    "/token",  # relative
    "id.vssid.example/token",
    "ftp://id.vssid.example/token",
    "https://id.vssid.example/to ken",
    "https://id.vssid.example/%zz",
    "",
    DROP,
    7,
    ["https://id.vssid.example/token"],
])
def test_htu_mismatch(htu):
    assert refusal(signed(body=claims(htu=htu))).reason == "htu_mismatch"


def test_reserved_percent_encodings_are_not_decoded():
    proof = signed(body=claims(htu="https://id.vssid.example/a%2Fb"))
    assert refusal(proof, url="https://id.vssid.example/a/b").reason == "htu_mismatch"


def test_iat_window_edges():
    assert verify(signed(body=claims(iat=NOW - 65))).iat == NOW - 65  # max_age + leeway
    assert verify(signed(body=claims(iat=NOW + 5))).iat == NOW + 5  # leeway
    assert refusal(signed(body=claims(iat=NOW - 66))).reason == "iat_out_of_window"
    assert refusal(signed(body=claims(iat=NOW + 6))).reason == "iat_out_of_window"
    assert refusal(signed(body=claims(iat=NOW - 3600))).reason == "iat_out_of_window"
    assert refusal(signed(body=claims(iat=NOW + 3600))).reason == "iat_out_of_window"
    assert verify(signed(body=claims(iat=NOW - 300)), max_age=300, leeway=0).iat == NOW - 300
    assert refusal(signed(body=claims(iat=NOW - 301)), max_age=300,
                   leeway=0).reason == "iat_out_of_window"
    assert refusal(signed(body=claims(iat=NOW + 1)), leeway=0).reason == "iat_out_of_window"


def test_replay_ttl_follows_window():
    replay = Replay()
    verify(signed(body=claims(jti="j")), replay_check=replay, max_age=300, leeway=30)
    assert replay.calls == [(f"{EC.thumbprint()}:j", 360)]


# --- refusals ----------------------------------------------------------------------------

# Deliberately weak: the verifier must refuse it. Built as a JWK, not a joserfc key, which
# would warn about its size.
_weak = rsa.generate_private_key(65537, 1024).public_key().public_numbers()  # noqa: S505
RSA1024_PUBLIC = {"kty": "RSA", "n": b64(_weak.n.to_bytes(128, "big")), "e": "AQAB"}
PRIVATE_EC = EC.as_dict(private=True)
EC_PUBLIC = EC.as_dict(private=False)
TWO = create_proof(EC, method="POST", url=URL, iat=NOW)

REFUSALS = {
    # exactly one compact JWS
    "empty": ("", "malformed"),
    "one segment": ("abc", "malformed"),
    "two segments": ("abc.def", "malformed"),
    "four segments": (TWO + ".x", "malformed"),
    "two proofs, comma": (TWO + "," + TWO, "malformed"),
    "two proofs, comma space": (TWO + ", " + TWO, "malformed"),
    "two proofs, space": (TWO + " " + TWO, "malformed"),
    "leading space": (" " + TWO, "malformed"),
    "trailing newline": (TWO + "\n", "malformed"),
    "padding": (TWO + "=", "malformed"),
    "standard base64": (TWO.replace("-", "+", 1) if "-" in TWO else TWO + "+", "malformed"),
    "header not json": (b64(b"{nope") + "." + TWO.split(".", 1)[1], "malformed"),
    "header a list": (b64json([1]) + "." + TWO.split(".", 1)[1], "malformed"),
    "header a string": (b64json("dpop+jwt") + "." + TWO.split(".", 1)[1], "malformed"),
    "header bad utf-8": (b64(b'{"a":"\xff"}') + "." + TWO.split(".", 1)[1], "malformed"),
    "header bad base64 length": ("a" + TWO, "malformed"),
    "claims a list": (unsigned(header(), [1]), "malformed"),
    "claims a number": (TWO.split(".")[0] + "." + b64json(5) + "." + TWO.split(".")[2],
                        "malformed"),
    "not a str": (TWO.encode(), "malformed"),
    "None": (None, "malformed"),
    "too long": (signed(body=claims(pad="x" * MAX_PROOF_LENGTH)), "malformed"),
    "unknown crit": (signed(hdr=header(crit=["exp"], exp=1)), "malformed"),
    "kid not a string": (signed(hdr=header(kid=5)), "malformed"),
    # typ
    "no typ": (signed(hdr=header(typ=DROP)), "bad_typ"),
    "typ JWT": (signed(hdr=header(typ="JWT")), "bad_typ"),
    "typ upper case": (signed(hdr=header(typ="DPOP+JWT")), "bad_typ"),
    "typ media type": (signed(hdr=header(typ="application/dpop+jwt")), "bad_typ"),
    "typ at+jwt": (signed(hdr=header(typ="at+jwt")), "bad_typ"),
    # alg
    "alg none": (unsigned(header(alg="none"), claims()), "bad_alg"),
    "alg none with signature": (unsigned(header(alg="none"), claims(), b"sig"), "bad_alg"),
    "alg None": (unsigned(header(alg="None"), claims()), "bad_alg"),
    "no alg": (unsigned(header(alg=DROP), claims(), b"x" * 64), "bad_alg"),
    "alg not a string": (unsigned(header(alg=["ES256"]), claims(), b"x" * 64), "bad_alg"),
    "HS256 keyed with the jwk JSON": (
        hs256(header(alg="HS256"), claims(), json.dumps(EC_PUBLIC).encode()), "bad_alg"),
    "HS256 keyed with the public PEM": (
        hs256(header(RSA, alg="HS256"), claims(), RSA.as_pem(private=False)), "bad_alg"),
    "HS512": (hs256(header(alg="HS512"), claims(), b"secret"), "bad_alg"),
    "ES512": (unsigned(header(alg="ES512"), claims(), b"x" * 132), "bad_alg"),
    "RS512": (signed(RSA, hdr=header(RSA, "RS512"), alg="RS512"), "bad_alg"),
    "ES256K": (unsigned(header(alg="ES256K"), claims(), b"x" * 64), "bad_alg"),
    "alg lower case": (unsigned(header(alg="es256"), claims(), b"x" * 64), "bad_alg"),
    # jwk
    "no jwk": (signed(hdr=header(jwk=DROP)), "bad_jwk"),
    "jwk a string": (signed(hdr=header(jwk=json.dumps(EC_PUBLIC))), "bad_jwk"),
    "jwk kty unknown": (signed(hdr=header(jwk=dict(EC_PUBLIC, kty="ECC"))), "bad_jwk"),
    "jwk no kty": (signed(hdr=header(jwk={"crv": "P-256", "x": EC_PUBLIC["x"],
                                          "y": EC_PUBLIC["y"]})), "bad_jwk"),
    "jwk no y": (signed(hdr=header(jwk={"kty": "EC", "crv": "P-256", "x": EC_PUBLIC["x"]})),
                 "bad_jwk"),
    "jwk x a number": (signed(hdr=header(jwk=dict(EC_PUBLIC, x=5))), "bad_jwk"),
    "jwk point off the curve": (signed(hdr=header(jwk=dict(EC_PUBLIC, y=EC_PUBLIC["x"]))),
                                "bad_jwk"),
    "jwk x not base64": (signed(hdr=header(jwk=dict(EC_PUBLIC, x="!!"))), "bad_jwk"),
    "RSA 1024": (unsigned(header(alg="RS256", jwk=RSA1024_PUBLIC), claims(), b"x" * 128),
                 "bad_jwk"),
    "RSA n not base64": (unsigned(header(alg="RS256", jwk={"kty": "RSA", "n": "!", "e": "AQAB"}),
                                  claims(), b"x" * 256), "bad_jwk"),
    "jwk x5c only": (signed(hdr=header(jwk={"x5c": ["AAAA"]})), "bad_jwk"),
    # the alg must fit the key
    "ES256 with an RSA jwk": (unsigned(header(RSA, "ES256"), claims(), b"x" * 64),
                              "alg_key_mismatch"),
    "ES256 with a P-384 jwk": (signed(EC384, hdr=header(EC384, "ES256"), alg="ES384"),
                               "alg_key_mismatch"),
    "ES384 with a P-256 jwk": (signed(hdr=header(EC, "ES384")), "alg_key_mismatch"),
    "RS256 with an EC jwk": (signed(hdr=header(EC, "RS256")), "alg_key_mismatch"),
    "EdDSA with an EC jwk": (signed(hdr=header(EC, "EdDSA")), "alg_key_mismatch"),
    "EdDSA with an X25519 jwk": (unsigned(header(X25519, "EdDSA"), claims(), b"x" * 64),
                                 "alg_key_mismatch"),
    "PS256 with an OKP jwk": (signed(ED, hdr=header(ED, "PS256"), alg="EdDSA"),
                              "alg_key_mismatch"),
    # the jwk must be public
    "private EC jwk": (signed(hdr=header(jwk=PRIVATE_EC)), "private_key_in_jwk"),
    "private RSA jwk": (signed(RSA, hdr=header(RSA, "RS256", jwk=RSA.as_dict(private=True)),
                               alg="RS256"), "private_key_in_jwk"),
    "private OKP jwk": (signed(ED, hdr=header(ED, "EdDSA", jwk=ED.as_dict(private=True)),
                               alg="EdDSA"), "private_key_in_jwk"),
    "oct jwk": (hs256(header(jwk={"kty": "oct", "k": b64(b"s" * 32)}), claims(), b"s" * 32),
                "private_key_in_jwk"),
    "oct jwk, no k": (signed(hdr=header(jwk={"kty": "oct"})), "private_key_in_jwk"),
    **{f"jwk with {member}": (signed(hdr=header(jwk=dict(EC_PUBLIC, **{member: "AAAA"}))),
                              "private_key_in_jwk")
       for member in ("d", "p", "q", "dp", "dq", "qi", "k", "oth")},
    # the signature
    "signed by another key": (signed(EC_OTHER, hdr=header(EC)), "bad_signature"),
    "empty signature": (TWO.rsplit(".", 1)[0] + ".", "bad_signature"),
    "signature truncated": (TWO[:-4], "bad_signature"),
    "signature of zeros": (TWO.rsplit(".", 1)[0] + "." + b64(bytes(64)), "bad_signature"),
    "signature too long": (TWO + "A" * 2000, "bad_signature"),
    "claims swapped": (TWO.split(".")[0] + "." + b64json(claims()) + "." + TWO.split(".")[2],
                       "bad_signature"),
    "header swapped": (b64json(header(kid="x")) + "." + TWO.split(".", 1)[1], "bad_signature"),
    "PS256 signature under RS256": (signed(RSA, hdr=header(RSA, "RS256"), alg="PS256"),
                                    "bad_signature"),
    "RS256 signature under PS256": (signed(RSA, hdr=header(RSA, "PS256"), alg="RS256"),
                                    "bad_signature"),
    # jti
    "no jti": (signed(body=claims(jti=DROP)), "missing_jti"),
    "empty jti": (signed(body=claims(jti="")), "missing_jti"),
    "null jti": (signed(body=claims(jti=None)), "missing_jti"),
    "jti a number": (signed(body=claims(jti=12345)), "bad_jti"),
    "jti a list": (signed(body=claims(jti=["a"])), "bad_jti"),
    "jti too long": (signed(body=claims(jti="j" * 257)), "bad_jti"),
    # htm
    "htm GET": (signed(body=claims(htm="GET")), "htm_mismatch"),
    "htm lower case": (signed(body=claims(htm="post")), "htm_mismatch"),
    "no htm": (signed(body=claims(htm=DROP)), "htm_mismatch"),
    "htm a list": (signed(body=claims(htm=["POST"])), "htm_mismatch"),
    # iat
    "no iat": (signed(body=claims(iat=DROP)), "bad_iat"),
    "iat a string": (signed(body=claims(iat=str(NOW))), "bad_iat"),
    "iat true": (signed(body=claims(iat=True)), "bad_iat"),
    "iat null": (signed(body=claims(iat=None)), "bad_iat"),
    "iat huge": (signed(body=claims(iat=10**400)), "iat_out_of_window"),
    "iat NaN": (signed(body=claims(iat=float("nan"))), "iat_out_of_window"),
    "iat Infinity": (signed(body=claims(iat=float("inf"))), "iat_out_of_window"),
    "iat -Infinity": (signed(body=claims(iat=float("-inf"))), "iat_out_of_window"),
    "iat stale": (signed(body=claims(iat=NOW - 120)), "iat_out_of_window"),
    "iat future": (signed(body=claims(iat=NOW + 60)), "iat_out_of_window"),
}


@pytest.mark.parametrize("proof, reason", list(REFUSALS.values()), ids=list(REFUSALS))
def test_refusals(proof, reason):
    replay = Replay()
    error = refusal(proof, replay_check=replay)
    assert (type(error), error.reason) == (DPoPProofError, reason)
    assert error.error == "invalid_dpop_proof" and error.status_code == 400
    assert replay.calls == []  # an invalid proof never reaches the replay store


def test_length_limit_edge():
    def padded(n):
        return signed(body=claims(jti="j", pad="x" * n))

    n = (MAX_PROOF_LENGTH - len(padded(0))) * 3 // 4
    while len(padded(n + 1)) <= MAX_PROOF_LENGTH:
        n += 1
    assert len(padded(n)) <= MAX_PROOF_LENGTH < len(padded(n + 1))
    assert verify(padded(n)).jti == "j"
    assert refusal(padded(n + 1)).reason == "malformed"


def test_ath():
    token = "an-access-token"
    good = signed(body=claims(ath=access_token_hash(token)))
    assert verify(good, access_token=token).jkt == EC.thumbprint()
    assert refusal(signed(), access_token=token).reason == "ath_missing"
    assert refusal(good, access_token="another-token").reason == "ath_mismatch"
    padded = access_token_hash(token) + "="
    assert refusal(signed(body=claims(ath=padded)), access_token=token).reason == "ath_mismatch"
    hexed = hashlib.sha256(token.encode()).hexdigest()
    assert refusal(signed(body=claims(ath=hexed)), access_token=token).reason == "ath_mismatch"
    assert refusal(signed(body=claims(ath=None)), access_token=token).reason == "ath_mismatch"
    assert verify(good).jkt  # no token presented (token endpoint): ath is not looked at


def test_nonce():
    assert verify(signed(body=claims(nonce="n-1")), nonce="n-1").jti
    for proof in (signed(), signed(body=claims(nonce="n-0")), signed(body=claims(nonce=None))):
        replay = Replay()
        error = refusal(proof, nonce="n-1", replay_check=replay)
        assert isinstance(error, UseDPoPNonceError) and error.reason == "nonce_mismatch"
        assert error.error == "use_dpop_nonce" and replay.calls == []
    assert verify(signed(body=claims(nonce="anything"))).jti  # no nonce demanded


def test_replay():
    replay = Replay()
    proof = signed(body=claims(jti="once"))
    assert verify(proof, replay_check=replay).jti == "once"
    error = refusal(proof, replay_check=replay)
    assert error.reason == "replayed" and type(error) is DPoPProofError
    # The jti is scoped to the key: another key may use the same string.
    assert verify(signed(EC_OTHER, body=claims(jti="once")), replay_check=replay).jti == "once"
    assert len(replay.seen) == 2


def test_invalid_proof_does_not_burn_its_jti():
    replay = Replay()
    for bad in (signed(body=claims(jti="keep", htm="GET")),
                signed(EC_OTHER, hdr=header(EC), body=claims(jti="keep")),
                signed(body=claims(jti="keep", iat=NOW - 999)),
                signed(body=claims(jti="keep"))):
        refusal(bad, replay_check=replay, access_token="t")  # the last one lacks ath
    assert replay.calls == [] and replay.seen == set()
    assert verify(signed(body=claims(jti="keep")), replay_check=replay).jti == "keep"


def test_replay_check_false_means_replayed():
    error = refusal(signed(), replay_check=lambda key, ttl: False)
    assert error.reason == "replayed"


# --- errors and the challenge -------------------------------------------------------------


def test_error_body_and_headers():
    error = DPoPProofError("htu_mismatch")
    body = dict(error.get_body())
    assert body == {"error": "invalid_dpop_proof", "reason": "htu_mismatch",
                    "error_description": "DPoP proof: htu is not the request URL."}
    status, payload, headers = error()
    assert (status, payload["reason"]) == (400, "htu_mismatch")
    assert ("Cache-Control", "no-store") in headers
    assert dict(DPoPProofError().get_body()) == {"error": "invalid_dpop_proof"}
    assert dict(DPoPProofError("x", "Custom.").get_body())["error_description"] == "Custom."
    nonce = dict(UseDPoPNonceError("nonce_mismatch").get_body())
    assert nonce["error"] == "use_dpop_nonce" and nonce["reason"] == "nonce_mismatch"


def test_www_authenticate():
    assert www_authenticate() == 'DPoP algs="ES256 ES384 RS256 PS256 EdDSA"'
    assert www_authenticate("invalid_dpop_proof") == (
        'DPoP algs="ES256 ES384 RS256 PS256 EdDSA", error="invalid_dpop_proof"')
    assert www_authenticate("invalid_dpop_proof", "iat too old", algs=("ES256",)) == (
        'DPoP algs="ES256", error="invalid_dpop_proof", error_description="iat too old"')
    hostile = www_authenticate('x", a="b', 'bad "x"\r\nSet-Cookie: s=1\\ é')
    assert hostile == ('DPoP algs="ES256 ES384 RS256 PS256 EdDSA", error="x, a=b", '
                       'error_description="bad xSet-Cookie: s=1 "')
    assert "\r" not in hostile and "\n" not in hostile
    assert tuple(www_authenticate().split('"')[1].split()) == ALGS


# --- htu normalisation --------------------------------------------------------------------


@pytest.mark.parametrize("url, normal", [
    ("https://id.vssid.example/token", "https://id.vssid.example/token"),
    ("HTTPS://ID.VssID.Example/token", "https://id.vssid.example/token"),
    ("https://id.vssid.example:443/token", "https://id.vssid.example/token"),
    ("https://id.vssid.example:0443/token", "https://id.vssid.example/token"),
    ("https://id.vssid.example:/token", "https://id.vssid.example/token"),
    ("http://id.vssid.example:80/token", "http://id.vssid.example/token"),
    ("https://id.vssid.example:80/token", "https://id.vssid.example:80/token"),
    ("http://id.vssid.example:443/token", "http://id.vssid.example:443/token"),
    ("https://id.vssid.example:8443/token", "https://id.vssid.example:8443/token"),
    ("https://id.vssid.example", "https://id.vssid.example/"),
    ("https://id.vssid.example?x=1", "https://id.vssid.example/"),
    ("https://id.vssid.example/token?x=1&y=2#frag", "https://id.vssid.example/token"),
    ("https://id.vssid.example/token#frag", "https://id.vssid.example/token"),
    ("https://user:pw@id.vssid.example/token", "https://id.vssid.example/token"),
    ("https://id.vssid.example/Token/", "https://id.vssid.example/Token/"),
    ("https://id.vssid.example/a/../token", "https://id.vssid.example/a/../token"),
    ("https://id.vssid.example//token", "https://id.vssid.example//token"),
    ("https://id.vssid.example/%7e%41%2f%e2%82%ac", "https://id.vssid.example/~A%2F%E2%82%AC"),
    ("https://id.vssid.example/bảo-hiểm", "https://id.vssid.example/b%E1%BA%A3o-hi%E1%BB%83m"),
    ("https://id.vssid.example/a;b=c:d@e", "https://id.vssid.example/a;b=c:d@e"),
    ("http://127.0.0.1:8000/token", "http://127.0.0.1:8000/token"),
    ("http://[::1]:8080/token", "http://[::1]:8080/token"),
    ("http://[::1]:80/token", "http://[::1]/token"),
    ("http://[2001:DB8::1]/x", "http://[2001:db8::1]/x"),
])
def test_normalize_htu(url, normal):
    assert normalize_htu(url) == normal
    assert normalize_htu(normal) == normal


@pytest.mark.parametrize("url", [
    "", "/token", "token", "id.vssid.example/token", "//id.vssid.example/token",
    "ftp://id.vssid.example/token", "javascript:alert(1)", "https://", "https:///token",
    "https://id.vssid.example:99999/token", "https://id.vssid.example:x/token",
    "http://[::1/token", "https://id.vssid.example/a b", "https://id.vssid.example/\ta",
    "https://id.vssid.example/a\n", " https://id.vssid.example/", "https://id.vssid.example/\x7f",
    "https://id.vssid.example/%zz", "https://id.vssid.example/%4", "https://id.vssid.example/%",
    None, 5, b"https://id.vssid.example/",
])
def test_normalize_htu_refuses(url):
    with pytest.raises(ValueError):
        normalize_htu(url)


def test_server_url_errors_are_the_callers():
    """A broken request URL is a server bug, not the client's proof: ValueError, not 400."""
    with pytest.raises(ValueError):
        verify(signed(), url="/token")


# --- properties ---------------------------------------------------------------------------

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
CLAIM_NAMES = st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce", "exp", "x"])
JWK_NAMES = st.sampled_from(["kty", "crv", "x", "y", "n", "e", "d", "k", "use", "kid"])
JWK_VALUES = JSON | st.sampled_from(["EC", "RSA", "OKP", "oct", "P-256", "P-384", "Ed25519",
                                     "Ed448", "X25519", "secp256k1", "AQAB", ""]) | st.text(
    alphabet=B64, max_size=90)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def only_dpop_errors(proof, **changes):
    try:
        return verify(proof, **changes)
    except DPoPProofError as error:
        assert error.reason and error.get_body()  # a description RFC 6749 accepts
        return None


@SETTINGS
@given(st.text(max_size=5000) | st.binary(max_size=100) | st.none() | st.integers())
def test_arbitrary_values_only_raise_dpop_errors(value):
    assert only_dpop_errors(value) is None


@SETTINGS
@given(st.lists(st.text(alphabet=B64, max_size=200), min_size=1, max_size=5))
def test_arbitrary_segments_only_raise_dpop_errors(segments):
    assert only_dpop_errors(".".join(segments)) is None


@SETTINGS
@given(JSON, JSON, st.binary(max_size=600))
def test_arbitrary_json_segments_only_raise_dpop_errors(hdr, body, signature):
    assert only_dpop_errors(unsigned(hdr, body, signature)) is None


@SETTINGS
@given(st.sampled_from([*ALGS, "none", "HS256", "ES512"]),
       st.dictionaries(JWK_NAMES, JWK_VALUES, max_size=6), st.binary(max_size=600))
def test_arbitrary_jwks_only_raise_dpop_errors(alg, jwk, signature):
    assert only_dpop_errors(unsigned(header(alg=alg, jwk=jwk), claims(), signature)) is None


@SETTINGS
@given(st.dictionaries(CLAIM_NAMES, JSON, max_size=8), st.sampled_from([None, "t"]),
       st.sampled_from([None, "n"]))
def test_arbitrary_signed_claims_only_raise_dpop_errors(body, token, nonce):
    """Past the signature the claims are the client's to choose: still only refusals."""
    result = only_dpop_errors(signed(body=body), access_token=token, nonce=nonce)
    if result is not None:
        assert (result.htm, result.htu, result.jti) == ("POST", URL, body["jti"])
        assert NOW - 65 <= body["iat"] <= NOW + 5


@SETTINGS
@given(st.sampled_from(["http", "https", "HTTP", "HtTpS"]),
       st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,12}){0,2}", fullmatch=True),
       st.none() | st.integers(0, 65535),
       st.lists(st.text(alphabet=B64 + "%~.:@!$&'()*+,;=é", max_size=8), max_size=4),
       st.text(alphabet=B64 + "=&#?", max_size=10))
def test_normalize_htu_is_idempotent(scheme, host, port, segments, tail):
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}/{'/'.join(segments)}?{tail}"
    try:
        normal = normalize_htu(url)
    except ValueError:
        return
    assert normalize_htu(normal) == normal
    assert "?" not in normal and "#" not in normal and normal == normal.strip()
    assert normal.startswith(scheme.lower() + "://" + host.lower())


@SETTINGS
@given(st.dictionaries(st.sampled_from(["crit", "kid", "x5c", "x5u", "jku", "x5t", "x5t#S256",
                                        "cty", "b64", "zip", "enc", "exp", "nonce"]),
                       JSON | st.lists(st.sampled_from(["b64", "exp", "kid"]), max_size=2),
                       max_size=4))
def test_arbitrary_header_members_only_raise_dpop_errors(extra):
    """Registered JOSE header members of any shape, on a proof that is otherwise valid."""
    result = only_dpop_errors(signed(hdr=dict(extra, **header())))
    if result is not None:
        assert result.jkt == EC.thumbprint()
