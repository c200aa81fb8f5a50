"""How much a relying service pays for PyJWT over the bare signature check of our tokens.

    python -m bench.verify_tokens                 # 5 rounds of 1 s per way, one thread
    python -m bench.verify_tokens --rounds 10 --seconds 2

A gateway on the embedded backend (SQLite in a temporary directory) is served on loopback; a
service client gets one real access token (client_credentials, ES256, RFC 9068) from
/token, and PyJWKClient fetches the JWKS from /jwks.json once (the cache is warm from then
on). Then, in one thread, interleaved round by round so a change in the machine's load hits
every way alike, verifications per second of the same token:

  raw            cryptography alone: split the token, base64url-decode the signature,
                 DER-encode r||s (utils.encode_dss_signature), ECDSA P-256 SHA-256 verify of
                 the signing input with the public key (parsed once)
  pyjwt          what docs/relying-services.md does: PyJWKClient.get_signing_key_from_jwt
                 (warm cache) + jwt.decode with algorithms, audience, issuer, required claims
  pyjwt-reused   the tuned use: the PyJWK objects kept in a dict by kid, the kid read from
                 the header with one base64url decode and json.loads (no PyJWKClient call,
                 which parses and checks the whole token once more), same jwt.decode checks
  crypto-only    the ECDSA verify alone, signature already DER (the floor of everything)
  alphabet-scan  not a verification: PyJWT's per-character base64url alphabet check of the
                 token, alone — the hot spot the profile shows (bench/README.md)

Printed: each rate, the ratios against raw (goal for pyjwt: >= 0.8x), and the load average
before and after (the machine is shared: read the ratios, not the rates).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import threading
import time

DESCRIPTION = __doc__.split("\n\n")[0]


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def issue_token(backend_settings: dict) -> tuple[str, str, object]:
    """Serve a gateway, take one access token from /token; (token, issuer, server)."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from gateway import create_app
    from gateway.extensions import db
    from gateway.oidc.keys import ensure_signing_key
    from gateway.services.clients import create_client

    server = make_server("127.0.0.1", 0, None, threaded=True)
    issuer = f"http://127.0.0.1:{server.server_port}"
    app = create_app({**backend_settings, "ISSUER": issuer, "SIGNING_ALG": "ES256"})
    server.app = app
    with app.app_context():
        upgrade()
        ensure_signing_key()
        client, secret = create_client(name="bench service", type="service",
                                       redirect_uris=(), resources=(issuer,))
        db.session.commit()
        client_id = client.client_id
    threading.Thread(target=server.serve_forever, daemon=True).start()
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = app.test_client().post("/token", data={"grant_type": "client_credentials"},
                                      headers={"Authorization": f"Basic {auth}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"], issuer, server


def ways(token: str, issuer: str) -> dict:
    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    client = jwt.PyJWKClient(f"{issuer}/jwks.json", lifespan=3600)
    pyjwk = client.get_signing_key_from_jwt(token)  # the fetch: the cache is warm after this
    public = pyjwk.key
    require = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]
    algorithm = ec.ECDSA(hashes.SHA256())
    head, payload, sig = token.split(".")
    signing_input = f"{head}.{payload}".encode()
    raw_sig = _b64decode(sig)
    der = utils.encode_dss_signature(int.from_bytes(raw_sig[:32], "big"),
                                     int.from_bytes(raw_sig[32:], "big"))

    def raw():
        signed, _, s = token.rpartition(".")
        rs = _b64decode(s)
        signature = utils.encode_dss_signature(int.from_bytes(rs[:32], "big"),
                                               int.from_bytes(rs[32:], "big"))
        public.verify(signature, signed.encode(), algorithm)

    def pyjwt():
        key = client.get_signing_key_from_jwt(token)
        jwt.decode(token, key, algorithms=["ES256"], audience=issuer, issuer=issuer,
                   options={"require": require})

    by_kid = {k.key_id: k for k in client.get_signing_keys()}

    def pyjwt_reused():
        kid = json.loads(_b64decode(token.partition(".")[0]))["kid"]
        jwt.decode(token, by_kid[kid], algorithms=["ES256"], audience=issuer, issuer=issuer,
                   options={"require": require})

    def crypto_only():
        public.verify(der, signing_input, algorithm)

    from jwt.api_jws import _BASE64URL_ALPHABET  # the profile's hot spot (see bench/README)

    segments = [part.encode() for part in token.split(".")]

    def alphabet_scan():
        """PyJWT 2.15's check of every character of every segment (GHSA-hxm8-2xgr-2p9m), a
        Python generator per byte: jwt.decode runs it once per token, PyJWKClient once more."""
        for segment in segments:
            any(c not in _BASE64URL_ALPHABET for c in segment)

    for way in (raw, pyjwt, pyjwt_reused, crypto_only):
        way()  # each way accepts the token before it is timed
    return {"raw": raw, "pyjwt": pyjwt, "pyjwt-reused": pyjwt_reused,
            "crypto-only": crypto_only, "alphabet-scan": alphabet_scan}


def measure(fn, seconds: float) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count, now - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verify_tokens",
                                     description=DESCRIPTION)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per way per round")
    args = parser.parse_args(argv)

    from bench.server import backend

    with backend("embedded") as chosen:
        token, issuer, server = issue_token(chosen.settings)
        try:
            candidates = ways(token, issuer)
            load_before = os.getloadavg()
            totals = {name: [0, 0.0] for name in candidates}
            for _ in range(args.rounds):
                for name, fn in candidates.items():
                    count, elapsed = measure(fn, args.seconds)
                    totals[name][0] += count
                    totals[name][1] += elapsed
            load_after = os.getloadavg()
        finally:
            server.shutdown()

    rates = {name: count / elapsed for name, (count, elapsed) in totals.items()}
    print(f"token: {len(token)} bytes, ES256, one thread, {args.rounds} rounds x "
          f"{args.seconds:g} s per way, interleaved")
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f} (cores: {os.cpu_count()})")
    print(f"{'way':<14}{'verifications/s':>16}{'x raw':>8}{'us each':>10}")
    for name, rate in rates.items():
        print(f"{name:<14}{rate:>16,.0f}{rate / rates['raw']:>8.2f}{1e6 / rate:>10.1f}")
    ratio = rates["pyjwt"] / rates["raw"]
    print(f"PyJWT + warm PyJWKClient vs raw cryptography: {ratio:.2f}x "
          f"(goal >= 0.8x: {'met' if ratio >= 0.8 else 'missed'}); "
          f"PyJWK reused: {rates['pyjwt-reused'] / rates['raw']:.2f}x")


if __name__ == "__main__":
    main()
