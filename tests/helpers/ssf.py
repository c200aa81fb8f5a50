"""A Shared Signals receiver on loopback (RFC 8935 push endpoint) that checks every Security
Event Token the way a relying service would: with PyJWT, the signing key fetched from the
gateway's JWKS by `jwt.PyJWKClient`, `typ`, `iss`, `aud`, the signature, one event, `sub_id`.

A SET that fails a check is answered 400 `{"err": …}` (RFC 8935 §2.3) and recorded in
`errors`; the tests assert there are none. What it answers can be scripted (`answers`: a 503,
a 400 invalid_key) to exercise the gateway's retries.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

TYP = "secevent+jwt"


class SetReceiver:
    def __init__(self, *, issuer: str, audience: str, authorization: str | None = None):
        self.issuer = issuer
        self.audience = audience
        self.authorization = authorization  # the header the stream asked the gateway to send
        self.jwks = jwt.PyJWKClient(f"{issuer}/jwks.json", cache_keys=True)
        self.sets: list[dict] = []  # every accepted delivery: claims (duplicates included)
        self.attempts: list[str] = []  # the jti of every verified SET, answered or refused
        self.errors: list[str] = []
        self.answers: deque[tuple[int, dict | None]] = deque()  # scripted replies, in order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                status, answer = receiver.receive(self.headers, body)
                payload = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    # --- what a relying service checks ----------------------------------------------------

    def verify(self, headers, token: str) -> dict:
        if headers.get("Content-Type") != "application/secevent+jwt":
            raise ValueError(f"content type {headers.get('Content-Type')!r}")
        if self.authorization and headers.get("Authorization") != self.authorization:
            raise PermissionError("authorization header")
        header = jwt.get_unverified_header(token)
        if header.get("typ") != TYP or header.get("alg") != "ES256":
            raise ValueError(f"header {header}")
        key = self.jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=["ES256"], audience=self.audience,
                            issuer=self.issuer,
                            options={"require": ["iss", "aud", "iat", "jti"]})
        events = claims.get("events")
        if not isinstance(events, dict) or len(events) != 1:
            raise ValueError(f"events {events}")
        sub_id = claims.get("sub_id") or {}
        if sub_id.get("format") == "iss_sub":
            if sub_id.get("iss") != self.issuer or not sub_id.get("sub"):
                raise ValueError(f"sub_id {sub_id}")
        elif sub_id.get("format") != "opaque":
            raise ValueError(f"sub_id {sub_id}")
        return claims

    def receive(self, headers, token: str) -> tuple[int, dict | None]:
        with self.lock:
            try:
                claims = self.verify(headers, token)
            except PermissionError as exc:
                self.errors.append(str(exc))
                return 400, {"err": "authentication_failed", "description": str(exc)}
            except Exception as exc:  # noqa: BLE001 — every refusal is recorded
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return 400, {"err": "invalid_request", "description": str(exc)}
            self.attempts.append(claims["jti"])
            if self.answers:
                status, answer = self.answers.popleft()
                if status >= 300:
                    return status, answer
            self.sets.append(claims)
            return 202, None

    # --- what the tests read ----------------------------------------------------------------

    def events(self) -> list[tuple[str, dict, dict]]:
        """(event type, its fields, sub_id) of each distinct SET (by jti), in arrival order."""
        seen, out = set(), []
        for claims in self.sets:
            if claims["jti"] in seen:
                continue
            seen.add(claims["jti"])
            [(uri, fields)] = claims["events"].items()
            out.append((uri, fields, claims["sub_id"]))
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()
