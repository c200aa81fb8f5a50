"""`python -m bench.health_card`: how big the health-card QR is, and how fast it is made.

Builds a gateway in this process on a temporary SQLite database (the embedded default) with
a production-length issuer, signs one app device in per card (a short and a long Vietnamese
name), and prints for each presentation its size in bytes (header, payload, signature) and
the QR code version segno needs in byte mode at error-correction levels L, M, Q and H
(boost off: the level asked is the level used). Then it times, through the WSGI test client,
POST /api/v1/health-card/presentation (DPoP proof made by the client each time) and POST
/api/v1/health-card/verify, against a bare ES256 signature of the same payload with
`cryptography`, and prints the ratios. Nothing is asserted; the load average is printed with
the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import tempfile
import time

import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

CARDS = [
    ("DN4010123456789", "Nguyễn Văn An", "1985-04-12"),
    ("HT2790123456780", "Tôn Nữ Thị Phương Thảo Nguyễn Hoàng", "1948-11-02"),
]
HEADER = "card_number,full_name,date_of_birth,valid_from,valid_to,facility_code,facility_name"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _setup(folder: str, issuer: str):
    from gateway import create_app
    from gateway.extensions import db
    from gateway.services.accounts import create_account
    from gateway.services.clients import create_client

    cards = os.path.join(folder, "cards.csv")
    with open(cards, "w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for number, name, born in CARDS:
            fh.write(f"{number},{name},{born},2026-01-01,2026-12-31,79005,Bệnh viện (bench)\n")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "ISSUER": issuer,
                      "HEALTH_CARD_FILE": cards, "LOG_LEVEL": "WARNING",
                      "SMS_OUTBOX": os.path.join(folder, "sms.jsonl"),
                      "EMAIL_OUTBOX": os.path.join(folder, "email.jsonl"),
                      "FILE_STORE_DIR": os.path.join(folder, "uploads")})
    password = "Mật-khẩu-đủ-dài-2026"
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        for i, (number, name, born) in enumerate(CARDS):
            create_account(bhxh=number[5:], name=name, dob=born, phone=f"091234562{i}",
                           password=password, level=2, via="bench")
        app_id = create_client(name="app", type="app",
                               redirect_uris=["http://127.0.0.1:9/cb"])[0].client_id
        verifier = create_client(name="hospital", type="service", scopes=["health_card"])
        verifier = (verifier[0].client_id, verifier[1])
        db.session.commit()
    return app, app_id, verifier, password


def _device(app, http, app_id, username, password):
    from gateway.oidc.dpop import create_proof

    key = ECKey.generate_key("P-256", private=True)
    issuer = app.config["ISSUER"]
    code_verifier = secrets.token_urlsafe(48)
    answer = http.post("/authorize-challenge", data={
        "client_id": app_id, "username": username, "password": password, "scope": "openid",
        "device_id": secrets.token_hex(6), "device_name": "bench",
        "code_challenge": _s256(code_verifier), "code_challenge_method": "S256"},
        headers={"DPoP": create_proof(key, method="POST", url=issuer + "/authorize-challenge")})
    token = http.post("/token", data={
        "grant_type": "authorization_code", "code": answer.json["authorization_code"],
        "code_verifier": code_verifier, "client_id": app_id},
        headers={"DPoP": create_proof(key, method="POST", url=issuer + "/token")})
    return key, token.json["access_token"]


def _present(app, http, key, access):
    from gateway.oidc.dpop import create_proof

    url = app.config["ISSUER"] + "/api/v1/health-card/presentation"
    answer = http.post("/api/v1/health-card/presentation", headers={
        "Authorization": f"DPoP {access}",
        "DPoP": create_proof(key, method="POST", url=url, access_token=access)})
    if answer.status_code != 200:
        raise SystemExit(f"bench: presentation: HTTP {answer.status_code} {answer.json}")
    return answer.json["presentation"]


def _rate(count: int, work) -> float:
    t0 = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", default="https://id.vssid.gov.vn",
                        help="the issuer in the tokens (its length counts)")
    parser.add_argument("--count", type=int, default=300, help="requests timed per figure")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        app, app_id, (verifier_id, secret), password = _setup(folder, args.issuer)
        http = app.test_client()
        print(f"issuer {args.issuer!r} ({len(args.issuer)} characters)")
        print(f"{'name':38} {'bytes':>5} {'header':>6} {'payload':>7} {'sig':>4}   "
              "QR version L / M / Q / H (modules at M)")
        devices = []
        for number, name, _ in CARDS:
            key, access = _device(app, http, app_id, number[5:], password)
            devices.append((key, access))
            value = _present(app, http, key, access)
            head, payload, signature = value.split(".")
            versions = [segno.make(value, error=level, boost_error=False).version
                        for level in "lmqh"]
            modules = 17 + 4 * versions[1]
            print(f"{name:38} {len(value):5} {len(head):6} {len(payload):7} {len(signature):4}"
                  f"   {' / '.join(str(v) for v in versions)} ({modules}×{modules})")

        key, access = devices[0]
        value = _present(app, http, key, access)
        signing_input = value.rsplit(".", 1)[0].encode()
        raw_key = ec.generate_private_key(ec.SECP256R1())
        auth = {"Authorization": "Basic " + base64.b64encode(
            f"{verifier_id}:{secret}".encode()).decode()}
        _rate(20, lambda: _present(app, http, key, access))  # warm up
        issue = _rate(args.count, lambda: _present(app, http, key, access))
        verify = _rate(args.count, lambda: http.post("/api/v1/health-card/verify",
                                                     data={"presentation": value},
                                                     headers=auth))
        sign = _rate(args.count * 10, lambda: raw_key.sign(signing_input,
                                                           ec.ECDSA(hashes.SHA256())))
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nload average {load}")
        print(f"presentations issued  {issue:8.0f}/s   (DPoP-checked request, one process)")
        print(f"online verifications  {verify:8.0f}/s")
        print(f"bare ES256 signatures {sign:8.0f}/s   (cryptography, the same signing input)")
        print(f"ratio issued / bare signature   {issue / sign:.3f}")
        print(f"ratio verified / bare signature {verify / sign:.3f}")
        header = base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
        print(f"header {header}")


if __name__ == "__main__":
    main()
