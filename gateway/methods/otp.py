"""One-time codes sent by SMS: the one engine every flow uses (sign-in on a new device,
recovery, phone change, ...). Rules and numbers live in policies/otp_rules.py.

One module past 250 lines on purpose: issuing, verifying and verify_in_flow share the key
layout below and the reservation order that makes them safe under concurrency; kept
together, the whole engine can be checked against the store keys in one read.

A code is bound to an account, a purpose and a flow id: a code issued for "takeover" in one
flow never verifies for "recovery" or for another flow. The store holds only a keyed digest
(HMAC-SHA256 under a key derived from SECRET_KEY), under keys that share the account's hash
tag (Redis Cluster-safe); the SMS goes through the outbox, so it leaves only if the caller's
transaction commits.

Every verify() first *reserves* a try on the code with an atomic increment, so twenty
simultaneous guesses still compare at most ``OTP_MAX_ATTEMPTS`` times, and the right code is
consumed with ``take`` — twenty simultaneous right answers give one success.

A flow that must not tell whether anyone is behind it (forgot password: a number and phone
that match no account still get a flow and an answer) verifies with verify_in_flow() instead:
its limits are counted on what the caller holds — the flow and a *subject* (the login name) —
never on the account, and it does the same work whether or not a code was ever issued, so
the answer depends only on what the caller did.

Store keys (``A`` = ``{acct:<account id>}``)::

    A:otp:<purpose>:<flow>                 {"d": digest, "g": generation, "exp": unix time,
                                            "iat": the clock's time of issue}
    A:otp:void                             the clock's time of the last void_codes (phone
                                           changed): a code issued then or before is void
    A:otp:<purpose>:<flow>:cooldown        set while a resend is refused (value: issue time)
    A:otp:<purpose>:<flow>:tries           tries on the code stored now (cleared in the
                                           round trip that stores a new one)
    A:otp:failures                         wrong tries in the last 24 h, across codes
    A:otp:daily:<yyyymmdd>                 codes sent to the account this UTC day
    {ph:<keyed hash>}:otp:daily:<yyyymmdd> codes sent to the number this UTC day
    S:otp:<purpose>:<flow>                 a code issued for a subject and no account
                                           (issue(account_id=None, subject=...)): an
                                           application's status look-up
    S:otp:<purpose>:<flow>:cooldown        its resend cooldown
    S:otp:<purpose>:<flow>:tries           verify_in_flow: tries on the flow's code
    S:otp:failures                         verify_in_flow: wrong tries on the subject in 24 h

(``S`` = ``{sb:<keyed hash of the subject>}``.)

Exceptions::

    OtpError(code)   a GatewayError; ``code`` is one of otp_invalid, otp_expired,
                     otp_attempts_exceeded, otp_budget_exhausted (verify and issue),
                     otp_rate_limited, otp_daily_cap (issue; ``retry_after`` in seconds)

When the account's phone number changes (gateway/services/counter.py), the void mark
(gateway/services/otp_void.py) makes every code already sent — to the old number — worthless
at once, whatever flow it belongs to: the SMS factor moves to the new number entirely, and a
code in the old SIM's inbox completes nothing (a recovery, a device takeover).

Refusals emit ``otp.failed`` and commit it at once (as ``login.failed`` is), so the audit
trail survives whatever the caller does next: call issue()/verify() with no pending work you
would roll back. ``otp.issued``/``otp.verified`` and the SMS join the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from flask import current_app

from gateway.clock import clock
from gateway.crypto.secrets import derive_key
from gateway.errors import GatewayError, ValidationError
from gateway.services.events import emit
from gateway.services.otp_void import void_key, voided
from gateway.services.outbox import enqueue_sms
from gateway.store.access import later, store
from policies import otp_rules as rules
from policies.identifiers import IdentifierError, mask_phone, parse_phone

FAILURE_WINDOW = 24 * 3600
_NO_CODE = "0" * 64  # compared against when no code exists: the same work as a real digest
_TOO_MANY = {rules.RATE_LIMITED, rules.DAILY_CAP, rules.BUDGET_EXHAUSTED}


class OtpError(GatewayError):
    """A code was refused, or none could be sent; ``code`` says which (stable)."""

    status = 400
    code = rules.INVALID

    def __init__(self, code: str, *, retry_after: int | None = None):
        super().__init__(code, field="otp")
        self.status = 429 if code in _TOO_MANY else 400
        self.retry_after = retry_after


@dataclass(frozen=True)
class OtpChallenge:
    """What the person may be told: where the code went, how long it lives, when to resend."""

    masked_phone: str  # "+84 9** *** *23"
    expires_in: int  # seconds
    resend_after: int  # seconds


def _server_key() -> bytes:
    return derive_key(b"vssid-gateway otp v1", encryption=False)


def _check(account_id, purpose, flow_id) -> None:
    # Programming errors, not user input: flows pass their own ids.
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise TypeError("account_id must be an int")
    if not rules.is_valid_purpose(purpose):
        raise ValueError("purpose must match [a-z][a-z0-9_]{0,31}")
    if not rules.is_valid_flow_id(flow_id):
        raise ValueError("flow_id must match [A-Za-z0-9_-]{1,64}")


def _tag(account_id: int) -> str:
    return "{acct:" + str(account_id) + "}"


def _code_key(account_id: int, purpose: str, flow_id: str) -> str:
    return f"{_tag(account_id)}:otp:{purpose}:{flow_id}"


def _tries_key(code_key: str) -> str:
    return f"{code_key}:tries"


def _failures_key(account_id: int) -> str:
    return f"{_tag(account_id)}:otp:failures"


def _phone_tag(key: bytes, phone: str) -> str:
    # Keyed, so key names in the store never reveal a phone number.
    digest = hmac.new(key, f"phone:{phone}".encode(), hashlib.sha256).hexdigest()[:32]
    return "{ph:" + digest + "}"


def _subject_tag(key: bytes, subject: str) -> str:
    digest = hmac.new(key, f"subject:{subject}".encode(), hashlib.sha256).hexdigest()[:32]
    return "{sb:" + digest + "}"


def _subject_failures_key(key: bytes, subject: str) -> str:
    return f"{_subject_tag(key, subject)}:otp:failures"


def _subject_code_key(key: bytes, subject: str, purpose: str, flow_id: str) -> str:
    return f"{_subject_tag(key, subject)}:otp:{purpose}:{flow_id}"


def _refuse(code: str, *, account_id: int | None, purpose: str, stage: str,
            retry_after: int | None = None):
    emit("otp.failed", account_id=account_id, purpose=purpose, reason=code, stage=stage,
         commit=True)
    raise OtpError(code, retry_after=retry_after)


def issue(*, account_id: int | None, phone: str, purpose: str, flow_id: str,
          locale: str = "vi", subject: str | None = None) -> OtpChallenge:
    """Send a new code for (account, purpose, flow) to ``phone``; it replaces any earlier one.

    Refused with otp_budget_exhausted (too many wrong codes in 24 h: a new one could not be
    used), otp_rate_limited (a resend within OTP_RESEND_COOLDOWN) or otp_daily_cap. With a
    ``subject`` (a code that verify_in_flow() will check), that subject's budget counts too.
    With no account (``account_id=None``, a ``subject`` required: an application's status
    look-up, which has a declared phone and no account yet) the code is kept under the
    subject, where verify_in_flow(account_id=None) looks for it; the phone's daily cap and
    the subject's budget apply, there is no account cap.
    """
    if account_id is None:
        if subject is None or not rules.is_valid_purpose(purpose) \
                or not rules.is_valid_flow_id(flow_id):
            raise ValueError("a code without an account needs a subject, purpose and flow")
    else:
        _check(account_id, purpose, flow_id)
    try:
        phone = parse_phone(phone)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field="phone", detail=str(exc)) from None
    cfg = current_app.config
    limits = rules.OtpLimits.from_config(cfg)
    s, key = store(), _server_key()
    now, ts = clock().now(), clock().timestamp()
    code_key = (_code_key(account_id, purpose, flow_id) if account_id is not None
                else _subject_code_key(key, subject, purpose, flow_id))
    refuse = {"account_id": account_id, "purpose": purpose, "stage": "issue"}

    # One round trip: the cool-down claimed, the budgets read, and the day's counts (the
    # account's, the number's) taken. A refusal for the budget claims the cool-down too: the
    # next try waits for it as well, and is refused for the budget first all the same. A
    # refusal for the budget or the cool-down hands the day's counts back (nothing was
    # sent). A refusal for the daily cap keeps the account's count, and the number's unless
    # the account's cap refused first (one account at its cap spends nothing of the
    # number's, which other accounts may share), as when they were counted one by one.
    budgets = ([_failures_key(account_id)] if account_id is not None else []) + (
        [_subject_failures_key(key, subject)] if subject is not None else [])
    cooldown_key = f"{code_key}:cooldown"
    day, day_ttl = rules.utc_day(now), rules.seconds_to_end_of_utc_day(now)
    daily = ([(f"{_tag(account_id)}:otp:daily:{day}", day_ttl, limits.daily_cap_account)]
             if account_id is not None else []) + [
        (f"{_phone_tag(key, phone)}:otp:daily:{day}", day_ttl, limits.daily_cap_phone)]
    added, (*failures, since), (counts, _) = s.batch([
        ("add", (cooldown_key, str(ts), limits.resend_cooldown), {}),
        ("get_many", ([*budgets, cooldown_key],), {}),
        ("incr_many", ([(k, ttl) for k, ttl, _ in daily],), {})])
    budget_spent = any(int(f or 0) >= limits.failure_budget for f in failures)
    if budget_spent or not added:
        s.incr_many([(k, ttl, -1) for k, ttl, _ in daily])
    if budget_spent:
        _refuse(rules.BUDGET_EXHAUSTED, **refuse)
    if not added:
        left = limits.resend_cooldown - (ts - int(since)) if since else limits.resend_cooldown
        _refuse(rules.RATE_LIMITED, retry_after=max(1, left), **refuse)
    over = [rules.over_cap(count, cap) for count, (_, _, cap) in zip(counts, daily, strict=True)]
    if any(over):
        if len(daily) == 2 and over[0]:
            s.incr_many([(daily[1][0], day_ttl, -1)])
        _refuse(rules.DAILY_CAP, retry_after=day_ttl, **refuse)

    code = rules.format_code(secrets.randbelow(10**rules.CODE_DIGITS))
    record = {"d": rules.code_digest(key, purpose, flow_id, code),
              "g": secrets.token_hex(8), "exp": ts + limits.ttl, "iat": now.timestamp()}
    # A new code starts with no tries (verify() counts them per account code; a subject's
    # count belongs to its flow, verify_in_flow, and survives a resend). A caller that
    # batches (gateway.store.access.carrying) sends it with its next store call — the
    # flow's next state — before its transaction commits the SMS.
    later("put", code_key, json.dumps(record), limits.ttl,
          clear=[_tries_key(code_key)] if account_id is not None else [])
    enqueue_sms(phone, "otp", {"code": code, "minutes": rules.validity_minutes(limits.ttl),
                               "purpose": purpose}, locale, expires_in=limits.ttl)
    masked = mask_phone(phone)
    emit("otp.issued", account_id=account_id, purpose=purpose, phone=masked)
    return OtpChallenge(masked_phone=masked, expires_in=limits.ttl,
                        resend_after=limits.resend_cooldown)


def verify(*, account_id: int, purpose: str, flow_id: str, code) -> None:
    """Accept ``code`` once for (account, purpose, flow), or raise OtpError.

    otp_expired: no live code (never issued, expired, replaced, or already used);
    otp_invalid: wrong or malformed (both count as a wrong try); otp_attempts_exceeded: the
    code took OTP_MAX_ATTEMPTS wrong tries and is burned; otp_budget_exhausted: the account's
    wrong tries in 24 h reached OTP_FAILURE_BUDGET (a resend does not reset it).
    """
    _check(account_id, purpose, flow_id)
    limits = rules.OtpLimits.from_config(current_app.config)
    s = store()
    code_key, failures_key = _code_key(account_id, purpose, flow_id), _failures_key(account_id)
    refuse = {"account_id": account_id, "purpose": purpose, "stage": "verify"}

    # The try is reserved as the code is read, in one round trip (one slot: the account's).
    # A try counted on no code, or past the budget, is refused below all the same.
    tries_key = _tries_key(code_key)
    (tries,), (raw, failures, mark) = s.incr_many(
        [(tries_key, limits.ttl)], [code_key, failures_key, void_key(account_id)])
    if voided(raw, mark):
        raw = None  # sent to a number the account no longer has
    failures = int(failures or 0)
    if failures >= limits.failure_budget:
        _refuse(rules.BUDGET_EXHAUSTED, **refuse)
    if raw is None:
        _refuse(rules.EXPIRED, **refuse)
    record = json.loads(raw)
    refusal = rules.before_compare(tries=tries, failures=failures, limits=limits)
    if refusal:
        _refuse(refusal, **refuse)

    if rules.is_well_formed(code) and rules.digests_match(
        rules.code_digest(_server_key(), purpose, flow_id, code), record["d"]
    ):
        # The code and its count of tries in one round trip.
        taken = s.take(code_key, tries_key)
        if taken == raw:
            emit("otp.verified", account_id=account_id, purpose=purpose)
            return
        if taken is not None:
            # A resend replaced the code between our read and take: the old code no longer
            # counts, and the new one goes back (unless a newer one is there already).
            newer = json.loads(taken)
            left = newer["exp"] - clock().timestamp()
            if left > 0:
                s.add(code_key, taken, left)
        _refuse(rules.EXPIRED, **refuse)

    failures = s.incr(failures_key, FAILURE_WINDOW)
    _refuse(rules.after_wrong_try(tries=tries, failures=failures, limits=limits), **refuse)


def verify_in_flow(*, account_id: int | None, subject: str, purpose: str, flow_id: str,
                   code, expires_at: int) -> None:
    """Accept ``code`` once, with limits that are the flow's and the subject's, or raise.

    For flows whose caller must not learn whether an account is behind them: ``account_id``
    is None when none is (for a recovery no code was ever issued, and none can verify; an
    application's status look-up finds the code issued under its subject, if any),
    ``subject`` is what the caller named (the login name, the application's reference),
    ``expires_at`` the flow's code deadline (unix time,
    the same for everyone). The answers follow from the caller's own tries alone:
    otp_budget_exhausted once the subject had OTP_FAILURE_BUDGET wrong tries in 24 h,
    otp_expired past ``expires_at``, otp_attempts_exceeded from the OTP_MAX_ATTEMPTS-th wrong
    try on this flow, otp_invalid otherwise. The store work is the same with or without an
    account (the code is looked up under the subject's key either way), and every refusal
    emits ``otp.failed`` (account — when there is none).
    """
    if account_id is not None:
        _check(account_id, purpose, flow_id)
    elif not rules.is_valid_purpose(purpose) or not rules.is_valid_flow_id(flow_id):
        raise ValueError("purpose or flow_id malformed")
    limits = rules.OtpLimits.from_config(current_app.config)
    s, key = store(), _server_key()
    tag = _subject_tag(key, subject)
    failures_key = _subject_failures_key(key, subject)
    tries_key = f"{tag}:otp:{purpose}:{flow_id}:tries"
    code_key = (_code_key(account_id, purpose, flow_id) if account_id is not None
                else _subject_code_key(key, subject, purpose, flow_id))
    refuse = {"account_id": account_id, "purpose": purpose, "stage": "verify"}
    now = clock().timestamp()

    failures = int(s.get(failures_key) or 0)
    if failures >= limits.failure_budget:
        _refuse(rules.BUDGET_EXHAUSTED, **refuse)
    if now >= expires_at:
        _refuse(rules.EXPIRED, **refuse)
    tries = s.incr(tries_key, max(1, expires_at - now))
    refusal = rules.before_compare(tries=tries, failures=failures, limits=limits)
    if refusal:
        _refuse(refusal, **refuse)

    # The void mark is read with the code either way: the same store work with or without
    # an account (its key is never written when there is none).
    mark_key = void_key(account_id) if account_id is not None else f"{tag}:otp:void"
    raw, mark = s.get_many([code_key, mark_key])
    if voided(raw, mark):
        raw = None  # sent to a number the account no longer has
    expected = json.loads(raw)["d"] if raw is not None else _NO_CODE
    well_formed = rules.is_well_formed(code)
    given = rules.code_digest(key, purpose, flow_id, code if well_formed else "")
    if rules.digests_match(given, expected) and well_formed and raw is not None:
        taken = s.take(code_key)
        if taken == raw:
            s.delete(tries_key)
            emit("otp.verified", account_id=account_id, purpose=purpose)
            return
        if taken is not None:  # replaced meanwhile: the newer code goes back
            left = json.loads(taken)["exp"] - now
            if left > 0:
                s.add(code_key, taken, left)
        _refuse(rules.EXPIRED, **refuse)  # a racing right answer won: this one is spent
    failures = s.incr(failures_key, FAILURE_WINDOW)
    _refuse(rules.after_wrong_try(tries=tries, failures=failures, limits=limits), **refuse)
