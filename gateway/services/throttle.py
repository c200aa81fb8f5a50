"""Counting failures atomically in the store, so concurrent guesses get no extra tries.

Every attempt first *reserves* a try with an atomic increment; only reservations within the
threshold go on to check the password or OTP. Fifty simultaneous wrong passwords therefore
verify at most `threshold` times. Keys share the login name's hash tag (Redis Cluster-safe).

Exceptions::

    LockedError       the login name is locked for `retry_after` seconds
    ThrottledError    the source address caused too many failures
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, request

from gateway.errors import GatewayError
from gateway.services.events import emit
from gateway.store.access import store
from policies.lockout import address_limit, lock_duration, rules_from_config

DAY = 24 * 3600


class LockedError(GatewayError):
    status = 429
    code = "account_locked"

    def __init__(self, retry_after: int):
        super().__init__(detail=f"retry after {retry_after}s")
        self.retry_after = max(1, retry_after)


class ThrottledError(GatewayError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int):
        super().__init__(detail=f"retry after {retry_after}s")
        self.retry_after = max(1, retry_after)


def _tag(login: str) -> str:
    # Hashed so the store never holds social-insurance numbers in key names.
    digest = hashlib.sha256(f"login:{login}".encode()).hexdigest()[:32]
    return "{lg:" + digest + "}"


def client_address() -> str:
    """The address ProxyFix derived from GATEWAY_TRUSTED_PROXIES (socket address when 0)."""
    return request.remote_addr or "unknown"


class Attempt:
    """One reserved try for a login name from an address; report how it ended."""

    def __init__(self, login: str, address: str):
        self.rules = rules_from_config(current_app.config)
        self.tag = _tag(login)
        self.address = address
        self.reserved = 0

    def check_not_locked(self) -> None:
        """For paths that start something (recovery) without checking a secret yet."""
        now = int(time.time())
        lock = store().get(f"{self.tag}:lock")
        if lock is not None and int(lock) > now:
            raise LockedError(int(lock) - now)

    def begin(self) -> Attempt:
        s = store()
        now = int(time.time())
        lock, global_failures, address_failures = s.get_many([
            f"{self.tag}:lock", f"global:fail:{now // 60 - 1}", f"addr:{self.address}:fail"])
        if lock is not None and int(lock) > now:
            raise LockedError(int(lock) - now)
        limit = address_limit(int(global_failures or 0), self.rules)
        if int(address_failures or 0) >= limit:
            raise ThrottledError(self.rules.address_window)
        # The lock is read again with the reservation: a lock set between the first check
        # and the increment (by the try that crossed the threshold) must stop this one too.
        self.reserved, lock = s.incr_get(f"{self.tag}:tries", DAY, f"{self.tag}:lock")
        if lock is not None and int(lock) > now:
            raise LockedError(int(lock) - now)
        if self.reserved > self.rules.threshold:
            raise LockedError(self._lock_left(now))
        return self

    def _lock_left(self, now: int) -> int:
        lock = store().get(f"{self.tag}:lock")
        return (int(lock) - now) if lock is not None else lock_duration(1, self.rules)

    def succeeded(self) -> None:
        store().delete(f"{self.tag}:tries")

    def failed(self, account_id: int | None = None) -> None:
        s = store()
        now = int(time.time())
        s.incr(f"addr:{self.address}:fail", self.rules.address_window)
        s.incr(f"global:fail:{now // 60}", 180)
        if self.reserved >= self.rules.threshold:
            level = s.incr(f"{self.tag}:level", DAY)
            duration = lock_duration(level, self.rules)
            s.put(f"{self.tag}:lock", str(now + duration), duration)
            s.delete(f"{self.tag}:tries")
            if account_id is not None:
                emit("account.locked", account_id=account_id, seconds=duration, level=level)


def count_start(kind: str, address: str, limit: int) -> None:
    """Starting something that sends an SMS (a recovery) is rate-limited per address, so
    one source cannot make the gateway text thousands of phones (SMS pumping)."""
    window = current_app.config["ADDRESS_FAILURE_WINDOW"]
    if store().incr(f"addr:{address}:{kind}", window) > limit:
        raise ThrottledError(window)
