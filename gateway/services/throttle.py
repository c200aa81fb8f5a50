"""Counting failures atomically in the store, so concurrent guesses get no extra tries.

Every attempt first *reserves* its place with atomic increments — one per login name, one per
source address — and only then checks the password or OTP (policies/lockout.py decides):

* per login name: reservations within `LOCKOUT_THRESHOLD` go on, so fifty simultaneous wrong
  passwords verify at most `threshold` times, then the name is locked;
* per address (IPv6: its /64, policies/addresses.py): the reservation's place among the
  window's unredeemed failures and attempts in flight gives the verdict — go on, wait
  `ADDRESS_DELAY_MS` first, or (only under the global alarm) refuse. A success hands its own
  reservation back and redeems the failures of the same name from the same address, so the
  many people behind one carrier address who mistype and then sign in leave nothing behind
  (docs/security.md, "Carrier-grade NAT").

Windows are buckets of the injected clock's time (gateway.clock), so tests and the simulation
(bench/cgnat.py) move them; the store's TTLs only clean up. Waiting happens after the
reservations, holding no store lock and no database transaction.

Keys: `{lg:<sha256 of the login>}…` for a name, `{ad:<sha256 of the address key>}…` for an
address (each in one hash slot); neither holds a number or an address in clear. Staff
usernames of the console count in a key space of their own (`{sf:…}`, ``space="sf"``), so a
citizen's login name and a staff username never share a lock.

Exceptions::

    LockedError       the login name is locked for `retry_after` seconds
    ThrottledError    the global alarm is on and the address is over its limit
"""

from __future__ import annotations

import hashlib

from flask import current_app, request

from gateway.clock import clock
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.metrics import ADDRESS_VERDICTS
from gateway.services.events import emit
from gateway.store.access import later, store
from policies.addresses import address_key
from policies.lockout import LockoutRules, address_verdict, lock_duration

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


def _digest(kind: str, value: str) -> str:
    # Hashed so the store never holds social-insurance numbers or addresses in key names.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def _tag(login: str, space: str = "lg") -> str:
    return "{" + space + ":" + _digest("login", login) + "}"


def _address_tag(address: str) -> str:
    return "{ad:" + _digest("addr", address_key(address)) + "}"


def client_address() -> str:
    """The address ProxyFix derived from GATEWAY_TRUSTED_PROXIES (socket address when 0)."""
    return request.remote_addr or "unknown"


def _locked_for(lock: str | None, now: int) -> int:
    return int(lock) - now if lock is not None and int(lock) > now else 0


def _wait(delay_ms: int) -> None:
    """Waits holding nothing: the request's read-only transaction is ended first (its
    connection goes back to the pool; loaded objects reload when next used)."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("an attempt must not wait with unsaved changes in the session")
    session.rollback()
    clock().sleep(delay_ms / 1000)


class Attempt:
    """One reserved try for a login name from an address; report how it ended."""

    SPACES = ("lg", "sf")  # citizens' login names, staff usernames

    def __init__(self, login: str, address: str, *, space: str = "lg"):
        if space not in self.SPACES:
            raise ValueError(f"unknown key space {space!r}")
        self.rules = LockoutRules.from_config(current_app.config)
        self.tag = _tag(login, space)
        # the pair key (a name's failures from one address) stays apart per space too
        self.name = _digest("login" if space == "lg" else space, login)
        self.address = _address_tag(address)
        self.reserved = 0       # this try's place among the name's consecutive tries
        self.delay_ms = 0       # how long the address verdict made it wait
        self._window = 0
        self._redeemable = 0    # this name's unredeemed failures from this address

    def _address_keys(self, window: int) -> tuple[str, str, str]:
        base = f"{self.address}:{window}"
        return f"{base}:try", f"{base}:ok", f"{base}:pair:{self.name}"

    def check_not_locked(self) -> None:
        """For paths that start something (recovery) without checking a secret yet."""
        now = clock().timestamp()
        left = _locked_for(store().get(f"{self.tag}:lock"), now)
        if left:
            raise LockedError(left)

    def begin(self) -> Attempt:
        """Reserves the try, waits if the address verdict says so, and returns self; the
        caller then checks the secret and calls failed() or succeeded()."""
        self.delay_ms = self.admit()
        if self.delay_ms:
            _wait(self.delay_ms)
        return self

    def admit(self) -> int:
        """Reserves the try (per name, per address); the milliseconds to wait before checking
        the secret. Raises LockedError or ThrottledError, reserving nothing that would count."""
        s = store()
        rules = self.rules
        now = clock().timestamp()
        window = now // rules.address_window
        tried, ok, pair = self._address_keys(window)
        ttl = 2 * rules.address_window
        # One round trip: reserve on the name and the address, then read the lock, the
        # global count and the address's credits (after the increments, on the same
        # connection, so a lock set by a racing try that crossed the threshold stops this one
        # too). A locked name, or an address refused under the global alarm, hands both
        # reservations back (a round trip only those cases pay): a refused attempt leaves
        # nothing counted on the name, and nothing tried from the address.
        (self.reserved, position), (lock, global_failures, credit, redeemable) = s.incr_many(
            [(f"{self.tag}:tries", DAY), (tried, ttl)],
            [f"{self.tag}:lock", f"global:fail:{now // 60 - 1}", ok, pair])
        verdict = address_verdict(position - int(credit or 0), int(global_failures or 0), rules)
        if _locked_for(lock, now) or verdict.refuse:
            s.incr_many([(f"{self.tag}:tries", DAY, -1), (ok, ttl, 1)])
            if _locked_for(lock, now):
                raise LockedError(_locked_for(lock, now))
            ADDRESS_VERDICTS.labels("refused").inc()
            raise ThrottledError((window + 1) * rules.address_window - now)
        if self.reserved > rules.threshold:
            s.incr(ok, ttl)  # the name refused: nothing was tried from the address
            raise LockedError(self._lock_left(now))
        self._window, self._redeemable = window, int(redeemable or 0)
        if verdict.delay_ms:
            ADDRESS_VERDICTS.labels("delayed").inc()
        return verdict.delay_ms

    def _lock_left(self, now: int) -> int:
        return _locked_for(store().get(f"{self.tag}:lock"), now) or lock_duration(1, self.rules)

    def succeeded(self) -> None:
        """The name starts afresh; the address gets back this try and this name's earlier
        failures from it (NIST SP 800-63B-4: disregard them after a success)."""
        _, ok, pair = self._address_keys(self._window)
        # One round trip, and none of its own where the caller batches (a give-back whose
        # answer nobody reads: it rides with the request's next store call).
        later("incr_many", [(ok, 2 * self.rules.address_window, 1 + self._redeemable)],
              deletes=[f"{self.tag}:tries", pair])

    def failed(self, account_id: int | None = None) -> int:
        """The address keeps this try's reservation as its failure. Returns the seconds of
        the lock this failure set on the name (0: none)."""
        s = store()
        now = clock().timestamp()
        _, _, pair = self._address_keys(self._window)
        s.incr_many([(pair, 2 * self.rules.address_window), (f"global:fail:{now // 60}", 180)])
        if self.reserved >= self.rules.threshold:
            level = s.incr(f"{self.tag}:level", DAY)
            duration = lock_duration(level, self.rules)
            s.put(f"{self.tag}:lock", str(now + duration), duration)
            s.delete(f"{self.tag}:tries")
            if account_id is not None:
                emit("account.locked", account_id=account_id, seconds=duration, level=level)
            return duration
        return 0


def count_start(kind: str, address: str, limit: int) -> None:
    """Starting something that sends an SMS (a recovery) is rate-limited per address, so
    one source cannot make the gateway text thousands of phones (SMS pumping)."""
    window = current_app.config["ADDRESS_FAILURE_WINDOW"]
    if store().incr(f"{_address_tag(address)}:start:{kind}", window) > limit:
        raise ThrottledError(window)
