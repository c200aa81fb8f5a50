"""How long a login name stays locked, and how much failure an address may cause.

The answer to the question BHXH was asked ("do wrong passwords lock the account?"): yes, but
briefly. Five consecutive failures lock the login name for 1 minute, then 5, then 15 — capped,
so an attacker who knows someone's social-insurance number cannot keep them out for long.
Spraying (few tries each on many accounts) is stopped per source address instead, and more
tightly while the whole gateway sees an unusual failure rate. Locks are kept per login name,
whether or not an account exists, so a lock says nothing about existence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutRules:
    threshold: int = 5                      # consecutive failures before a lock
    durations: tuple[int, ...] = (60, 300, 900)  # seconds, by how many locks in 24 h
    address_limit: int = 50                 # failures per address per window
    address_limit_under_attack: int = 10
    address_window: int = 600
    global_alarm_per_minute: int = 1000     # failures per minute across the gateway


def lock_duration(level: int, rules: LockoutRules) -> int:
    """Seconds of the `level`-th lock (1-based) within 24 hours; grows, then stays capped."""
    if level < 1:
        return 0
    return rules.durations[min(level, len(rules.durations)) - 1]


def address_limit(global_failures_last_minute: int, rules: LockoutRules) -> int:
    """Failures an address may cause per window: tighter while the gateway is under attack."""
    if global_failures_last_minute >= rules.global_alarm_per_minute:
        return rules.address_limit_under_attack
    return rules.address_limit


def rules_from_config(cfg) -> LockoutRules:
    return LockoutRules(
        threshold=cfg["LOCKOUT_THRESHOLD"],
        durations=tuple(int(x) for x in str(cfg["LOCKOUT_DURATIONS"]).split(",") if x.strip()),
        address_limit=cfg["ADDRESS_FAILURE_LIMIT"],
        address_limit_under_attack=cfg["ADDRESS_FAILURE_LIMIT_UNDER_ATTACK"],
        address_window=cfg["ADDRESS_FAILURE_WINDOW"],
        global_alarm_per_minute=cfg["GLOBAL_FAILURE_ALARM_PER_MINUTE"],
    )
