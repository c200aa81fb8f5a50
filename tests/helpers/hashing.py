"""The suite's Argon2id cost profile.

Every account a test makes hashes a password, and every sign-in verifies one: with the shipped
profile (OWASP's minimum, m=19456 KiB, t=2, about 40 ms of one core each) the ~10,000 hashes
of one run were about 40 % of `make test`'s CPU. The suite therefore hashes with a small
profile of the same algorithm (still Argon2id v19, PHC strings, the same verify path and the
same `needs_rehash` rule — only the cost differs), installed by tests/conftest.py before any
app is built. The shipped profile is not taken on trust:
tests/unit/gateway/crypto/test_password_hashing.py restores ``SHIPPED`` for its whole module
and checks the parameters written into a real hash, and the benchmarks (bench/), which run
outside pytest, measure the shipped cost.
"""

from __future__ import annotations

from gateway.crypto import password_hashing
from gateway.crypto.password_hashing import Argon2Params

SHIPPED = password_hashing.ARGON2_PARAMS  # captured before use_suite_profile() replaces it
SUITE = Argon2Params(memory_cost=1024, time_cost=1, parallelism=1)


def install(params: Argon2Params) -> None:
    password_hashing.ARGON2_PARAMS = params
    password_hashing._dummy_hash.cache_clear()  # the dummy hash must use the same cost


def use_suite_profile() -> None:
    assert SHIPPED == Argon2Params(memory_cost=19456, time_cost=2, parallelism=1), SHIPPED
    install(SUITE)
