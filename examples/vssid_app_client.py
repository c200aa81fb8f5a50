"""Reference client for the VssID app's native sign-in (one active device per account).

An example for app developers, and what the test suite drives: the Authorization Challenge
Endpoint (draft-ietf-oauth-first-party-apps-04) with PKCE, then DPoP-bound tokens (RFC 9449)
from /token, refreshed with proofs by the same device key.

    client = AppClient("https://id.vssid.example.vn", "vssid-app", device_id="…",
                       device_name="Điện thoại của An")
    try:
        tokens = client.sign_in("0123456789", "mật khẩu")
    except Challenge as c:
        if c.reason == "device_conflict":      # warn: "signed in on <c.body['active_device']>"
            client.confirm_takeover(c.auth_session)   # raises Challenge(reason="otp_required")
        ...
        tokens = client.submit_otp(c.auth_session, "123456")

The device key is the DPoP key: keep it in the platform keystore; a copy of the tokens on
another device is useless without it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc.jwk import ECKey

from gateway.oidc.dpop import create_proof


class Challenge(Exception):  # noqa: N818 (a protocol answer, not a failure)
    """The endpoint wants more (or refused): `error`, `reason`, `auth_session`, `body`."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"{body.get('error')}: {body.get('reason')}")
        self.status = status
        self.body = body
        self.error = body.get("error")
        self.reason = body.get("reason")
        self.auth_session = body.get("auth_session")


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    token_type: str
    expires_in: int


class AppClient:
    def __init__(self, issuer: str, client_id: str, *, device_id: str, device_name: str,
                 key: ECKey | None = None, http: requests.Session | None = None):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.device_id = device_id
        self.device_name = device_name
        self.key = key or ECKey.generate_key("P-256", private=True)
        self.http = http or requests.Session()
        self.http.trust_env = False  # loopback in tests; a real app pins its TLS instead
        self.tokens: Tokens | None = None
        self._verifier: str | None = None

    # --- the challenge endpoint -------------------------------------------------------------
    def sign_in(self, username: str, password: str,
                scope: str = "openid profile phone offline_access") -> Tokens:
        self._verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self._verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return self._challenge({
            "username": username, "password": password, "device_id": self.device_id,
            "device_name": self.device_name, "scope": scope,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })

    def confirm_takeover(self, auth_session: str) -> Tokens:
        return self._challenge({"auth_session": auth_session, "takeover": "confirm"})

    def submit_otp(self, auth_session: str, otp: str) -> Tokens:
        return self._challenge({"auth_session": auth_session, "otp": otp})

    def set_new_password(self, auth_session: str, new_password: str) -> Tokens:
        return self._challenge({"auth_session": auth_session, "new_password": new_password})

    def _challenge(self, fields: dict) -> Tokens:
        url = f"{self.issuer}/authorize-challenge"
        response = self.http.post(url, data={"client_id": self.client_id, **fields},
                                  headers={"DPoP": self.proof("POST", url)}, timeout=10)
        body = response.json()
        if response.status_code != 200:
            raise Challenge(response.status_code, body)
        return self._exchange(body["authorization_code"])

    # --- VNeID in the system browser (RFC 8252) ----------------------------------------------
    def vneid_authorization_url(self, redirect_uri: str,
                                scope: str = "openid profile phone offline_access") -> str:
        """Where to open the system browser to sign in with VNeID. The code that comes back is
        bound to this device's key (``dpop_jkt``, RFC 9449 §10); the gateway applies the
        one-device rule on its own pages (a warning, an SMS code) before answering."""
        self._verifier = secrets.token_urlsafe(48)
        self._state = secrets.token_urlsafe(16)
        self._redirect_uri = redirect_uri
        digest = hashlib.sha256(self._verifier.encode()).digest()
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": redirect_uri, "scope": scope, "state": self._state,
                  "nonce": secrets.token_urlsafe(16),
                  "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                  "code_challenge_method": "S256", "idp": "vneid",
                  "dpop_jkt": self.key.thumbprint(), "device_id": self.device_id,
                  "device_name": self.device_name}
        return f"{self.issuer}/authorize?{urlencode(params)}"

    def finish_vneid(self, redirected_to: str) -> Tokens:
        """The app's redirect URI was opened with the answer: check it, redeem the code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirected_to).query).items()}
        if query.get("state") != self._state or query.get("iss") != self.issuer:
            raise Challenge(400, {"error": "invalid_response", "reason": "state_or_iss"})
        if "code" not in query:
            raise Challenge(400, {"error": query.get("error", "invalid_response"),
                                  "reason": query.get("error_description")})
        return self._token({"grant_type": "authorization_code", "code": query["code"],
                            "code_verifier": self._verifier,
                            "redirect_uri": self._redirect_uri})

    # --- tokens -----------------------------------------------------------------------------
    def _exchange(self, code: str) -> Tokens:
        return self._token({"grant_type": "authorization_code", "code": code,
                            "code_verifier": self._verifier})

    def refresh(self) -> Tokens:
        return self._token({"grant_type": "refresh_token",
                            "refresh_token": self.tokens.refresh_token})

    def _token(self, fields: dict) -> Tokens:
        url = f"{self.issuer}/token"
        response = self.http.post(url, data={"client_id": self.client_id, **fields},
                                  headers={"DPoP": self.proof("POST", url)}, timeout=10)
        body = response.json()
        if response.status_code != 200:
            raise Challenge(response.status_code, body)
        self.tokens = Tokens(body["access_token"], body.get("refresh_token"),
                             body.get("id_token"), body["token_type"], body["expires_in"])
        return self.tokens

    def userinfo(self) -> requests.Response:
        url = f"{self.issuer}/userinfo"
        token = self.tokens.access_token
        return self.http.get(url, timeout=10, headers={
            "Authorization": f"DPoP {token}",
            "DPoP": self.proof("GET", url, access_token=token)})

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        return create_proof(self.key, method=method, url=url, access_token=access_token)
