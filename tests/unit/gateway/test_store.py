"""One contract, two stores: RedisStore (production) and SqlStore (embedded default).

The SQL store runs over the current backend's test database (PostgreSQL on ``production``,
SQLite on ``embedded``); the Redis store always runs on the loopback Redis, in a database of
its own (13): db 15 is flushed before every production-backend test, so a suite running in
parallel would empty it in the middle of a race here. Every behaviour the grants rely on is
checked on both, including the one-winner guarantees under real concurrency (threads released
together by a Barrier) and failing closed when the service is gone.
"""

from __future__ import annotations

import os
import secrets
import time

import pytest
import redis
from sqlalchemy import create_engine

from gateway.availability import StoreUnavailableError
from gateway.extensions import db
from gateway.store.redis_store import RedisStore
from gateway.store.sql_store import SqlStore
from tests.helpers import race

TTL = 60
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
CONTRACT_REDIS_URL = os.environ.get("GATEWAY_TEST_STORE_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def prefix():
    """A fresh key prefix per test, so runs never see each other's values."""
    return f"contract:{secrets.token_hex(6)}:"


@pytest.fixture(params=["redis", "sql"])
def store(request, prefix):
    if request.param == "redis":
        try:
            redis.Redis.from_url(CONTRACT_REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            pytest.exit(f"Redis is not reachable at {CONTRACT_REDIS_URL}: {exc}. "
                        "Run `make services`.", 3)
        redis_store = RedisStore.from_url(CONTRACT_REDIS_URL)
        yield redis_store
        leftovers = list(redis_store.client.scan_iter(match=prefix + "*"))
        if leftovers:
            redis_store.client.delete(*leftovers)
        redis_store.client.close()
    else:
        request.getfixturevalue("app")  # empty tables on the backend's database
        engine = db.engine  # captured: worker threads have no app context
        yield SqlStore(lambda: engine)


@pytest.fixture
def key(prefix):
    return lambda name="k": prefix + name



# ---------------------------------------------------------------- plain operations


def test_put_get_and_overwrite(store, key):
    assert store.get(key()) is None
    store.put(key(), "one", TTL)
    assert store.get(key()) == "one"
    store.put(key(), "two", TTL)
    assert store.get(key()) == "two"
    store.put(key("other"), "três ✓", TTL)  # non-ASCII values round-trip
    assert store.get(key("other")) == "três ✓"
    assert store.get(key()) == "two"


def test_add_only_when_absent(store, key):
    assert store.add(key(), "first", TTL) is True
    assert store.add(key(), "second", TTL) is False
    assert store.get(key()) == "first"
    store.delete(key())
    assert store.add(key(), "third", TTL) is True
    assert store.get(key()) == "third"


def test_take_returns_once(store, key):
    store.put(key(), "once", TTL)
    assert store.take(key()) == "once"
    assert store.take(key()) is None
    assert store.get(key()) is None
    assert store.take(key("never")) is None
    assert store.add(key(), "again", TTL) is True  # take really removed it


def test_get_many_keeps_order_with_missing_keys(store, key):
    store.put(key("a"), "A", TTL)
    store.put(key("c"), "C", TTL)
    assert store.get_many([key("a"), key("b"), key("c"), key("d")]) == ["A", None, "C", None]
    assert store.get_many([key("b")]) == [None]
    assert store.get_many([]) == []


def test_delete_several_keys(store, key):
    for name in "abc":
        store.put(key(name), name, TTL)
    store.delete(key("a"), key("b"), key("missing"))
    assert store.get_many([key("a"), key("b"), key("c")]) == [None, None, "c"]
    store.delete()  # nothing to delete is not an error
    assert store.get(key("c")) == "c"


def test_incr_counts_from_one(store, key):
    assert [store.incr(key(), TTL) for _ in range(3)] == [1, 2, 3]
    assert store.incr(key("other"), TTL) == 1


def test_incr_by_adds_the_amount(store, key):
    assert store.incr(key(), TTL, by=5) == 5
    assert store.incr(key(), TTL) == 6
    assert store.incr(key(), TTL, by=3) == 9
    assert store.get(key()) == "9"  # a counter reads back as its decimal text


def test_ping(store):
    assert store.ping() is None


# ---------------------------------------------------------------- expiry (real time)


def test_expired_values_are_gone_everywhere(store, key):
    store.put(key("put"), "v", 1)
    store.put(key("take"), "v", 1)
    store.put(key("long"), "stays", TTL)
    assert store.add(key("add"), "v", 1) is True
    assert store.add(key("add"), "w", 1) is False
    time.sleep(1.1)
    assert store.get(key("put")) is None
    assert store.get_many([key("put"), key("long")]) == [None, "stays"]
    assert store.take(key("take")) is None
    assert store.add(key("add"), "after expiry", TTL) is True
    assert store.get(key("add")) == "after expiry"
    assert store.get(key("long")) == "stays"


def test_incr_keeps_the_ttl_of_its_first_increment(store, key):
    assert store.incr(key(), 1) == 1
    time.sleep(0.5)
    assert store.incr(key(), TTL) == 2  # a later, longer ttl does not extend the window
    time.sleep(0.65)
    assert store.incr(key(), TTL) == 1  # the window from the first increment has ended
    assert store.incr(key(), 1) == 2


# ---------------------------------------------------------------- concurrency


def test_concurrent_add_has_one_winner(store, key):
    results = race(20, lambda i: store.add(key(), f"v{i}", TTL))
    assert results.count(True) == 1 and results.count(False) == 19
    assert store.get(key()) == f"v{results.index(True)}"


def test_concurrent_take_has_one_winner(store, key):
    store.put(key(), "prize", TTL)
    results = race(20, lambda i: store.take(key()))
    assert [r for r in results if r is not None] == ["prize"]
    assert results.count(None) == 19


def test_incr_by_keeps_the_ttl_of_its_first_increment(store, key):
    assert store.incr(key(), 1, by=2) == 2
    time.sleep(1.1)
    assert store.incr(key(), TTL, by=2) == 2


def test_concurrent_incr_many_reserves_distinct_places(store, key):
    results = race(30, lambda i: store.incr_many([(key("a"), TTL), (key("b"), TTL)])[0])
    assert sorted(a for a, _ in results) == list(range(1, 31))
    assert sorted(b for _, b in results) == list(range(1, 31))


def test_concurrent_incr_counts_every_call(store, key):
    results = race(50, lambda i: store.incr(key(), TTL))
    assert sorted(results) == list(range(1, 51))
    assert store.incr(key(), TTL) == 51


# ---------------------------------------------------------------- failing closed


OPERATIONS = [
    ("put", lambda s: s.put("k", "v", TTL)),
    ("add", lambda s: s.add("k", "v", TTL)),
    ("get", lambda s: s.get("k")),
    ("get_many", lambda s: s.get_many(["k", "l"])),
    ("take", lambda s: s.take("k")),
    ("delete", lambda s: s.delete("k", "l")),
    ("incr", lambda s: s.incr("k", TTL)),
    ("incr_by", lambda s: s.incr("k", TTL, by=2)),
    ("incr_many", lambda s: s.incr_many([("k", TTL)], ["l"])),
    ("batch", lambda s: s.batch([("add", ("k", "v", TTL), {}), ("get", ("l",), {})])),
    ("ping", lambda s: s.ping()),
]


@pytest.mark.parametrize("name, operation", OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_unreachable_redis_raises_on_every_operation(name, operation):
    down = RedisStore.from_url(CLOSED_PORT_REDIS)
    with pytest.raises(StoreUnavailableError):
        operation(down)


@pytest.mark.parametrize("name, operation", OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_unreachable_sql_database_raises_on_every_operation(name, operation):
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                           connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(StoreUnavailableError):
            operation(SqlStore(lambda: engine))
    finally:
        engine.dispose()


def test_long_keys_work(store, key):
    long_key = key("x" * 600)
    store.put(long_key, "v", 30)
    assert store.get(long_key) == "v"
    assert store.add(long_key, "w", 30) is False
    assert store.get_many([long_key]) == ["v"]
    assert store.take(long_key) == "v"
    assert store.incr(long_key, 30) == 1
    store.delete(long_key)
    assert store.get(long_key) is None


def test_incr_get_counts_and_reads_in_one_call(store, key):
    assert store.incr_get(key("n"), 30, key("other")) == (1, None)
    store.put(key("other"), "v", 30)
    assert store.incr_get(key("n"), 30, key("other")) == (2, "v")


def test_incr_many_counts_then_reads_in_one_call(store, key):
    assert store.incr_many([(key("a"), 30), (key("b"), 30)], [key("a"), key("c")]) == (
        [1, 1], ["1", None])
    store.put(key("c"), "v", 30)
    assert store.incr_many([(key("a"), 30)], [key("c")]) == ([2], ["v"])
    assert store.incr_many([(key("b"), 30)]) == ([2], [])
    assert store.incr_many([], [key("a")]) == ([], ["2"])


def test_incr_many_gives_each_key_its_own_ttl(store, key):
    assert store.incr_many([(key("short"), 1), (key("long"), TTL)]) == ([1, 1], [])
    time.sleep(1.1)
    assert store.incr_many([(key("short"), TTL), (key("long"), TTL)]) == ([1, 2], [])


def test_take_also_deletes_its_companions(store, key):
    store.put(key("{a}:code"), "c", TTL)
    store.put(key("{a}:tries"), "2", TTL)
    store.put(key("{b}:elsewhere"), "x", TTL)
    assert store.take(key("{a}:code"), key("{a}:tries"), key("{b}:elsewhere")) == "c"
    assert store.get_many([key("{a}:code"), key("{a}:tries"), key("{b}:elsewhere")]) == [
        None, None, None]
    store.put(key("{a}:tries"), "1", TTL)
    assert store.take(key("{a}:code"), key("{a}:tries")) is None  # nothing to take: still
    assert store.get(key("{a}:tries")) is None                    # the companions go


def test_incr_many_deletes_first_and_adds_each_amount(store, key):
    store.put(key("gone"), "5", TTL)
    store.put(key("counter"), "5", TTL)
    assert store.incr_many([(key("counter"), TTL, 3), (key("fresh"), TTL)], [key("gone")],
                           deletes=[key("gone"), key("counter")]) == ([3, 1], [None])


def test_add_get_claims_and_reads_in_one_call(store, key):
    store.put(key("{a}:budget"), "3", TTL)
    assert store.add_get(key("{a}:cool"), "t1", TTL, [key("{a}:budget"), key("{a}:cool")]) == (
        True, ["3", "t1"])
    assert store.add_get(key("{a}:cool"), "t2", TTL, [key("{a}:cool"), key("{b}:x")]) == (
        False, ["t1", None])
    assert store.add_get(key("{c}:new"), "v", TTL) == (True, [])


def test_put_clears_its_companions(store, key):
    store.put(key("{a}:tries"), "4", TTL)
    store.put(key("{a}:code"), "new", TTL, clear=[key("{a}:tries")])
    assert store.get_many([key("{a}:code"), key("{a}:tries")]) == ["new", None]


def test_batch_runs_each_operation_in_order_and_answers_each(store, key):
    store.put(key("{a}:taken"), "once", TTL)
    store.put(key("{b}:tries"), "2", TTL)
    answers = store.batch([
        ("add", (key("claim"), "1", TTL), {}),
        ("add", (key("claim"), "2", TTL), {}),
        ("put", (key("{b}:code"), "c", TTL), {"clear": [key("{b}:tries")]}),
        ("get", (key("{b}:code"),), {}),
        ("get_many", ([key("{b}:tries"), key("claim"), key("{a}:taken")],), {}),
        ("take", (key("{a}:taken"),), {}),
        ("incr_many", ([(key("{a}:n"), TTL, 2)], [key("{a}:n"), key("{b}:code")]),
         {"deletes": [key("claim")]}),
        ("delete", (key("{b}:code"),), {}),
        ("get_many", ([key("{a}:taken"), key("{b}:code"), key("claim")],), {}),
    ])
    assert answers == [True, False, None, "c", [None, "1", "once"], "once", ([2], ["2", "c"]),
                       None, [None, None, None]]


def test_batch_refuses_an_operation_it_does_not_carry(store, key):
    with pytest.raises(ValueError):
        store.batch([("incr_get", (key("a"), TTL, key("b")), {})])


def test_concurrent_batched_claims_have_one_winner(store, key):
    outcomes = race(12, lambda i: store.batch([("add", (key("jti"), str(i), TTL), {}),
                                               ("get", (key("other"),), {})])[0])
    assert sorted(outcomes) == [False] * 11 + [True]
