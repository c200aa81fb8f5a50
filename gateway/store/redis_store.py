"""The store on Redis: one server, a Sentinel-watched primary, or a Redis Cluster
(gateway/store/redis_urls.py reads which from the URL).

Past 250 lines on purpose: it is the store contract (gateway/store/__init__.py), operation by
operation, on Redis; each operation's atomicity is only checkable next to the others' key
layout, and the SQL store holds the same contract in one module too.

Each operation is one command, one MULTI block on one key's slot, or one pipeline: atomic
where the contract says so. Keys of one operation that must be atomic together share a hash
tag by design (``{acct:<id>}…``, ``{lg:…}…``): one slot, so MULTI works on a Cluster. The
reads and deletes of several independent keys (``get_many``, ``delete``) are grouped by slot,
one MGET or DEL per slot, all in one pipeline: one round trip on one server, one per node on
a Cluster, and never a cross-slot command (tests/faults/test_redis_topologies.py checks every
command on the wire).

One-time values and failover: Redis replicates asynchronously, so a failover can lose the
last writes the old primary acknowledged. A claim (``add``, ``add_get``) or a consumption
(``take``) lost that way would let a code, a flow or a DPoP proof be used a second time. With
``wait_replicas`` > 0 (REDIS_WAIT_REPLICAS), these operations send ``WAIT`` on the same
connection in the same round trip, and count as done only once that many replicas hold them;
otherwise StoreUnavailableError (503: the caller did not get the value, and a replay after
the failover gets it at most once).
"""

from __future__ import annotations

import functools

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from gateway.availability import StoreUnavailableError
from gateway.store import redis_urls


def _demoted(exc: Exception) -> bool:
    """A Sentinel-managed connection still on the primary that was just demoted: redis-py
    drops it and asks the sentinels again on the next try (its own retry does not)."""
    return isinstance(exc, redis.exceptions.ConnectionError) and isinstance(
        exc.__context__, redis.exceptions.ReadOnlyError)


def _guard(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        for last in (False, True):
            try:
                return method(self, *args, **kwargs)
            except (redis.exceptions.RedisError, RedisClusterException) as exc:
                # Once more after a failover; the command did not run on the old primary
                # (it refused the write), so nothing is applied twice.
                if last or not _demoted(exc):
                    raise StoreUnavailableError(f"redis: {exc.__class__.__name__}") from exc
        raise AssertionError("unreachable")

    return wrapper


def slot(key: str) -> int:
    return key_slot(key.encode("utf-8", "surrogatepass"))


def by_slot(keys) -> dict[int, list[int]]:
    """Positions of `keys` grouped by hash slot, in first-seen order."""
    groups: dict[int, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(slot(key), []).append(position)
    return groups


class RedisStore:
    """`prefix` namespaces every key, so several gateways (or test runs) can share a Redis.

    It goes before the key, outside any `{hash tag}`, so one account's keys stay in one slot.
    """

    def __init__(self, client, prefix: str = "", *, wait_replicas: int = 0,
                 wait_ms: int = 200):
        self.client = client
        self.prefix = prefix
        self.cluster = isinstance(client, RedisCluster)
        self.wait_replicas = wait_replicas
        self.wait_ms = wait_ms

    @classmethod
    def from_url(cls, url: str, prefix: str = "", **options) -> RedisStore:
        return cls(redis_urls.client(url), prefix, **options)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _on_key_node(self, key: str, commands: list[tuple], *, replicated: bool):
        """`commands` (each on `key`'s slot) in one round trip on the connection that holds
        `key`, then — when `replicated` and wait_replicas — WAIT on that same connection.
        The answers of `commands`."""
        wait = replicated and self.wait_replicas
        if not wait and not self.cluster and len(commands) == 1:
            return [self.client.execute_command(*commands[0])]
        for last in (False, True):
            client = self.client
            if self.cluster:  # the node of the key's slot, by its own connection
                client = client.get_redis_connection(client.get_node_from_key(key))
            pipe = client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            if wait:
                pipe.execute_command("WAIT", self.wait_replicas, self.wait_ms)
            try:
                answers = pipe.execute()
                break
            except redis.exceptions.RedisError:
                # A Cluster's slot map out of date after a failover (MOVED from the demoted
                # primary, which ran nothing): learn the new one, try once more. Had the
                # commands run, their second run finds the claim made (add: False) or the
                # value gone (take: None): refused, never granted twice.
                if last or not self.cluster:
                    raise
                self.client.nodes_manager.initialize()
        if wait:
            replicas = int(answers.pop())
            if replicas < self.wait_replicas:
                raise StoreUnavailableError(f"redis: {commands[0][0]} reached {replicas} of "
                                            f"{self.wait_replicas} replicas")
        return answers

    @_guard
    def put(self, key, value, ttl, *, clear=()):
        name = self._k(key)
        if not clear:
            self.client.set(name, value, ex=ttl)
            return
        others = [self._k(k) for k in clear]
        if any(slot(k) != slot(name) for k in others):
            raise ValueError("put: the keys to clear must share the key's hash tag")
        self._on_key_node(name, [("SET", name, value, "EX", int(ttl)), ("DEL", *others)],
                          replicated=False)

    @_guard
    def add(self, key, value, ttl):
        name = self._k(key)
        return bool(self._on_key_node(name, [("SET", name, value, "EX", int(ttl), "NX")],
                                      replicated=True)[0])

    @_guard
    def add_get(self, key, value, ttl, others=()):
        name = self._k(key)
        names = [self._k(k) for k in others]
        if all(slot(n) == slot(name) for n in names):
            commands = [("SET", name, value, "EX", int(ttl), "NX")]
            if names:
                commands.append(("MGET", *names))
            answers = self._on_key_node(name, commands, replicated=True)
            return bool(answers[0]), (list(answers[1]) if names else [])
        added = bool(self._on_key_node(name, [("SET", name, value, "EX", int(ttl), "NX")],
                                       replicated=True)[0])
        return added, self.get_many(list(others))  # keys of other slots: a second trip

    @_guard
    def get(self, key):
        return self.client.get(self._k(key))

    @_guard
    def get_many(self, keys):
        if not keys:
            return []
        names = [self._k(k) for k in keys]
        groups = by_slot(names)
        if len(groups) == 1:
            return list(self.client.mget(names))
        pipe = self.client.pipeline(transaction=False)
        for positions in groups.values():
            pipe.execute_command("MGET", *(names[i] for i in positions))
        values: list[str | None] = [None] * len(names)
        for positions, answer in zip(groups.values(), pipe.execute(), strict=True):
            for i, value in zip(positions, answer, strict=True):
                values[i] = value
        return values

    @_guard
    def take(self, key, *also):
        name = self._k(key)
        others = [self._k(k) for k in also]
        here = [k for k in others if slot(k) == slot(name)]
        elsewhere = [k for k in others if slot(k) != slot(name)]
        commands = [("GETDEL", name)] + ([("DEL", *here)] if here else [])
        value = self._on_key_node(name, commands, replicated=True)[0]
        if elsewhere:  # clean-up in another slot: its own round trip (rare)
            self.delete(*(k[len(self.prefix):] for k in elsewhere))
        return value

    @_guard
    def delete(self, *keys):
        if not keys:
            return
        names = [self._k(k) for k in keys]
        groups = by_slot(names)
        if len(groups) == 1:
            self.client.delete(*names)
            return
        pipe = self.client.pipeline(transaction=False)
        for positions in groups.values():
            pipe.execute_command("DEL", *(names[i] for i in positions))
        pipe.execute()

    @_guard
    def incr(self, key, ttl, by=1):
        pipe = self.client.pipeline(transaction=True)
        pipe.incrby(self._k(key), by)
        pipe.expire(self._k(key), ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    @_guard
    def incr_get(self, key, ttl, other):
        # One MULTI when both keys share a slot (a name's tries and lock do: {lg:…});
        # otherwise one pipeline, the read after the increment on its connection.
        same = slot(self._k(key)) == slot(self._k(other))
        pipe = self.client.pipeline(transaction=same)
        pipe.incr(self._k(key))
        pipe.expire(self._k(key), ttl, nx=True)
        pipe.get(self._k(other))
        count, _, value = pipe.execute()
        return int(count), value

    @_guard
    def incr_many(self, items, others=(), *, deletes=()):
        # Not one MULTI: the keys may live in different hash slots (an account's and an
        # address's). Redis runs one connection's commands in order, so each read of
        # `others` sees every deletion and increment before it on the same node (on a
        # Cluster: keys of one slot are on one node, and the callers read a key of an
        # incremented key's slot).
        # The reads are one MGET per slot.
        commands, decode = self._incr_many_commands(items, others, deletes)
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return decode(pipe.execute())

    def _incr_many_commands(self, items, others, deletes):
        names = [self._k(k) for k in deletes]
        commands = [("DEL", *(names[i] for i in p)) for p in by_slot(names).values()]
        skip = len(commands)
        for item in items:
            key, ttl, by = (*item, 1)[:3]
            commands += [("INCRBY", self._k(key), by), ("EXPIRE", self._k(key), ttl, "NX")]
        reads = [self._k(k) for k in others]
        groups = list(by_slot(reads).values())
        commands += [("MGET", *(reads[i] for i in p)) for p in groups]

        def decode(answers):
            answers = answers[skip:]
            counts = [int(answers[2 * i]) for i in range(len(items))]
            values: list[str | None] = [None] * len(reads)
            for positions, answer in zip(groups, answers[2 * len(items):], strict=True):
                for i, value in zip(positions, answer, strict=True):
                    values[i] = value
            return counts, values

        return commands, decode

    # ---------------------------------------------------------------- batch

    def _batch_commands(self, op) -> tuple[list[tuple], bool, object]:
        """The commands of one operation of a batch (each on one key, or MGET/DEL per slot),
        whether it is a claim or a consumption (WAIT), and how its answers decode."""
        name, args, kwargs = op
        if name == "add":
            key, value, ttl = args
            return ([("SET", self._k(key), value, "EX", int(ttl), "NX")], True,
                    lambda a: bool(a[0]))
        if name == "put":
            key, value, ttl = args
            clear = [self._k(k) for k in kwargs.get("clear", ())]
            commands = [("SET", self._k(key), value, "EX", int(ttl))]
            commands += [("DEL", *(clear[i] for i in p)) for p in by_slot(clear).values()]
            return commands, False, lambda a: None
        if name in ("get", "get_many"):
            keys = [args[0]] if name == "get" else list(args[0])
            names = [self._k(k) for k in keys]
            groups = list(by_slot(names).values())

            def values(answers):
                found: list[str | None] = [None] * len(names)
                for positions, answer in zip(groups, answers, strict=True):
                    for i, value in zip(positions, answer, strict=True):
                        found[i] = value
                return found[0] if name == "get" else found

            return ([("MGET", *(names[i] for i in p)) for p in groups], False, values)
        if name == "take":
            key, *also = args
            others = [self._k(k) for k in also]
            commands = [("GETDEL", self._k(key))]
            commands += [("DEL", *(others[i] for i in p)) for p in by_slot(others).values()]
            return commands, True, lambda a: a[0]
        if name == "delete":
            names = [self._k(k) for k in args]
            return ([("DEL", *(names[i] for i in p)) for p in by_slot(names).values()], False,
                    lambda a: None)
        if name == "incr_many":
            others = args[1] if len(args) > 1 else kwargs.get("others", ())
            commands, decode = self._incr_many_commands(args[0], others,
                                                        kwargs.get("deletes", ()))
            return commands, False, decode
        raise ValueError(f"batch: no operation {name!r}")

    @_guard
    def batch(self, ops):
        if self.cluster:
            # Keys of many slots on many nodes: each operation on its own, in order (as the
            # contract allows: no isolation between them), each with its own WAIT.
            return [getattr(self, name)(*args, **kwargs) for name, args, kwargs in ops]
        plans = [self._batch_commands(op) for op in ops]
        pipe = self.client.pipeline(transaction=False)
        for commands, _, _ in plans:
            for command in commands:
                pipe.execute_command(*command)
        wait = self.wait_replicas and any(replicated for _, replicated, _ in plans)
        if wait:
            pipe.execute_command("WAIT", self.wait_replicas, self.wait_ms)
        answers = pipe.execute()
        if wait:
            replicas = int(answers.pop())
            if replicas < self.wait_replicas:
                raise StoreUnavailableError(f"redis: batch reached {replicas} of "
                                            f"{self.wait_replicas} replicas")
        results, at = [], 0
        for commands, _, decode in plans:
            results.append(decode(answers[at:at + len(commands)]))
            at += len(commands)
        return results

    def clear(self) -> None:
        """Deletes this prefix's keys (tests and the bench); refuses without a prefix."""
        if not self.prefix:
            raise RuntimeError("refusing to clear an unprefixed Redis store")
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            self.delete(*(k[len(self.prefix):] for k in keys[start:start + 500]))

    @_guard
    def ping(self):
        self.client.ping()
