"""VNeID, the national eID, as the gateway's upstream OpenID provider (issue 10).

The code flow of OpenID Connect on Authlib's client (``OAuth2Session``), never hand-written
OAuth: discovery (cached DISCOVERY_TTL), the authorization URL with PKCE S256, ``state``,
``nonce`` and ``acr_values`` when configured; the code exchange with ``client_secret_basic``
or ``private_key_jwt`` (RFC 7523); the ID token fully checked (providers.vneid_jose); userinfo
when the ID token lacks a mapped claim; RFC 9207's ``iss`` on the callback checked when sent,
and required when the upstream's metadata promises it (mix-up defence, RFC 9207 §2.4).

What comes out is one normalised value, ``policies.linking.VneidIdentity``: the claim names
are configuration (providers.vneid_claims), the level is read only from the explicit level
claim compared with ``GATEWAY_VNEID_LEVEL2_VALUES`` — never from ``acr``, which Keycloak-style
upstreams set to "1" whatever the account.

Nothing here writes anything: a network failure (VneidError ``upstream_unreachable``) leaves
nothing half done, and the caller shows a page and keeps its own records as they were.
Time is injected (an object with ``timestamp()``, the gateway's clock); nothing of the
gateway is imported.

Over 250 lines: one round trip (discovery, the request, the callback, the exchange,
userinfo) and the normalising of what it returns; the JOSE checks and the claim mapping
already live beside it (vneid_jose, vneid_claims).

Exceptions::

    VneidError   ``reason``: a stable code (upstream_unreachable, upstream_error, token_error,
                 callback_iss_mismatch, id_token_signature, ...); ``upstream_error``: the
                 upstream's own error code when it sent one (access_denied, ...)
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT

from policies.identifiers import IdentifierError, parse_phone
from policies.linking import VneidIdentity, parse_claim_date, parse_claim_level, parse_claim_sex
from providers.vneid_claims import missing_from, parse_claim_map, read_fields
from providers.vneid_jose import IdTokenError, UpstreamKeys, load_private_key, verify_id_token

DISCOVERY_TTL = 3600  # seconds the upstream's metadata is used before it is read again
ASSERTION_LIFETIME = 60  # seconds a private_key_jwt client assertion is valid
MAX_CODE_LENGTH = 2048
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_CCCD = re.compile(r"[0-9]{12}")
MAX_NAME = 200


class VneidError(Exception):
    """Signing in with VNeID did not work; ``reason`` says where (stable code)."""

    def __init__(self, reason: str, *, upstream_error: str | None = None) -> None:
        super().__init__(reason if upstream_error is None else f"{reason}: {upstream_error}")
        self.reason = reason
        self.upstream_error = upstream_error

    @property
    def retryable(self) -> bool:
        """A try a moment later may work (the upstream was unreachable), as opposed to a
        refusal that will happen again."""
        return self.reason == "upstream_unreachable"


@dataclass(frozen=True)
class VneidConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    private_key_file: str
    scope: str
    acr_values: str
    claims: Mapping[str, str]
    level2_values: tuple[str, ...]
    redirect_uri: str
    timeout: int
    skew: int

    @classmethod
    def from_settings(cls, settings: Mapping) -> VneidConfig:
        return cls(
            issuer=settings["VNEID_ISSUER"], client_id=settings["VNEID_CLIENT_ID"],
            client_secret=settings["VNEID_CLIENT_SECRET"],
            private_key_file=settings["VNEID_PRIVATE_KEY_FILE"],
            scope=settings["VNEID_SCOPE"], acr_values=settings["VNEID_ACR_VALUES"].strip(),
            claims=parse_claim_map(settings["VNEID_CLAIMS"]),
            level2_values=tuple(v.strip() for v in settings["VNEID_LEVEL2_VALUES"].split(",")
                                if v.strip()),
            redirect_uri=settings["ISSUER"] + "/vneid/callback",
            timeout=settings["VNEID_TIMEOUT"], skew=settings["VNEID_CLOCK_SKEW"])


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what the callback must be checked against."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class VneidClient:
    """One per app: holds the cached metadata and keys; every call is thread-safe."""

    def __init__(self, config: VneidConfig, *, clock) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._metadata_at = 0
        self._private_key = (load_private_key(config.private_key_file)
                             if config.private_key_file else None)
        self.keys = UpstreamKeys(self._fetch_jwks, self._now)

    def _now(self) -> int:
        return int(self._clock.timestamp())

    # --- reading from the upstream ----------------------------------------------------------
    def _get_json(self, url: str, **kwargs) -> dict:
        """GET a JSON object; VneidError upstream_unreachable for anything else (a network
        failure, a timeout, a redirect, an error status, a body that is not a JSON object)."""
        with OAuth2Session(client_id=self.config.client_id) as session:
            try:
                response = session.get(url, timeout=self.config.timeout,
                                       allow_redirects=False, withhold_token=True, **kwargs)
                response.raise_for_status()
                if response.status_code != 200:
                    raise VneidError("upstream_unreachable")
                document = response.json()
            except (requests.RequestException, ValueError):
                raise VneidError("upstream_unreachable") from None
        if not isinstance(document, dict):
            raise VneidError("upstream_unreachable")
        return document

    def metadata(self) -> dict:
        """The upstream's OpenID configuration, read again every DISCOVERY_TTL seconds. Its
        ``issuer`` must be exactly the configured one (OIDC Discovery §4.3)."""
        with self._lock:
            if self._metadata is not None and self._now() - self._metadata_at < DISCOVERY_TTL:
                return self._metadata
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url)
        if document.get("issuer") != self.config.issuer:
            raise VneidError("discovery_issuer_mismatch")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str) or not document[name].startswith(
                    ("https://", "http://")):
                raise VneidError("discovery_incomplete")
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise VneidError("discovery_no_pkce")
        with self._lock:
            self._metadata, self._metadata_at = document, self._now()
        return document

    def _fetch_jwks(self) -> dict:
        return self._get_json(self.metadata()["jwks_uri"])

    # --- the authorization request ----------------------------------------------------------
    def authorization_request(self, *, state: str) -> AuthorizationRequest:
        """The upstream's authorization URL for a new sign-in whose ``state`` is the caller's
        (the flow record's id); a fresh nonce and PKCE verifier to keep with it."""
        endpoint = self.metadata()["authorization_endpoint"]
        nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        extra = {"nonce": nonce}
        if self.config.acr_values:
            extra["acr_values"] = self.config.acr_values
        with OAuth2Session(client_id=self.config.client_id, scope=self.config.scope,
                      redirect_uri=self.config.redirect_uri,
                      code_challenge_method="S256") as session:
            url, _ = session.create_authorization_url(endpoint, state=state,
                                                      code_verifier=verifier, **extra)
        return AuthorizationRequest(url, state, nonce, verifier)

    # --- the callback -----------------------------------------------------------------------
    def identity_from_callback(self, params: Mapping[str, str], *, state: str, nonce: str,
                               code_verifier: str) -> VneidIdentity:
        """The person the upstream vouches for, from its redirect back to us (``params``: the
        callback's query). VneidError for anything that does not check out."""
        sent_state = params.get("state")
        if not isinstance(sent_state, str) or not hmac.compare_digest(sent_state.encode(),
                                                                      state.encode()):
            raise VneidError("callback_state_mismatch")
        metadata = self.metadata()
        iss = params.get("iss")
        if iss is not None and iss != self.config.issuer:
            raise VneidError("callback_iss_mismatch")
        if iss is None and metadata.get("authorization_response_iss_parameter_supported") is True:
            raise VneidError("callback_iss_missing")
        if "error" in params:
            error = params.get("error") or ""
            raise VneidError("upstream_error",
                             upstream_error=error if _ERROR_CODE.fullmatch(error) else "invalid")
        code = params.get("code")
        if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
            raise VneidError("callback_code_missing")
        token = self._exchange(metadata, code, code_verifier)
        try:
            claims = verify_id_token(token.get("id_token"), keys=self.keys,
                                     issuer=self.config.issuer, client_id=self.config.client_id,
                                     nonce=nonce, now=self._now(), skew=self.config.skew)
        except IdTokenError as exc:
            raise VneidError(exc.reason) from None
        userinfo = {}
        if missing_from(claims, self.config.claims) and metadata.get("userinfo_endpoint"):
            userinfo = self._userinfo(metadata["userinfo_endpoint"], token, claims["sub"])
        return self._identity(read_fields(self.config.claims, claims, userinfo))

    def _exchange(self, metadata: dict, code: str, code_verifier: str) -> dict:
        endpoint = metadata["token_endpoint"]
        options = {"client_id": self.config.client_id,
                   "redirect_uri": self.config.redirect_uri}
        auth = None
        if self._private_key is not None:
            alg, key = self._private_key
            now = self._now()
            # A fresh assertion per request, on the injected clock, valid for a minute.
            auth = PrivateKeyJWT(endpoint, alg=alg, headers={"kid": key.kid},
                                 claims={"iat": now, "exp": now + ASSERTION_LIFETIME})
            options["token_endpoint_auth_method"] = PrivateKeyJWT.name
            options["client_secret"] = key  # Authlib's PrivateKeyJWT signs with it
        else:
            options["client_secret"] = self.config.client_secret
            options["token_endpoint_auth_method"] = "client_secret_basic"  # noqa: S105
        with OAuth2Session(**options) as session:
            if auth is not None:
                session.register_client_auth_method(auth)
            try:
                token = session.fetch_token(endpoint, grant_type="authorization_code",
                                            code=code, code_verifier=code_verifier,
                                            timeout=self.config.timeout, allow_redirects=False)
            except OAuthError as exc:
                error = exc.error if _ERROR_CODE.fullmatch(exc.error or "") else "invalid"
                raise VneidError("token_error", upstream_error=error) from None
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                reason = "upstream_unreachable" if status >= 500 or status == 0 else "token_error"
                raise VneidError(reason) from None
            except (requests.RequestException, ValueError):
                raise VneidError("upstream_unreachable") from None
        if not isinstance(token.get("id_token"), str):
            raise VneidError("id_token_missing")
        return dict(token)

    def _userinfo(self, endpoint: str, token: dict, sub: str) -> dict:
        """Userinfo's claims; its ``sub`` must be the ID token's (OIDC Core §5.3.4)."""
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or str(token.get("token_type", "")).lower() != (
                "bearer"):
            raise VneidError("userinfo_error")
        try:
            info = self._get_json(endpoint, headers={"Authorization": f"Bearer {access_token}",
                                                     "Accept": "application/json"})
        except VneidError:
            raise VneidError("userinfo_error") from None
        if info.get("sub") != sub:
            raise VneidError("userinfo_sub_mismatch")
        return info

    # --- the normalised identity ------------------------------------------------------------
    def _identity(self, fields: dict) -> VneidIdentity:
        subject = fields["subject"]
        if isinstance(subject, int) and not isinstance(subject, bool):
            subject = str(subject)
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
            raise VneidError("subject_missing")
        return VneidIdentity(
            subject=subject.strip(),
            id_number=_id_number(fields["id_number"]),
            full_name=_name(fields["full_name"]),
            birthdate=parse_claim_date(fields["birthdate"]),
            sex=parse_claim_sex(fields["sex"]),
            phone=_phone(fields["phone"]),
            level=_level(fields["level"], self.config.level2_values),
            account_type=_text(fields["account_type"]),
        )


def _text(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text[:64] or None
    return None


def _id_number(value) -> str | None:
    text = _text(value)
    text = text.replace(" ", "") if text else None
    return text if text and _CCCD.fullmatch(text) else None


def _name(value) -> str | None:
    if not isinstance(value, str):
        return None
    name = " ".join(unicodedata.normalize("NFC", value).split())
    return name if name and len(name) <= MAX_NAME and name.isprintable() else None


def _phone(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return parse_phone(text)
    except IdentifierError:
        return None


def _level(value, level2_values: tuple[str, ...]) -> int:
    """The explicit level claim; a list (several assurance levels) counts by its highest."""
    if isinstance(value, list):
        return max((parse_claim_level(v, level2_values) for v in value), default=1)
    return parse_claim_level(value, level2_values)
