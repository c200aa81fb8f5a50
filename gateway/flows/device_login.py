"""The app's native sign-in, one active device per account, as a stored state machine.

    (password) ──► [password_change_required] ──► device check
    device check: no active device / the same device ──► code
                  another device ──► device_conflict ──(takeover=confirm)──► otp_required
                  otp_required ──(otp)──► compare-and-set the device ──► code

The record (``auth_session``) is bound to the client and to the DPoP key that started it;
any other key or client is refused. Codes are bound to that key too, so only the device
that signed in can redeem them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field

from flask import current_app

from gateway.clock import as_utc
from gateway.errors import AuthenticationError
from gateway.extensions import db
from gateway.methods import otp
from gateway.methods.password import check_password
from gateway.models import Account
from gateway.oidc import challenge as ch
from gateway.oidc.grants import session_context, store_code
from gateway.services import devices, passwords, sessions
from gateway.services.events import emit
from gateway.services.throttle import Attempt, LockedError, ThrottledError
from gateway.store.access import store
from policies.identifiers import login_name

OTP_PURPOSE = "takeover"


@dataclass
class DeviceLogin:
    client_id: str
    jkt: str
    account_id: int
    login: str
    device_id: str
    device_name: str
    scope: str
    code_challenge: str
    state: str = "started"
    expected_version: int | None = None
    amr: list[str] = field(default_factory=lambda: ["pwd"])


def _key(auth_session: str) -> str:
    return f"flow:device:{auth_session}"


def _save(auth_session: str, flow: DeviceLogin) -> None:
    store().put(_key(auth_session), json.dumps(asdict(flow)),
                current_app.config["LOGIN_FLOW_TTL"])


def start(form, *, client, jkt: str, address: str) -> str:
    """First call: password. Returns the authorization code, or raises ChallengeError."""
    device_id = ch.device_id(form.get("device_id", ""))
    device_name = ch.device_name(form.get("device_name", ""))
    code_challenge = ch.pkce(form)
    scope = client.get_allowed_scope(form.get("scope", ""))
    try:
        account = check_password(login_name(form.get("username", "")), form.get("password", ""),
                                 address=address)
    except AuthenticationError:
        raise ch.insufficient("invalid_credentials") from None
    except (LockedError, ThrottledError) as exc:
        reason = "account_locked" if isinstance(exc, LockedError) else "too_many_attempts"
        raise ch.insufficient(reason, retry_after=exc.retry_after) from None
    flow = DeviceLogin(client_id=client.client_id, jkt=jkt, account_id=account.id,
                       login=account.bhxh, device_id=device_id, device_name=device_name,
                       scope=scope, code_challenge=code_challenge)
    auth_session = secrets.token_urlsafe(24)
    if passwords.change_required(account):
        flow.state = "password_change_required"
        _save(auth_session, flow)
        raise ch.insufficient("password_change_required", auth_session=auth_session)
    return _device_step(auth_session, flow, account)


def resume(form, *, client, jkt: str, address: str) -> str:
    auth_session = form.get("auth_session", "")
    raw = store().get(_key(auth_session)) if 16 <= len(auth_session) <= 64 else None
    if raw is None:
        raise ch.invalid_session("session_expired")
    flow = DeviceLogin(**json.loads(raw))
    if flow.client_id != client.client_id:
        raise ch.invalid_session("session_unknown")
    if flow.jkt != jkt:
        raise ch.invalid_session("dpop_key_mismatch")
    account = db.session.get(Account, flow.account_id)
    if account is None or not account.is_active:
        raise ch.invalid_session("session_expired")
    if flow.state == "password_change_required" and "new_password" in form:
        try:
            passwords.change_password(account, form.get("new_password", ""),
                                      reason="must_change" if account.must_change_password
                                      else "expired")
        except passwords.PasswordRejectedError as exc:
            raise ch.insufficient("password_rejected", auth_session=auth_session,
                                  violations=exc.violations) from None
        return _device_step(auth_session, flow, account)
    if flow.state in ("device_conflict", "otp_required") and form.get("takeover") == "confirm":
        return _send_otp(auth_session, flow, account)
    if flow.state == "otp_required" and "otp" in form:
        return _take_over(auth_session, flow, account, form.get("otp", ""), address)
    raise ch.invalid_request("unexpected_step", "This step does not fit the auth_session.")


def _device_step(auth_session: str, flow: DeviceLogin, account: Account) -> str:
    claim = devices.DeviceClaim(flow.device_id, flow.device_name, flow.jkt, flow.client_id)
    active = devices.active_device(account.id)
    if active is None or devices.is_same_device(active, claim):
        return _finish(auth_session, flow, account, active, takeover=False)
    flow.state = "device_conflict"
    flow.expected_version = active.version
    _save(auth_session, flow)
    emit("device.conflict", account_id=account.id, client_id=flow.client_id, commit=True)
    raise ch.insufficient("device_conflict", auth_session=auth_session, active_device={
        "name": active.device_name,
        "last_seen_at": as_utc(active.last_seen_at).isoformat(timespec="seconds"),
    })


def _send_otp(auth_session: str, flow: DeviceLogin, account: Account) -> str:
    try:
        sent = otp.issue(account_id=account.id, phone=account.phone, purpose=OTP_PURPOSE,
                         flow_id=auth_session)
    except otp.OtpError as exc:
        raise ch.insufficient(exc.code, auth_session=auth_session,
                              retry_after=getattr(exc, "retry_after", None)) from None
    db.session.commit()
    flow.state = "otp_required"
    _save(auth_session, flow)
    raise ch.insufficient("otp_required", auth_session=auth_session,
                          otp_sent_to=sent.masked_phone, expires_in=sent.expires_in)


def _take_over(auth_session: str, flow: DeviceLogin, account: Account, code: str,
               address: str) -> str:
    try:
        attempt = Attempt(flow.login, address).begin()
    except (LockedError, ThrottledError) as exc:
        raise ch.insufficient("account_locked", retry_after=exc.retry_after) from None
    try:
        otp.verify(account_id=account.id, purpose=OTP_PURPOSE, flow_id=auth_session, code=code)
    except otp.OtpError as exc:
        attempt.failed(account.id)
        raise ch.insufficient(exc.code, auth_session=auth_session) from None
    attempt.succeeded()
    flow.amr = ["pwd", "otp", "sms"]
    active = devices.active_device(account.id)
    if active is None or active.version != flow.expected_version:
        store().delete(_key(auth_session))
        raise ch.invalid_session("device_changed")
    return _finish(auth_session, flow, account, active, takeover=True)


def _finish(auth_session, flow: DeviceLogin, account: Account, active, *, takeover: bool):
    """Session, device compare-and-set, what the old device loses, then the code."""
    old = devices.snapshot(active) if active is not None else None
    _, session = sessions.start_session(account, amr=flow.amr, kind="app",
                                        device_id=flow.device_id)
    claim = devices.DeviceClaim(flow.device_id, flow.device_name, flow.jkt, flow.client_id)
    try:
        devices.bind(account, claim, session.sid,
                     expected_version=old["version"] if old else None)
    except devices.DeviceChangedError:
        sessions.end_session(session, "device_changed")
        store().delete(_key(auth_session))
        raise ch.invalid_session("device_changed") from None
    if old is not None:
        devices.replace(account, old, claim, takeover=takeover)
    if flow.state != "started":  # a record exists only once a step was saved
        store().delete(_key(auth_session))
    code = secrets.token_urlsafe(32)
    ctx = session_context(session, resource=current_app.config["DEFAULT_RESOURCE"],
                          jkt=flow.jkt)
    store_code(code, client_id=flow.client_id, redirect_uri=None, scope=flow.scope,
               code_challenge=flow.code_challenge, ctx=ctx)
    return code
