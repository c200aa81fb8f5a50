"""The authorization code grant (RFC 6749 §4.1 with PKCE S256, OIDC Core §3.1): /authorize
validated once per request, the code kept in the store for ≤ 60 s under its hash and claimed
once at /token; a second redemption revokes what the first one issued (RFC 6749 §4.1.2,
RFC 9700 §4.2.4). App clients come here only to sign in with VNeID in the system browser
(``check_app_request``); their codes are bound to the DPoP key they named (RFC 9449 §10).
What the grants share (the token context, the DPoP proof, the resource): gateway.oidc.grants.
"""

from __future__ import annotations

import json
import re

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin
from authlib.oidc.core.errors import LoginRequiredError

from gateway.crypto.secrets import hash_secret
from gateway.extensions import db
from gateway.models import Account
from gateway.oidc.dpop_binding import require_binding
from gateway.oidc.errors import (
    RequestNotSupportedError,
    RequestUriNotSupportedError,
)
from gateway.oidc.grants import (
    ALL_AUTH_METHODS,
    ProofReadingMixin,
    SignedIn,
    TokenIssuingMixin,
    check_resource,
    session_context,
    store_code,
)
from gateway.oidc.parameters import (
    DESCRIPTION,
    DEVICE_ID,
    DPOP_JKT,
    device_name,
    has_repeated_parameter,
)
from gateway.oidc.tokens import GrantContext
from gateway.services.client_cache import client_copies_allowed
from gateway.services.events import emit
from gateway.services.revocation import revocation_reason, revoke_family
from gateway.store.access import store

CODE_USED_TTL = 24 * 3600
MAX_CODE_LENGTH = 256
MAX_AGE = re.compile(r"[0-9]{1,9}")


class StoredCode(AuthorizationCodeMixin):
    def __init__(self, data: dict, context: GrantContext):
        self.data = data
        self.context = context
        self.code_challenge = data["code_challenge"]
        self.code_challenge_method = data["code_challenge_method"]

    def get_redirect_uri(self):
        return self.data["redirect_uri"]

    def get_scope(self):
        return self.data["scope"]


def check_app_request(data) -> None:
    """An app client at /authorize: only to sign in with VNeID in the system browser (RFC
    8252), and only as the challenge endpoint would let it in. The VssID app's password
    sign-in is /authorize-challenge, where the one-active-device rule is enforced; a password
    typed here would hand it device-bound tokens on the password alone. With ``idp=vneid``
    the VNeID flow's pages enforce the same rule (gateway.flows.vneid_login), so the app must
    say which device it is and bind the code to its DPoP key (``dpop_jkt``, RFC 9449 §10)."""
    if data.get("idp") != "vneid":
        raise UnauthorizedClientError(
            "App clients sign in at the authorization challenge endpoint, or with idp=vneid.")
    if not DPOP_JKT.match(data.get("dpop_jkt") or ""):
        raise InvalidRequestError("'dpop_jkt' (the DPoP key's thumbprint) is required.")
    if not DEVICE_ID.match(data.get("device_id") or ""):
        raise InvalidRequestError("'device_id': 8-128 of A-Z a-z 0-9 . _ : -")
    if device_name(data.get("device_name")) is None:
        raise InvalidRequestError("'device_name': 1-100 printable characters.")
    if "none" in (data.get("prompt") or "").split():
        raise LoginRequiredError()


def _read_only_account(account_id) -> Account | None:
    """The account a code was issued for, detached from the ORM session: the exchange only
    reads it, and the commit of the new tokens (save_token) would otherwise expire it, so
    that the ID token's ``sub`` read after that commit cost a second SELECT and a second
    pool checkout."""
    account = db.session.get(Account, account_id)
    if account is not None:
        db.session.expunge(account)
    return account


class AuthorizationCodeGrant(ProofReadingMixin, TokenIssuingMixin,
                             grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """Authlib echoes a refused redirect_uri in the error description, and OAuth2Error turns
        a character RFC 6749 §4.1.2.1 forbids there (`"`, `\\`, controls, non-ASCII) into a
        ValueError, a 500: refuse it without echoing it."""
        uri = request.payload.redirect_uri
        if uri and not client.check_redirect_uri(uri):
            raise InvalidRequestError("The redirect URI is not registered for this client.")
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    _validated: tuple[str] | None = None  # (redirect_uri,) once this request passed

    def validate_authorization_request(self):
        """Validated once per request. Authlib validates again in
        create_authorization_response what get_consent_grant validated on the same request
        and grant object (one per request): a second read of the client row and a second run
        of every check below, which can only give the same answer."""
        if self._validated is not None:
            return self._validated[0]
        # A browser whose session was found (Authlib's ``request.user``: the view read the
        # session and its account from the database just now) gets its client from the
        # process's copies (gateway/services/client_cache.py, as /token does): the database
        # is known to answer, and a second row read would only repeat what the copy holds (a
        # client change is seen within CLIENT_CACHE_SECONDS). Without a session the row is
        # read: the first /authorize of a sign-in needs the database, and an outage is
        # answered at once (503), not after the password is typed.
        with client_copies_allowed(self.request.user is not None):
            redirect_uri = self._validate_authorization_request()
        self._validated = (redirect_uri,)
        return redirect_uri

    def _validate_authorization_request(self):
        data = self.request.payload.data
        redirect_uri = super().validate_authorization_request()
        try:
            # After the redirect_uri is verified, so these go back to the client (OIDC Core §6).
            if has_repeated_parameter(self.request.payload.datalist.items()):
                raise InvalidRequestError(DESCRIPTION)
            if self.request.client.type == "app":
                check_app_request(data)
            if "request" in data:
                raise RequestNotSupportedError()
            if "request_uri" in data:
                raise RequestUriNotSupportedError()
            if data.get("response_mode", "query") != "query":
                raise InvalidRequestError("Only response_mode=query is supported.")
            max_age = data.get("max_age")
            # ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses.
            if max_age is not None and not MAX_AGE.fullmatch(max_age):
                raise InvalidRequestError("Invalid 'max_age'.")
            prompts = (data.get("prompt") or "").split()
            if "none" in prompts and len(prompts) > 1:
                raise InvalidRequestError("'prompt=none' cannot be combined.")
            check_resource(self.request)
        except Exception as error:
            if hasattr(error, "redirect_uri"):
                error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def validate_token_request(self):
        """RFC 8707 §2.2: a `resource` at the token endpoint must be the one there is, too;
        checked first, because validating the rest consumes the code."""
        check_resource(self.request)
        super().validate_token_request()

    def save_authorization_code(self, code, request):
        signed_in: SignedIn = request.user
        # An app's code is bound to the key it named (RFC 9449 §10): /token wants its proof.
        jkt = request.payload.data.get("dpop_jkt") if request.client.type == "app" else None
        ctx = session_context(signed_in.session, resource=check_resource(request),
                              nonce=request.payload.data.get("nonce"), jkt=jkt)
        store_code(code, client_id=request.client.client_id,
                   redirect_uri=request.payload.redirect_uri, scope=request.scope,
                   code_challenge=request.payload.data.get("code_challenge"), ctx=ctx)

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
            return None
        digest = hash_secret(code)
        raw = store().get(f"code:{digest}")
        if raw is None:
            family = store().get(f"code-used:{digest}")
            if family:
                self._replayed(family, client)
            return None
        data = json.loads(raw)
        family = data["ctx"]["family_id"]
        # Before the claim: a request without the bound key must not burn the code.
        proof = self.proof
        require_binding(proof, data["ctx"].get("jkt"), required=client.type == "app")
        # The account is read before the code is claimed (and kept for authenticate_user): a
        # database that cannot be reached answers 503 and leaves the code unused.
        self.account = _read_only_account(data["ctx"]["account_id"])
        # The claim is the used-marker: one winner among racers, and every later
        # redemption finds it. The code entry itself simply expires (≤ 60 s).
        if not store().add(f"code-used:{digest}", family, CODE_USED_TTL):
            self._replayed(family, client)
            return None
        if data["client_id"] != client.client_id:
            return None
        ctx = GrantContext(**data["ctx"])
        ctx.jkt = proof.jkt if proof else None
        return StoredCode(data, ctx)

    def _replayed(self, family: str, client) -> None:
        revoked = revoke_family(family, "code_replay")
        emit("code.replayed", client_id=client.client_id, revoked_tokens=revoked, commit=True)

    def delete_authorization_code(self, authorization_code):
        """Nothing left to delete: the code was consumed when it was claimed."""

    def authenticate_user(self, authorization_code):
        """The session is checked, not the family: before this redemption the family marker
        can only have been set by a replay of this very code racing the request that claimed
        it. Refusing here too left no redemption succeeding at all; the claimer is answered,
        and the replay's marker revokes what it receives (RFC 6749 §4.1.2)."""
        ctx = authorization_code.context
        account = getattr(self, "account", None)
        if account is None or account.id != ctx.account_id:
            account = _read_only_account(ctx.account_id)
        if account is None or not account.is_active:
            return None
        if revocation_reason(sid=ctx.sid):
            return None
        return account
