"""The app's native sign-in, one active device per account, on the flow record.

    (password) ──► [password_change_required] ──► device check
    device check: no active device / the same device ──► signed in
                  another device ──► device_conflict ──(takeover)──► otp_required
                  otp_required ──(otp)──► compare-and-set the device ──► signed in

The record (kind ``device_login``; gateway.flows.record draws its table) is the
``auth_session``: bound to the client and to the DPoP key that started it, so any other key
or client is refused (FlowBindingError naming ``client_id`` or ``jkt``). It is stored only
once a step needs it, and consumed (taken, by one request among racers) when the sign-in
ends. What this module returns is a SignedIn; the protocol layer turns it into a code bound
to the same key (gateway.oidc.challenge.issue_code), so only the device that signed in can
redeem it. Answers that are not a sign-in are InsufficientAuthorizationError (the draft's
``insufficient_authorization``, with the app's ``reason`` as code) or a FlowError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.clock import as_utc
from gateway.errors import AuthenticationError, GatewayError
from gateway.extensions import db
from gateway.flows import record as flows
from gateway.flows.record import DEVICE_LOGIN, FlowNotFoundError, FlowRecord, FlowStateError
from gateway.methods import otp
from gateway.methods.password import IssuedPasswordExpiredError, check_password
from gateway.models import Account, LoginSession
from gateway.services import devices, passwords, sessions
from gateway.services.events import emit
from gateway.services.throttle import Attempt, LockedError, ThrottledError

OTP_PURPOSE = "takeover"
STEPS = ("new_password", "takeover", "otp")  # in the order a request's fields are tried


class InsufficientAuthorizationError(GatewayError):
    """The sign-in does not end here: ``code`` is the app's reason (device_conflict,
    otp_required, invalid_credentials, ...); ``extra`` the answer's other members."""

    def __init__(self, reason: str, **extra):
        super().__init__(reason)
        self.extra = {k: v for k, v in extra.items() if v is not None}


@dataclass(frozen=True)
class Device:
    """What the app said about itself and the code it wants (parsed by the view)."""

    client_id: str
    jkt: str
    device_id: str
    device_name: str
    scope: str
    code_challenge: str


@dataclass(frozen=True)
class Session:
    """What a code is issued from (gateway.oidc.grants.session_context reads these), noted
    before the sign-in's commits: reading them from the committed LoginSession would load
    the row again."""

    account_id: int
    sid: str
    auth_time: datetime
    acr: str
    amr: list[str]


@dataclass(frozen=True)
class SignedIn:
    session: Session
    client_id: str
    jkt: str
    scope: str
    code_challenge: str


def _bound(client_id: str, jkt: str) -> dict[str, str]:
    return {"client_id": client_id, "jkt": jkt}


def start(device: Device, login: str | None, password: str, *, address: str) -> SignedIn:
    """First call: the password."""
    try:
        account = check_password(login, password, address=address)
    except IssuedPasswordExpiredError:
        raise InsufficientAuthorizationError("issued_password_expired") from None
    except AuthenticationError:
        raise InsufficientAuthorizationError("invalid_credentials") from None
    except (LockedError, ThrottledError) as exc:
        reason = "account_locked" if isinstance(exc, LockedError) else "too_many_attempts"
        raise InsufficientAuthorizationError(reason, retry_after=exc.retry_after) from None
    record = flows.new(DEVICE_LOGIN, bound_to=_bound(device.client_id, device.jkt), context={
        "account_id": account.id, "login": account.bhxh, "device_id": device.device_id,
        "device_name": device.device_name, "scope": device.scope,
        "code_challenge": device.code_challenge, "amr": ["pwd"]})
    if passwords.change_required(account):
        flows.advance(record, "password_change_required")
        raise InsufficientAuthorizationError("password_change_required", auth_session=record.id)
    return _device_step(record, account)


def resume(auth_session, steps: dict[str, str], *, client_id: str, jkt: str,
           address: str) -> SignedIn:
    """A later call. ``steps`` holds the fields of the request that name a step
    (new_password, takeover=confirm, otp); the first one the record's state allows is taken,
    none: FlowStateError."""
    record = flows.load(DEVICE_LOGIN, auth_session, bound_to=_bound(client_id, jkt))
    account = db.session.get(Account, record.context["account_id"])
    if account is None or not account.is_active:
        raise FlowNotFoundError()
    step = next((s for s in STEPS if s in steps and record.allows(s)), None)
    if step == "new_password":
        return _new_password(record, account, steps["new_password"])
    if step == "takeover":
        return _send_otp(record, account)
    if step == "otp":
        return _take_over(record, account, steps["otp"], address)
    raise FlowStateError(DEVICE_LOGIN.name, record.state, "+".join(sorted(steps)) or "nothing")


def _new_password(record: FlowRecord, account: Account, new: str) -> SignedIn:
    """Checked first; then the record is claimed, so one request among racers changes the
    password (a second change would revoke the session the first one signed in with)."""
    try:
        passwords.validate_new_password(account, new)
    except passwords.PasswordRejectedError as exc:
        raise InsufficientAuthorizationError("password_rejected", auth_session=record.id,
                                             violations=exc.violations) from None
    record = flows.claim(record)
    passwords.change_password(account, new, validated=True,
                              reason="must_change" if account.must_change_password else "expired")
    return _device_step(record, account)


def _claim(record: FlowRecord) -> devices.DeviceClaim:
    ctx = record.context
    return devices.DeviceClaim(ctx["device_id"], ctx["device_name"], record.bound_to["jkt"],
                               record.bound_to["client_id"])


def _device_step(record: FlowRecord, account: Account) -> SignedIn:
    active = devices.active_device(account.id)
    if active is None or devices.is_same_device(active, _claim(record)):
        return _finish(record, account, active, takeover=False)
    flows.advance(record, "device_conflict", expected_version=active.version)
    emit("device.conflict", account_id=account.id, client_id=record.bound_to["client_id"],
         commit=True)
    raise InsufficientAuthorizationError("device_conflict", auth_session=record.id,
                                         active_device={
        "name": active.device_name,
        "last_seen_at": as_utc(active.last_seen_at).isoformat(timespec="seconds"),
    })


def _send_otp(record: FlowRecord, account: Account) -> SignedIn:
    try:
        sent = otp.issue(account_id=account.id, phone=account.phone, purpose=OTP_PURPOSE,
                         flow_id=record.id)
    except otp.OtpError as exc:
        raise InsufficientAuthorizationError(exc.code, auth_session=record.id,
                                             retry_after=exc.retry_after) from None
    # The code (waiting in the view's batch) and the record's new state in one round trip,
    # both stored before the transaction that sends the SMS commits.
    flows.advance(record, "otp_required")
    db.session.commit()
    raise InsufficientAuthorizationError("otp_required", auth_session=record.id,
                                         otp_sent_to=sent.masked_phone,
                                         expires_in=sent.expires_in)


def _take_over(record: FlowRecord, account: Account, code: str, address: str) -> SignedIn:
    try:
        attempt = Attempt(record.context["login"], address).begin()
    except (LockedError, ThrottledError) as exc:
        raise InsufficientAuthorizationError("account_locked",
                                             retry_after=exc.retry_after) from None
    try:
        otp.verify(account_id=account.id, purpose=OTP_PURPOSE, flow_id=record.id, code=code)
    except otp.OtpError as exc:
        attempt.failed(account.id)
        raise InsufficientAuthorizationError(exc.code, auth_session=record.id) from None
    attempt.succeeded()
    record.context["amr"] = ["pwd", "otp", "sms"]
    active = devices.active_device(account.id)
    if active is None or active.version != record.context["expected_version"]:
        flows.discard(record)
        raise devices.DeviceChangedError()
    return _finish(record, account, active, takeover=True)


def _finish(record: FlowRecord, account: Account, active, *, takeover: bool) -> SignedIn:
    """Consume the record (one winner; already claimed after a new password; after an OTP,
    the code's own take was the one-winner step, and the record is only forgotten), then
    the session with the device's compare-and-set, and what the old device loses.
    DeviceChangedError when another sign-in won the device (no session was made)."""
    amr = record.context["amr"]
    record = flows.forget(record) if takeover else flows.consume(record)
    old = devices.snapshot(active) if active is not None else None
    claim = _claim(record)
    noted: list[Session] = []

    def bind(started: LoginSession) -> None:
        # The session and the device's compare-and-set in one transaction: one commit, and
        # a lost race leaves no session behind (it is rolled back with the device's change).
        devices.bind(account, claim, started.sid, commit=False,
                     expected_version=old["version"] if old else None)
        noted.append(Session(started.account_id, started.sid, started.auth_time, started.acr,
                             list(started.amr)))

    sessions.start_session(account, amr=amr, kind="app", device_id=record.context["device_id"],
                           also=bind)
    if old is not None:
        devices.replace(account, old, claim, takeover=takeover)
    ctx = record.context
    return SignedIn(noted[0], claim.client_id, claim.jkt, ctx["scope"], ctx["code_challenge"])
