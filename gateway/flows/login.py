"""The browser login flow: an /authorize request parked while the person signs in.

The record (kind ``login``, gateway.flows.record draws its states) holds the original query,
so the person returns to exactly the request the client made, and is bound to the browser
that made it: the SHA-256 of a random value in the browser's signed Flask session cookie
(``browser`` here; the views keep it). Signing in with a correct but issued or expired
password sets no session and issues nothing until a new password is set. The return to
/authorize consumes the record once; only then is the sign-in "fresh" for prompt=login and
max_age.

Signing in with a passkey (gateway/methods/webauthn.py) is the other step from ``pending``:
its challenge is bound to this flow and this browser, the same for everyone (no account is
named before the assertion), and the session it starts carries ``amr`` ``hwk``/``swk`` and
``user`` — the phishing-resistant ``acr`` on a level-2 account. That is step-up: a relying
party asking with ``acr_values`` for that level (or ``max_age``) is sent here by ``decide``
when the session is weaker or older, and the page asks for the passkey first.

Whether the browser's session may answer an /authorize request, or the person must sign in
first, is policies.session_reuse; ``decide`` feeds it from the request and the session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from gateway.clock import as_utc, clock
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.flows import record as flows
from gateway.flows.record import LOGIN, FlowError, FlowNotFoundError, FlowRecord
from gateway.methods import webauthn
from gateway.methods.password import check_password
from gateway.models import Account
from gateway.oidc.tokens import read_id_token
from gateway.services import passkeys, passwords, sessions
from gateway.services.client_cache import cached_client
from gateway.services.events import emit
from policies import session_reuse
from policies.assurance import ACR_VALUES, reachable_acr, requires_passkey


@dataclass(frozen=True)
class SignedIn:
    """A new session: its cookie handle, and the /authorize request to return to."""

    handle: str
    location: str


def _bound(browser: str) -> dict[str, str]:
    return {"browser": hashlib.sha256(browser.encode()).hexdigest()}


def start(query: list[tuple[str, str]], *, browser: str) -> str:
    """Parks the /authorize request; returns the flow id for /login?flow=."""
    return flows.create(LOGIN, bound_to=_bound(browser), context={"query": query}).id


def resume(flow_id, *, browser: str | None, step: str) -> FlowRecord:
    """The flow a login page serves; FlowError (the pages say ``flow_expired``) when there
    is none for this browser or ``step`` does not fit its state."""
    if not browser:
        raise FlowNotFoundError()
    record = flows.load(LOGIN, flow_id, bound_to=_bound(browser))
    record.step(step)
    return record


def redirect_target(record: FlowRecord) -> str | None:
    """The client's redirect URI this flow ends at, if the client is registered with it.
    Read from the process's copy of the client (gateway/services/client_cache.py): the login
    page's GET and POST read no client row."""
    query = dict(record.context.get("query") or [])
    client = cached_client(query.get("client_id"))
    uri = query.get("redirect_uri")
    return uri if client is not None and uri and client.check_redirect_uri(uri) else None


def sign_in(record: FlowRecord, login: str | None, password: str, *,
            address: str) -> SignedIn | None:
    """The password step. None: the password must be changed first (the record says why);
    AuthenticationError, LockedError or ThrottledError as check_password raises them."""
    record.step("sign_in")
    account = check_password(login, password, address=address)
    if passwords.change_required(account):
        why = "must_change" if account.must_change_password else "expired"
        flows.advance(record, "password_change_required", account_id=account.id, why=why)
        emit("login.password_change_required", account_id=account.id, why=why, commit=True)
        return None
    return _signed_in(record, account)


def asks_for_passkey(record: FlowRecord) -> bool:
    """Whether the client asked for the phishing-resistant level: the page leads with the
    passkey and says a password will not do."""
    query = dict(record.context.get("query") or [])
    return requires_passkey(tuple((query.get("acr_values") or "").split()))


def _passkey_binding(record: FlowRecord) -> str:
    return f"login:{record.id}:{record.bound_to['browser']}"


def passkey_options(record: FlowRecord) -> dict:
    """navigator.credentials.get() options for this flow (one challenge, used once)."""
    record.step("sign_in")
    return webauthn.sign_in_options(_passkey_binding(record))


def sign_in_with_passkey(record: FlowRecord, credential) -> SignedIn:
    """The passkey step: PasskeyError (``passkey_refused``, ``passkey_expired``) or the
    session. A passkey proves more than the password, so an expired password does not stop
    it (the password's own sign-in still asks for the change)."""
    record.step("sign_in")
    assertion = webauthn.sign_in(_passkey_binding(record), credential)
    handle, session = sessions.start_session(assertion.account, amr=assertion.amr)
    emit("login.succeeded", account_id=assertion.account.id, method="passkey",
         passkey_id=assertion.passkey.id, sid=session.sid, commit=True)
    return authenticated(record, handle, session)


def change_password(record: FlowRecord, current: str, new: str, confirm: str, *,
                    address: str) -> SignedIn:
    """The forced change, then the session. AuthenticationError (the current password),
    LockedError/ThrottledError, ValidationError("password_mismatch"), PasswordRejectedError."""
    record.step("change_password")
    account = db.session.get(Account, record.context["account_id"])
    if account is None:
        raise FlowNotFoundError()
    check_password(account.bhxh, current, address=address)
    if new != confirm:
        raise ValidationError("password_mismatch", field="confirm_password")
    # One change per flow: of a form submitted twice at once, one goes on and the other finds
    # no flow — else each would change the password, and the second change would end the
    # session the first had just started.
    record = flows.claim(record)
    try:
        passwords.change_password(account, new, reason=record.context.get("why", "must_change"),
                                  current_password=current)
    except passwords.PasswordRejectedError:
        flows.save(record)  # nothing changed: the person chooses another password
        raise
    return _signed_in(record, account)


def _signed_in(record: FlowRecord, account: Account) -> SignedIn:
    account_id = account.id
    handle, session = sessions.start_session(account, amr=["pwd"], also=lambda started: emit(
        "login.succeeded", account_id=account_id, method="pwd", sid=started.sid))
    return authenticated(record, handle, session)


def authenticated(record: FlowRecord, handle: str, session) -> SignedIn:
    """The flow's person signed in, with a session started by this flow or by another way of
    signing in that the login page offered (gateway.flows.vneid_login): back to /authorize,
    where ``returned`` finds this very session."""
    flows.advance(record, "authenticated", sid=session.sid)
    query = [*map(tuple, record.context["query"]), ("login_flow", record.id)]
    return SignedIn(handle, "/authorize?" + urlencode(query))


def returned(flow_id, *, browser: str | None, session) -> bool:
    """Consumes the flow /authorize was sent back with: True when it ended in this very
    session (a fresh sign-in), once; a replay, a pending flow, another browser's: False."""
    if not flow_id or not browser:
        return False
    try:
        record = flows.take(LOGIN, flow_id, bound_to=_bound(browser))
    except FlowError:
        return False
    return session is not None and record.context.get("sid") == session.sid


def decide(data, session, account, *, fresh: bool) -> str:
    """What /authorize does with this request and this browser session (or none):
    ``issue``, ``sign_in``, or an OAuth error code for the client (``invalid_request`` for an
    id_token_hint we did not issue, ``login_required``, ``unmet_authentication_requirements``).

    ``data`` was validated by the grant (``max_age`` is ASCII digits when present).
    """
    hint_sub = None
    hint = data.get("id_token_hint")
    if hint is not None:
        # OIDC Core §3.1.2.1: an expired ID token of ours is still a hint.
        claims = read_id_token(hint, allow_expired=True)
        if claims is None or not isinstance(claims.get("sub"), str):
            return "invalid_request"
        hint_sub = claims["sub"]
    max_age = data.get("max_age")
    request = session_reuse.Request(
        prompts=frozenset((data.get("prompt") or "").split()),
        max_age=int(max_age) if max_age is not None else None,
        acr_values=tuple((data.get("acr_values") or "").split()),
        hint_sub=hint_sub,
    )
    current = None
    if account is not None:
        # What a new sign-in could reach is compared only with the acr values we define
        # (policies.session_reuse): the passkey query is made only when the client asked for
        # one of them, not on every /authorize.
        asks_acr = any(value in ACR_VALUES for value in request.acr_values)
        current = session_reuse.Session(
            sub=account.sub,
            age=clock().timestamp() - int(as_utc(session.auth_time).timestamp()),
            acr=session.acr,
            reachable_acr=reachable_acr(
                account.level, has_passkey=asks_acr and passkeys.has_passkey(account.id)),
            fresh=fresh,
        )
    return session_reuse.decide(request, current, ACR_VALUES)
