"""Voiding every SMS code an account was sent: when its phone number changes, the codes in
the old SIM's inbox must complete nothing (a recovery, a device takeover) — the SMS factor
moves to the new number entirely.

A service, so that the phone change (gateway/services/counter.py) can void codes without
importing the OTP engine above it; the engine (gateway/methods/otp.py) reads the mark with
every code it checks. The mark shares the account's hash tag with the codes (``{acct:<id>}``),
so both are read in one round trip, in one Redis Cluster slot.
"""

from __future__ import annotations

import json

from gateway.clock import clock
from gateway.store.access import store
from policies.otp_rules import MAX_TTL


def void_key(account_id: int) -> str:
    return "{acct:" + str(account_id) + "}:otp:void"


def void_codes(account_id: int) -> None:
    """Every code issued to the account until now stops verifying. The mark is the clock's
    time, and outlives by a minute the longest a code issued before it can live."""
    store().put(void_key(account_id), repr(clock().now().timestamp()), MAX_TTL + 60)


def voided(raw: str | None, mark: str | None) -> bool:
    """Whether a stored code (the engine's JSON record) was issued at or before the mark; a
    record without ``iat`` counts as issued at 0. Fails closed: a code issued in the very
    instant of a void is void too (the person asks for another)."""
    return raw is not None and mark is not None and \
        float(json.loads(raw).get("iat", 0)) <= float(mark)
