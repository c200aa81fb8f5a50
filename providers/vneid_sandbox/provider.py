"""The sandbox OpenID provider's state and rules: keys, registered clients, interactions,
codes, access tokens. The HTTP surface is providers.vneid_sandbox.views.

It is a development tool, not a product: everything lives in this process's memory (the
development server is one process; a restart forgets codes and keys, and the gateway fetches
the new JWKS on the unknown kid). What it does, it does the way an upstream must: codes live
60 s and are used once (a second use revokes the tokens of the first, RFC 6749 §4.1.2), PKCE
S256 is required, the client authenticates (client_secret_basic, client_secret_post or
private_key_jwt), and the redirect back carries ``iss`` (RFC 9207).

Over 250 lines: an OP's endpoints share its state under one lock (interactions become
codes, codes become tokens, a replayed code revokes its tokens); apart, each would have to
know the others' dictionaries.

Tests make a misbehaving upstream by subclassing SandboxProvider and overriding one of the
methods marked *overridable* (the ID token's claims or signature, the callback's parameters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from providers.vneid_sandbox.citizens import Citizen

CODE_TTL = 60
TOKEN_TTL = 300
ID_TOKEN_TTL = 300
INTERACTION_TTL = 600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SandboxError(Exception):
    """An OAuth error answer: ``error`` (RFC code), ``status``; ``redirect`` when it goes back
    to a verified redirect URI rather than on a page."""

    def __init__(self, error: str, description: str = "", *, status: int = 400,
                 redirect: str | None = None) -> None:
        super().__init__(description or error)
        self.error, self.description, self.status, self.redirect = (
            error, description, status, redirect)


@dataclass(frozen=True)
class SandboxClient:
    client_id: str
    redirect_uris: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)
    public_jwk: dict | None = None  # private_key_jwt: the client's public key


@dataclass
class Interaction:
    """A validated authorization request waiting for the person to choose a citizen."""

    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    code_challenge: str
    scope: str
    browser: str  # SHA-256 of the cookie that started it
    expires_at: int


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _with_params(uri: str, params: dict) -> str:
    params = {k: v for k, v in params.items() if v is not None}
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


class SandboxProvider:
    def __init__(self, issuer: str, clients, *, clock, citizens, signing_alg: str = "ES256"):
        self.issuer = issuer.rstrip("/")
        self.clients = {c.client_id: c for c in clients}
        self.citizens = {c.tech_id: c for c in citizens}
        self.signing_alg = signing_alg
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict | None = None
        self._interactions: dict[str, Interaction] = {}
        self._codes: dict[str, dict] = {}
        self._used_codes: dict[str, tuple[list[str], int]] = {}
        self._tokens: dict[str, tuple[str, int, str]] = {}
        self._assertions: dict[str, int] = {}

    # --- keys and metadata ----------------------------------------------------------------
    def now(self) -> int:
        return int(self._clock.timestamp())

    def keys(self) -> dict:
        """Made when first needed (an RSA key takes a moment; most apps never sign in)."""
        with self._lock:
            if self._keys is None:
                suffix = secrets.token_hex(4)
                self._keys = {
                    "ES256": ECKey.generate_key("P-256", private=True,
                                                parameters={"kid": f"sbx-es256-{suffix}"}),
                    "RS256": RSAKey.generate_key(2048, private=True,
                                                 parameters={"kid": f"sbx-rs256-{suffix}"}),
                }
            return self._keys

    def jwks(self) -> dict:
        return {"keys": [key.as_dict(private=False) | {"kid": key.kid, "alg": alg, "use": "sig"}
                         for alg, key in self.keys().items()]}

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/{name}"

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "jwks_uri": self.endpoint("jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.signing_alg],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid"],
            "acr_values_supported": ["LoA1", "LoA2"],
            "claims_supported": ["sub", "TechID", "SoDinhDanh", "HoVaTen", "NgayThangNamSinh",
                                 "GioiTinh", "SoDienThoai", "LoaiTaiKhoan", "loAs"],
            "authorization_response_iss_parameter_supported": True,
        }

    # --- the authorization request ----------------------------------------------------------
    def begin(self, params, *, browser: str) -> tuple[str, Interaction]:
        """Validates an authorization request; (ticket, interaction) for the page. Errors
        before the redirect URI is known are SandboxError without ``redirect``."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise SandboxError("invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise SandboxError("invalid_request", "redirect_uri is not registered")
        state = params.get("state")

        def refuse(error, description):
            return SandboxError(error, description, redirect=self.callback_url(
                redirect_uri, {"error": error, "error_description": description,
                               "state": state}))

        if params.get("response_type") != "code":
            raise refuse("unsupported_response_type", "only code")
        if "openid" not in params.get("scope", "").split():
            raise refuse("invalid_scope", "openid is required")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            raise refuse("invalid_request", "PKCE with S256 is required")
        ticket = secrets.token_urlsafe(24)
        interaction = Interaction(client.client_id, redirect_uri, state, params.get("nonce"),
                                  challenge, params.get("scope", ""), browser,
                                  self.now() + INTERACTION_TTL)
        with self._lock:
            self._forget_expired()
            self._interactions[ticket] = interaction
        return ticket, interaction

    def _take_interaction(self, ticket: str, browser: str) -> Interaction:
        with self._lock:
            interaction = self._interactions.pop(ticket, None)
        if (interaction is None or interaction.expires_at <= self.now()
                or not hmac.compare_digest(interaction.browser, browser)):
            raise SandboxError("invalid_request", "this sign-in expired: start again")
        return interaction

    def choose(self, ticket: str, tech_id: str, *, browser: str) -> str:
        """The person chose a citizen: the redirect back with a code."""
        interaction = self._take_interaction(ticket, browser)
        citizen = self.citizens.get(tech_id)
        if citizen is None:
            raise SandboxError("invalid_request", "no such citizen")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = {"interaction": interaction, "citizen": citizen,
                                 "auth_time": self.now(), "expires_at": self.now() + CODE_TTL}
        return self.callback_url(interaction.redirect_uri,
                                 {"code": code, "state": interaction.state})

    def cancel(self, ticket: str, *, browser: str) -> str:
        interaction = self._take_interaction(ticket, browser)
        return self.callback_url(interaction.redirect_uri, {
            "error": "access_denied", "error_description": "the person cancelled",
            "state": interaction.state})

    def callback_url(self, redirect_uri: str, params: dict) -> str:
        """*Overridable*: the redirect back (RFC 9207: with our ``iss``)."""
        return _with_params(redirect_uri, {**params, "iss": self.issuer})

    # --- the token endpoint -----------------------------------------------------------------
    def token(self, form, authorization: str | None) -> dict:
        """The token response for a code, or SandboxError."""
        client = self._authenticate(form, authorization)
        if form.get("grant_type") != "authorization_code":
            raise SandboxError("unsupported_grant_type")
        code = form.get("code", "")
        with self._lock:
            entry = self._codes.pop(code, None)
            replayed = self._used_codes.pop(code, None) if entry is None else None
        if replayed is not None:
            with self._lock:  # RFC 6749 §4.1.2: what the code gave is revoked
                for token in replayed[0]:
                    self._tokens.pop(token, None)
        if entry is None or entry["expires_at"] <= self.now():
            raise SandboxError("invalid_grant", "unknown, expired or used code")
        interaction: Interaction = entry["interaction"]
        if interaction.client_id != client.client_id:
            raise SandboxError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != interaction.redirect_uri:
            raise SandboxError("invalid_grant", "redirect_uri differs")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
                s256(verifier), interaction.code_challenge):
            raise SandboxError("invalid_grant", "PKCE verification failed")
        citizen: Citizen = entry["citizen"]
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = (citizen.tech_id, self.now() + TOKEN_TTL,
                                          client.client_id)
            self._used_codes[code] = ([access_token], self.now() + TOKEN_TTL)
        claims = self.id_token_claims(citizen, client.client_id, interaction.nonce,
                                      entry["auth_time"])
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL,
                "scope": interaction.scope, "id_token": self.sign_id_token(claims)}

    def subject(self, citizen: Citizen, client_id: str) -> str:
        """``sub``: pairwise per client, unlike TechID (the portal's stable id)."""
        return hashlib.sha256(f"{client_id}:{citizen.tech_id}".encode()).hexdigest()[:32]

    def id_token_claims(self, citizen: Citizen, client_id: str, nonce: str | None,
                        auth_time: int) -> dict:
        """*Overridable*. ``acr`` is "1" whatever the person's level, as Keycloak-style
        upstreams send it: the level is in ``loAs`` only."""
        now = self.now()
        claims = {"iss": self.issuer, "sub": self.subject(citizen, client_id), "aud": client_id,
                  "azp": client_id, "iat": now, "exp": now + ID_TOKEN_TTL,
                  "auth_time": auth_time, "acr": "1", "amr": ["pwd"],
                  **citizen.id_token_claims()}
        if nonce is not None:
            claims["nonce"] = nonce
        return claims

    def sign_id_token(self, claims: dict, header: dict | None = None) -> str:
        """*Overridable*: signs with the sandbox's key for ``signing_alg``."""
        key = self.keys()[self.signing_alg]
        head = {"alg": self.signing_alg, "kid": key.kid, **(header or {})}
        return jwt.encode(head, claims, key, algorithms=[head["alg"]])

    def _authenticate(self, form, authorization: str | None) -> SandboxClient:
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            return self._assertion_client(form.get("client_assertion", ""))
        client_id, secret = None, None
        if authorization and authorization.startswith("Basic "):
            try:
                raw = base64.b64decode(authorization[6:], validate=True).decode()
                client_id, _, secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = None
        elif "client_secret" in form:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        client = self.clients.get(client_id or "")
        if client is None or not client.secret or not hmac.compare_digest(
                (secret or "").encode(), client.secret.encode()):
            raise SandboxError("invalid_client", status=401)
        return client

    def _assertion_client(self, assertion: str) -> SandboxClient:
        try:  # who it claims to be, to find the key that must have signed it
            claimed = json.loads(jws.extract_compact(assertion.encode()).payload)
            client_id = claimed.get("iss") if isinstance(claimed, dict) else None
        except (ValueError, JoseError):
            client_id = None
        client = self.clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or client.public_jwk is None:
            raise SandboxError("invalid_client", status=401)
        try:
            claims = jwt.decode(assertion, JWKRegistry.import_key(client.public_jwk),
                                algorithms=["ES256", "RS256"]).claims
        except (ValueError, JoseError):
            raise SandboxError("invalid_client", status=401) from None
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [
            claims.get("aud")]
        now, jti = self.now(), claims.get("jti")
        if (claims.get("sub") != client.client_id
                or not {self.endpoint("token"), self.issuer} & set(audiences)
                or not isinstance(claims.get("exp"), int) or claims["exp"] <= now
                or not isinstance(jti, str)):
            raise SandboxError("invalid_client", status=401)
        with self._lock:
            if jti in self._assertions:
                raise SandboxError("invalid_client", "assertion replayed", status=401)
            self._assertions[jti] = claims["exp"]
        return client

    # --- userinfo -----------------------------------------------------------------------------
    def userinfo(self, access_token: str | None) -> dict:
        with self._lock:
            entry = self._tokens.get(access_token or "")
        if entry is None or entry[1] <= self.now():
            raise SandboxError("invalid_token", status=401)
        citizen = self.citizens[entry[0]]
        return {"sub": self.subject(citizen, entry[2]), **citizen.claims()}

    def _forget_expired(self) -> None:
        now = self.now()
        for key in [k for k, v in self._interactions.items() if v.expires_at <= now]:
            del self._interactions[key]
        for key in [k for k, v in self._used_codes.items() if v[1] <= now]:
            del self._used_codes[key]
        for key in [k for k, v in self._codes.items() if v["expires_at"] <= now]:
            del self._codes[key]
        for key in [k for k, v in self._tokens.items() if v[1] <= now]:
            del self._tokens[key]
        for key in [k for k, v in self._assertions.items() if v <= now]:
            del self._assertions[key]
