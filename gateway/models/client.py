"""An OAuth client registered by an operator: a portal (web), the app, or a relying service."""

from __future__ import annotations

import hmac
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import JSON, DateTime, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from policies.redirect_uris import redirect_uri_matches

CLIENT_TYPES = ("app", "web", "service")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


class ClientRules(ClientMixin):
    """What Authlib asks of a client, read from its attributes only: shared by the row
    (`Client`) and the in-process copy the token endpoint uses
    (gateway/services/client_cache.py)."""

    # --- Authlib ClientMixin -------------------------------------------------------------
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # OIDC requires redirect_uri; never guess one for the client.
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri_matches(redirect_uri, list(self.redirect_uris))

    def check_client_secret(self, client_secret):
        if not self.secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # introspection and revocation: the same method as at the token endpoint
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    def serves_audience(self, audiences: list[str]) -> bool:
        """Whether this client is a registered resource server for one of `audiences`."""
        if self.type != "service":
            return False
        return any(isinstance(uri, str) and uri in audiences for uri in self.resources or [])

    @property
    def client_metadata(self) -> dict:
        # Authlib reads optional metadata (e.g. userinfo_signed_response_alg) from here.
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105


class Client(db.Model, ClientRules):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    # SHA-256 of a 256-bit random secret: a fast hash is enough for a secret with that
    # much entropy, and keeps client authentication cheap.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))
    # `service` clients only: the resources (RFC 8707 URIs, the access tokens' `aud`) this
    # service is the resource server for. It may introspect access tokens issued for them
    # (RFC 7662 §4); every other client learns only about its own tokens.
    resources: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
