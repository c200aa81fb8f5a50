"""Registering OAuth clients: the rules an operator cannot bypass."""

from __future__ import annotations

import json
import secrets

from gateway.clock import utcnow
from gateway.crypto.secrets import hash_secret, new_secret
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Client
from gateway.models.client import CLIENT_TYPES
from policies.redirect_uris import RedirectUriError, validate_registered_redirect_uri

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "bhxh", "offline_access",
                    "health_card", "ssf.manage")
# Scopes of a relying service, never of a person's client: health_card lets a `service` (a
# hospital's system) verify health-card presentations online (gateway/oidc/health_card.py).
SERVICE_ONLY_SCOPES = ("health_card",)
# The relying service's own token for its Shared Signals stream (gateway/views/ssf.py): a
# confidential client's client_credentials grant, never the public app's.
SSF_SCOPE = "ssf.manage"
DEFAULT_SCOPES = {
    "web": ["openid", "profile", "email", "phone", "offline_access"],
    "app": ["openid", "profile", "phone", "bhxh", "offline_access"],
    "service": [],
}
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def _uris(values, field):
    out = []
    for value in values or []:
        try:
            out.append(validate_registered_redirect_uri(value))
        except RedirectUriError as exc:
            raise ValidationError(exc.code, field=field, detail=f"{value!r}: {exc}") from None
    return out


def _resources(values, type: str) -> list[str]:
    """RFC 8707 §2 resource URIs (absolute, no fragment), under the same strict rules as
    redirect URIs (https, or http on loopback; matched exactly against a token's `aud`).
    Only a `service` is a resource server: a portal or the app introspects its own tokens only,
    and a portal that also serves an API registers that API as a service of its own, so the
    secret that can read everyone's tokens never sits in a browser-facing application."""
    resources = list(dict.fromkeys(_uris(values, "resource")))
    if resources and type != "service":
        raise ValidationError("invalid_resource", field="resource",
                              detail="only service clients are resource servers")
    return resources


def set_client_resources(client_id: str, resources=()) -> Client:
    """Replaces the resources a service is registered for (an empty list: none)."""
    client = Client.query.filter_by(client_id=client_id).first() if client_id else None
    if client is None:
        raise ValidationError("unknown_client", field="client-id", detail="no such client")
    client.resources = _resources(resources, client.type)
    db.session.flush()
    return client


def _load_jwks(jwks_file):
    if jwks_file is None:
        return None
    try:
        with open(jwks_file, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValidationError("invalid_jwks", field="jwks-file", detail=str(exc)) from None
    from joserfc.jwk import KeySet

    if isinstance(data, dict) and "keys" not in data:
        data = {"keys": [data]}
    try:
        keyset = KeySet.import_key_set(data)
    except Exception as exc:  # joserfc raises several types for malformed keys
        raise ValidationError("invalid_jwks", field="jwks-file", detail=str(exc)) from None
    if any(k.is_private for k in keyset.keys):
        raise ValidationError("invalid_jwks", field="jwks-file", detail="private keys refused")
    return keyset.as_dict(private=False)


def create_client(
    *,
    name: str,
    type: str,
    redirect_uris=(),
    post_logout_redirect_uris=(),
    backchannel_logout_uri: str | None = None,
    scopes=(),
    token_endpoint_auth_method: str | None = None,
    jwks_uri: str | None = None,
    jwks_file: str | None = None,
    client_id: str | None = None,
    resources=(),
) -> tuple[Client, str | None]:
    """Returns the client and its secret (shown once, stored only as a hash)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationError("invalid_name", field="name", detail="1-200 characters")
    if type not in CLIENT_TYPES:
        raise ValidationError("invalid_type", field="type", detail="app, web or service")
    redirect_uris = _uris(redirect_uris, "redirect-uri")
    post_logout = _uris(post_logout_redirect_uris, "post-logout-redirect-uri")
    backchannel = _uris([backchannel_logout_uri], "backchannel-logout-uri")[0] if (
        backchannel_logout_uri
    ) else None
    resources = _resources(resources, type)
    if type in ("app", "web") and not redirect_uris:
        raise ValidationError("missing_redirect_uri", field="redirect-uri", detail="required")
    if type == "service" and redirect_uris:
        raise ValidationError(
            "invalid_redirect_uri", field="redirect-uri", detail="not for services"
        )
    scopes = list(dict.fromkeys(scopes)) or list(DEFAULT_SCOPES[type])
    unknown = [s for s in scopes if s not in SUPPORTED_SCOPES]
    if unknown:
        raise ValidationError("invalid_scope", field="scope", detail=f"unknown: {unknown}")
    if type == "service" and "openid" in scopes:
        raise ValidationError("invalid_scope", field="scope", detail="services sign in no one")
    if type != "service" and any(s in SERVICE_ONLY_SCOPES for s in scopes):
        raise ValidationError("invalid_scope", field="scope", detail="health_card: services only")
    if type == "app" and SSF_SCOPE in scopes:
        raise ValidationError("invalid_scope", field="scope", detail="the app receives no SETs")
    method = token_endpoint_auth_method or ("none" if type == "app" else "client_secret_basic")
    if type == "app" and method != "none":
        raise ValidationError(
            "invalid_auth_method", field="token-endpoint-auth-method", detail="app is public"
        )
    if type != "app" and method not in (*SECRET_METHODS, "private_key_jwt"):
        raise ValidationError("invalid_auth_method", field="token-endpoint-auth-method")
    if jwks_uri and jwks_file:
        raise ValidationError("invalid_jwks", field="jwks-uri", detail="give one of the two")
    jwks = _load_jwks(jwks_file)
    if jwks_uri:
        _uris([jwks_uri], "jwks-uri")
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ValidationError(
            "missing_jwks", field="jwks-file", detail="private_key_jwt needs keys"
        )
    grant_types = (
        ["client_credentials"] if type == "service" else ["authorization_code", "refresh_token"]
    )
    if type == "web" and SSF_SCOPE in scopes:  # a portal manages its stream with its own token
        grant_types.append("client_credentials")
    secret = new_secret() if method in SECRET_METHODS else None
    client = Client(
        client_id=client_id or secrets.token_urlsafe(16),
        name=name,
        type=type,
        secret_hash=hash_secret(secret) if secret else None,
        token_endpoint_auth_method=method,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout,
        backchannel_logout_uri=backchannel,
        scopes=scopes,
        grant_types=grant_types,
        jwks=jwks,
        jwks_uri=jwks_uri,
        resources=resources,
        created_at=utcnow(),
    )
    db.session.add(client)
    db.session.flush()
    return client, secret
