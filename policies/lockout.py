"""How long a login name stays locked, and what failures from one address cost.

The answer to the question BHXH was asked ("do wrong passwords lock the account?"): yes, but
briefly. Five consecutive failures lock the login name for 1 minute, then 5, then 15 — capped,
so an attacker who knows someone's social-insurance number cannot keep them out for long.
Locks are kept per login name, whether or not an account exists, so a lock says nothing about
existence.

Spraying (one common password over many names) is slowed per source address instead, and a
source address may be a carrier's NAT with thousands of people behind it (docs/security.md,
"Carrier-grade NAT"). So an address is judged by the failures nobody redeemed: a failure
stops counting against the address once the same name signs in from it (NIST SP 800-63B-4:
disregard a subscriber's earlier failures from the same address after a success). Past
`address_limit` such failures in a window, every check from the address waits
`address_delay_ms` first: a person with the right password still gets in, a sprayer's checks
are spaced out. Only while the whole gateway sees an unusual failure rate (the global alarm)
is an address refused outright, past the tighter `address_limit_under_attack`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutRules:
    """The numbers, from the settings only (``from_config``): config/defaults.py holds every
    default and why, so no second copy lives here to drift from it."""

    threshold: int                      # consecutive failures before a lock
    durations: tuple[int, ...]          # seconds, by how many locks in 24 h
    address_limit: int                  # unredeemed failures per address per window
    address_limit_under_attack: int     # ... refused past this while the alarm is on
    address_window: int                 # seconds
    address_delay_ms: int               # the wait of each check past address_limit
    global_alarm_per_minute: int        # failures per minute across the gateway

    @classmethod
    def from_config(cls, cfg) -> LockoutRules:
        return cls(
            threshold=cfg["LOCKOUT_THRESHOLD"],
            durations=tuple(int(x) for x in str(cfg["LOCKOUT_DURATIONS"]).split(",")
                            if x.strip()),
            address_limit=cfg["ADDRESS_FAILURE_LIMIT"],
            address_limit_under_attack=cfg["ADDRESS_FAILURE_LIMIT_UNDER_ATTACK"],
            address_window=cfg["ADDRESS_FAILURE_WINDOW"],
            address_delay_ms=cfg["ADDRESS_DELAY_MS"],
            global_alarm_per_minute=cfg["GLOBAL_FAILURE_ALARM_PER_MINUTE"],
        )


@dataclass(frozen=True)
class AddressVerdict:
    """What one attempt from an address must do before its secret is checked."""

    refuse: bool = False
    delay_ms: int = 0


def lock_duration(level: int, rules: LockoutRules) -> int:
    """Seconds of the `level`-th lock (1-based) within 24 hours; grows, then stays capped."""
    if level < 1:
        return 0
    return rules.durations[min(level, len(rules.durations)) - 1]


def alarm_on(global_failures_last_minute: int, rules: LockoutRules) -> bool:
    return global_failures_last_minute >= rules.global_alarm_per_minute


def address_verdict(position: int, global_failures_last_minute: int,
                    rules: LockoutRules) -> AddressVerdict:
    """The verdict for the attempt at `position`: its place among the address's attempts of
    the window that are in flight or failed unredeemed, itself included (1 = the first).

    Positions come from an atomic reservation, so concurrent attempts get distinct ones and
    a burst cannot all see the same count (the check-then-increment race)."""
    if alarm_on(global_failures_last_minute, rules):
        return AddressVerdict(refuse=position > rules.address_limit_under_attack)
    if position > rules.address_limit:
        return AddressVerdict(delay_ms=rules.address_delay_ms)
    return AddressVerdict()

