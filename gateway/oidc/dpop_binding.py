"""Where DPoP proofs meet requests: the token endpoint, the challenge endpoint, resources.

Proofs are checked against the gateway's public URL (issuer + path), not the URL the WSGI
server saw, so a TLS-terminating proxy in front does not break `htu`. Replay is refused with
the store's atomic add(), for the proof's lifetime. Inside a ``carrying()`` block (the
challenge endpoint) that add rides with the request's next store read and is settled before
anything is written (gateway.store.access): a replayed proof is still refused
(``replayed``), one round trip later than it would be alone, and changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authlib.oauth2.rfc6750 import BearerTokenValidator as _BearerTokenValidator
from authlib.oauth2.rfc6750.errors import InsufficientScopeError, InvalidTokenError
from flask import current_app

from gateway.clock import clock
from gateway.oidc.dpop import DPoPProof, DPoPProofError, verify_proof, www_authenticate
from gateway.oidc.token_views import AccessToken, find_token
from gateway.store.access import claim


def _replayed() -> DPoPProofError:
    return DPoPProofError("replayed")


def _replay_check(key: str, ttl: int) -> bool:
    return claim(f"dpop:{key}", "1", ttl, _replayed)


def proof_from_headers(headers, *, method: str, path: str,
                       access_token: str | None = None) -> DPoPProof | None:
    """The verified proof of this request, None if it carries none; DPoPProofError if bad."""
    values = headers.getlist("DPoP") if hasattr(headers, "getlist") else (
        [headers["DPoP"]] if "DPoP" in headers else [])
    if not values:
        return None
    if len(values) > 1:
        raise DPoPProofError("malformed")
    return verify_proof(values[0], method=method, url=current_app.config["ISSUER"] + path,
                        access_token=access_token, now=clock().timestamp(),
                        replay_check=_replay_check)


def token_endpoint_proof(oauth_request) -> DPoPProof | None:
    return proof_from_headers(oauth_request.headers, method="POST", path="/token")


def require_binding(proof: DPoPProof | None, bound_jkt: str | None, *, required: bool) -> None:
    """A token or code bound to a key needs a proof by that key; public app clients always
    need one (RFC 9449 §5: their tokens must be sender-constrained)."""
    if bound_jkt and (proof is None or proof.jkt != bound_jkt):
        raise DPoPProofError("key_mismatch", "DPoP proof: not the key this grant is bound to.")
    if required and proof is None:
        raise DPoPProofError("proof_required", "DPoP proof: required for this client.")


def _audience_ok(token: AccessToken) -> bool:
    aud = token.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    return current_app.config["DEFAULT_RESOURCE"] in audiences


class BearerTokenValidator(_BearerTokenValidator):
    """Bearer access tokens; a DPoP-bound token presented as Bearer is refused (RFC 9449 §7.2)."""

    def authenticate_token(self, token_string):
        token = find_token(token_string, "access_token")
        if not isinstance(token, AccessToken) or not _audience_ok(token):
            return None
        if token.claims.get("cnf"):
            return None
        return token

    def validate_token(self, token, scopes, request):
        _check_scope(self, token, scopes, request, dpop=False)


class DPoPTokenError(InvalidTokenError):
    """A refused DPoP-scheme request: RFC 9449 §7.1 wants a `DPoP` challenge, not Bearer."""

    def __init__(self, error: str = "invalid_token", description: str | None = None):
        super().__init__(description=description)
        self.error = error

    def get_headers(self):
        headers = [(k, v) for k, v in super().get_headers() if k != "WWW-Authenticate"]
        headers.append(("WWW-Authenticate", www_authenticate(self.error, self.description)))
        return headers


class ScopeRequiredError(InsufficientScopeError):
    """A valid token that lacks a scope the resource needs: RFC 6750 §3.1 403
    ``insufficient_scope``, with the challenge §3 requires (``WWW-Authenticate``, naming the
    ``scope`` needed) in the scheme the token was presented with (RFC 9449 §7.1 for DPoP).
    Authlib's own InsufficientScopeError carries no challenge at all."""

    def __init__(self, scopes, *, dpop: bool, description: str | None = None):
        super().__init__(description=description)
        self.needed = " ".join(scopes or ["openid"])
        self.dpop = dpop

    def get_headers(self):
        headers = super().get_headers()
        description = self.get_error_description()
        if self.dpop:
            challenge = www_authenticate(self.error, description)
        else:
            challenge = f'Bearer error="{self.error}", error_description="{description}"'
        headers.append(("WWW-Authenticate", f'{challenge}, scope="{self.needed}"'))
        return headers


class PersonTokenRequiredError(ScopeRequiredError):
    """A valid access token with no person behind it — a client's own ``client_credentials``
    token — at a resource that acts for a person (the /api/v1 account API).

    ``insufficient_scope`` (403), not ``invalid_token`` (401): the token is good, and a new
    one of the same kind would not help; what the resource needs is a token a person granted
    (``scope="openid"``).
    """

    description = "This resource needs a token issued for a person (scope openid)."

    def __init__(self, *, dpop: bool):
        super().__init__(["openid"], dpop=dpop)


def _check_scope(validator, token, scopes, request, *, dpop: bool) -> None:
    try:
        _BearerTokenValidator.validate_token(validator, token, scopes, request)
    except InsufficientScopeError:
        raise ScopeRequiredError(scopes, dpop=dpop) from None


class DPoPTokenValidator(_BearerTokenValidator):
    """`Authorization: DPoP <token>` with a proof of the bound key, `ath` included."""

    TOKEN_TYPE = "dpop"  # noqa: S105

    def authenticate_token(self, token_string):
        token = find_token(token_string, "access_token")
        if not isinstance(token, AccessToken) or not _audience_ok(token):
            return None
        token.presented = token_string
        return token

    def validate_token(self, token, scopes, request):
        if token is None or not (token.claims.get("cnf") or {}).get("jkt"):
            raise DPoPTokenError()
        path = urlsplit(request.uri).path
        try:
            proof = proof_from_headers(request.headers, method=request.method, path=path,
                                       access_token=token.presented)
        except DPoPProofError as exc:
            raise DPoPTokenError("invalid_dpop_proof", exc.description) from None
        if proof is None or proof.jkt != token.claims["cnf"]["jkt"]:
            raise DPoPTokenError("invalid_dpop_proof", "DPoP proof missing or by another key.")
        try:
            _check_scope(self, token, scopes, request, dpop=True)
        except InvalidTokenError:
            raise DPoPTokenError() from None
