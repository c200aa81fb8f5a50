"""Which Redis client a `REDIS_URL` names: one server, a Sentinel-watched primary, or a Cluster.

Three forms (docs/configuration.md, docs/operations.md), each through redis-py's own client:

    redis://[[user]:password@]host[:port][/db]           one server (``rediss://``: TLS;
    unix:///path/to/redis.sock[?db=N]                     redis.Redis.from_url)
    redis+sentinel://[[user]:password@]host:port[,host:port…]/<service>[?db=N]
                                                          the primary Sentinel names for
                                                          <service> (redis.sentinel.Sentinel
                                                          .master_for); found again after a
                                                          failover. ``rediss+sentinel``: TLS
                                                          to the sentinels and the servers.
                                                          ``sentinel_username`` and
                                                          ``sentinel_password`` in the query
                                                          when the sentinels ask for their own
    redis+cluster://[[user]:password@]host:port[,host:port…]
                                                          a Redis Cluster from any of its nodes
                                                          (redis.cluster.RedisCluster with
                                                          startup_nodes); db 0 only.
                                                          ``rediss+cluster``: TLS

The user and password in the URL are the data servers' (ACL user, or ``requirepass``). Every
client has 2 s socket and connect time-outs and a short retry (three tries within about half
a second), so a request fails closed (503) rather than waiting out a failover.

Exceptions::

    ValueError    the URL is not one of the forms above (settings.validate reports it at start)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

PLAIN = ("redis", "rediss", "unix")
SENTINEL = ("redis+sentinel", "rediss+sentinel")
CLUSTER = ("redis+cluster", "rediss+cluster")
SCHEMES = PLAIN + SENTINEL + CLUSTER
TIMEOUT = 2.0


@dataclass
class Topology:
    """What the URL says, parsed (for the client, and for the checks at start)."""

    kind: str  # "plain", "sentinel" or "cluster"
    url: str
    hosts: list[tuple[str, int]] = field(default_factory=list)
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = []
    for part in netloc.rsplit("@", 1)[-1].split(","):
        if not part:
            raise ValueError("an empty host in the list")
        if part.startswith("["):  # [IPv6]:port
            host, _, rest = part[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        if not host:
            raise ValueError(f"no host in {part!r}")
        try:
            number = int(port) if port else default_port
        except ValueError:
            raise ValueError(f"port of {part!r} is not a number") from None
        if not 0 < number < 65536:
            raise ValueError(f"port of {part!r} out of range")
        hosts.append((host, number))
    return hosts


def _credentials(netloc: str) -> tuple[str | None, str | None]:
    if "@" not in netloc:
        return None, None
    userinfo = netloc.rsplit("@", 1)[0]
    user, sep, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if sep else None)


def parse(url: str) -> Topology:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise ValueError(f"the scheme must be one of {', '.join(SCHEMES)}")
    if scheme in PLAIN:
        return Topology("plain", url)
    # urlsplit would read only one host:port; the netloc is taken apart by hand.
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"db", "sentinel_username", "sentinel_password"}
    if unknown:
        raise ValueError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    username, password = _credentials(parts.netloc)
    topology = Topology(
        "sentinel" if scheme in SENTINEL else "cluster", url,
        hosts=_hosts(parts.netloc, 26379 if scheme in SENTINEL else 6379),
        username=username, password=password, ssl=scheme.startswith("rediss"))
    path = parts.path.strip("/")
    if topology.kind == "sentinel":
        if not path or "/" in path:
            raise ValueError("a Sentinel URL names one service: redis+sentinel://h:p,h:p/name")
        topology.service = unquote(path)
        try:
            topology.db = int(query.get("db", "0"))
        except ValueError:
            raise ValueError("db must be a number") from None
        topology.sentinel_username = query.get("sentinel_username")
        topology.sentinel_password = query.get("sentinel_password")
    else:
        if path or query.get("db", "0") != "0" or set(query) - {"db"}:
            raise ValueError("a Cluster URL has no path, and db 0 only")
    return topology


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=0.25, base=0.05), 3)


def client(url: str):
    """The redis-py client for `url` (decoding responses as text)."""
    topology = parse(url)
    common = {"decode_responses": True, "socket_timeout": TIMEOUT,
              "socket_connect_timeout": TIMEOUT, "retry": _retry(),
              # retried: a dropped connection, and (Sentinel) a primary demoted to replica
              "retry_on_error": [redis.exceptions.ConnectionError,
                                 redis.exceptions.TimeoutError]}
    if topology.kind == "plain":
        return redis.Redis.from_url(url, **common)
    auth = {"username": topology.username, "password": topology.password}
    if topology.kind == "sentinel":
        from redis.sentinel import Sentinel

        sentinel_kwargs = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT,
                           "username": topology.sentinel_username,
                           "password": topology.sentinel_password, "ssl": topology.ssl}
        sentinel = Sentinel(topology.hosts, sentinel_kwargs=sentinel_kwargs, ssl=topology.ssl,
                            **auth, **common)
        return sentinel.master_for(topology.service, db=topology.db)
    from redis.cluster import ClusterNode, RedisCluster

    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in topology.hosts],
                        ssl=topology.ssl, **auth, **common)
