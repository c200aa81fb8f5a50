"""The rules of one-time codes sent by SMS: pure decisions, no I/O (the engine is
gateway/methods/otp.py).

Why these numbers (defaults in config/defaults.py): a 6-digit code has 10^6 values, so the
chance of a guess is bounded by how many guesses are allowed — at most ``max_attempts`` per
code, at most ``failure_budget`` wrong tries per account per 24 h across every code and
resend, and at most ``daily_cap_account`` codes a day. With 5/10/10 an attacker who owns the
password still has about a 1 in 100 000 chance a day, and SMS pumping through one account or
one number is capped. A code lives ``ttl`` seconds (≤ 10 minutes: long enough for a slow SMS,
short enough that a code read later is useless).

Codes are compared as keyed digests: the store never holds a code, only
HMAC-SHA256(key, "<purpose>:<flow_id>:<code>"), so a code is bound to what it was issued for.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CODE_DIGITS = 6
MAX_TTL = 600
_CODE_RE = re.compile(r"[0-9]{6}")
_PURPOSE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_FLOW_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Error codes (stable: programs and tests read them).
INVALID = "otp_invalid"
EXPIRED = "otp_expired"
ATTEMPTS_EXCEEDED = "otp_attempts_exceeded"
BUDGET_EXHAUSTED = "otp_budget_exhausted"
RATE_LIMITED = "otp_rate_limited"
DAILY_CAP = "otp_daily_cap"


@dataclass(frozen=True)
class OtpLimits:
    """The numbers, from the settings only (``from_config``): config/defaults.py holds every
    default, so no second copy lives here to drift from it."""

    ttl: int
    resend_cooldown: int
    max_attempts: int
    failure_budget: int
    daily_cap_account: int
    daily_cap_phone: int

    @classmethod
    def from_config(cls, config) -> OtpLimits:
        return cls(
            ttl=config["OTP_TTL"],
            resend_cooldown=config["OTP_RESEND_COOLDOWN"],
            max_attempts=config["OTP_MAX_ATTEMPTS"],
            failure_budget=config["OTP_FAILURE_BUDGET"],
            daily_cap_account=config["OTP_DAILY_CAP_ACCOUNT"],
            daily_cap_phone=config["OTP_DAILY_CAP_PHONE"],
        )


def settings_problems(config) -> list[tuple[str, str]]:
    """(setting, problem) for every OTP setting out of range; empty when all are sound."""
    problems = []
    if not 1 <= config["OTP_TTL"] <= MAX_TTL:
        problems.append(("OTP_TTL", f"must be between 1 and {MAX_TTL} seconds"))
    for name in ("OTP_RESEND_COOLDOWN", "OTP_MAX_ATTEMPTS", "OTP_FAILURE_BUDGET",
                 "OTP_DAILY_CAP_ACCOUNT", "OTP_DAILY_CAP_PHONE"):
        if config[name] < 1:
            problems.append((name, "must be 1 or more"))
    return problems


def is_well_formed(code) -> bool:
    """Exactly six ASCII digits ("０１２３４５" and "١٢٣٤٥٦" are not codes)."""
    return isinstance(code, str) and _CODE_RE.fullmatch(code) is not None


def format_code(number: int) -> str:
    """A random number below 10**6 as a zero-padded code ("000042")."""
    if not 0 <= number < 10**CODE_DIGITS:
        raise ValueError("a code is below 10**6")
    return f"{number:0{CODE_DIGITS}d}"


def is_valid_purpose(purpose) -> bool:
    return isinstance(purpose, str) and _PURPOSE_RE.fullmatch(purpose) is not None


def is_valid_flow_id(flow_id) -> bool:
    return isinstance(flow_id, str) and _FLOW_RE.fullmatch(flow_id) is not None


def code_digest(key: bytes, purpose: str, flow_id: str, code: str) -> str:
    return hmac.new(key, f"{purpose}:{flow_id}:{code}".encode(), hashlib.sha256).hexdigest()


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def validity_minutes(ttl: int) -> int:
    """Minutes to announce: rounded down, so a person is never promised more time."""
    return max(1, ttl // 60)


def utc_day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d")


def seconds_to_end_of_utc_day(now: datetime) -> int:
    """Lifetime of a daily counter started at ``now`` (at least 1 s)."""
    now = now.astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()) + 1)


def over_cap(count: int, cap: int) -> bool:
    """``count`` is the running total including this request."""
    return count > cap


def before_compare(*, tries: int, failures: int, limits: OtpLimits) -> str | None:
    """Refusal before a code is even compared: ``tries`` already counts this attempt."""
    if failures >= limits.failure_budget:
        return BUDGET_EXHAUSTED
    if tries > limits.max_attempts:
        return ATTEMPTS_EXCEEDED
    return None


def after_wrong_try(*, tries: int, failures: int, limits: OtpLimits) -> str:
    """The answer to a wrong (or malformed) code, counted in both ``tries`` and ``failures``.

    The try that uses up the budget or the code's attempts says so at once, so a person
    learns that a new code (or tomorrow) is needed rather than typing on in vain.
    """
    if failures >= limits.failure_budget:
        return BUDGET_EXHAUSTED
    if tries >= limits.max_attempts:
        return ATTEMPTS_EXCEEDED
    return INVALID
