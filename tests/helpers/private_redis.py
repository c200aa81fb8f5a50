"""Redis topologies of a test's own, on spare loopback ports in a temporary directory (never
the shared Redis on 6379): a three-primary Redis Cluster with one replica each, and a
Sentinel pair (a primary, its replica, two sentinels). No persistence: throwaway servers.

Missing binaries fail the test loudly (redis-server, redis-cli); nothing is skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from tests.helpers.network import free_port


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"the Redis topology tests need {name} (Debian's redis-server package)",
                    pytrace=False)
    return found


def _wait(check, what: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.05)  # waiting for a server process: real time, not the app's clock
    raise RuntimeError(f"timed out waiting for {what} ({last!r})")


class _Servers:
    def __init__(self, prefix: str):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.processes: dict[int, subprocess.Popen] = {}

    def start(self, port: int, *args: str, conf: str | None = None) -> None:
        command = [_binary("redis-server")]
        if conf is not None:
            path = self.dir / f"{port}.conf"
            path.write_text(conf)
            command.append(str(path))
        command += ["--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
                    "--logfile", str(self.dir / f"{port}.log"),
                    # replicas in sync at once: no fork, no delay before the transfer
                    "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", *args]
        self.processes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
        _wait(lambda: redis.Redis(port=port, socket_timeout=1).ping(), f"redis on {port}")

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait(10)

    def close(self) -> None:
        for port in list(self.processes):
            self.kill(port)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateCluster(_Servers):
    """Three primaries and three replicas; `url` is the redis+cluster:// URL of all six."""

    def __init__(self):
        super().__init__("gateway-redis-cluster-")
        self.ports = [free_port() for _ in range(6)]
        for port in self.ports:
            # The bus port is picked too: port + 10000 may be out of range or taken.
            self.start(port, "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                       "--cluster-config-file", f"nodes-{port}.conf",
                       "--cluster-node-timeout", "1000")
        done = subprocess.run(
            [_binary("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "1",
             "--cluster-yes"], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")
        for port in self.ports:
            _wait(lambda p=port: b"cluster_state:ok" in redis.Redis(port=p).execute_command(
                "CLUSTER", "INFO"), f"cluster state ok on {port}")
        for port in self.ports:
            _wait(lambda p=port: self._in_sync(p), f"replicas of {port} in sync")
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def _in_sync(self, port: int) -> bool:
        info = self.node(port).info("replication")
        if info["role"] != "master":
            return True
        replicas = [info[f"slave{i}"] for i in range(int(info["connected_slaves"]))]
        return bool(replicas) and all(r["state"] == "online" for r in replicas)

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=5)

    def replica_of(self, primary_port: int) -> int:
        """The port of a replica of the primary on `primary_port`."""
        primary_id = self.node(primary_port).execute_command("CLUSTER", "MYID")
        for port in self.ports:
            info = self.node(port).info("replication")
            if info["role"] == "slave" and int(info["master_port"]) == primary_port:
                return port
        raise RuntimeError(f"no replica of {primary_port} ({primary_id})")

    def fail_over(self, primary_port: int) -> int:
        """CLUSTER FAILOVER on a replica of that primary (the coordinated, lossless kind);
        returns the port of the new primary once the cluster agrees."""
        replica = self.replica_of(primary_port)
        self.node(replica).execute_command("CLUSTER", "FAILOVER")
        _wait(lambda: self.node(replica).info("replication")["role"] == "master",
              f"replica {replica} promoted")
        for port in self.ports:
            _wait(lambda p=port: "cluster_state:ok" in self.node(p).execute_command(
                "CLUSTER", "INFO"), f"cluster state ok on {port}")
            _wait(lambda p=port: self._in_sync(p), f"replicas of {port} in sync")
        return replica


class PrivateSentinel(_Servers):
    """A primary, its replica and two sentinels watching them as `service`."""

    service = "gatewaytest"

    def __init__(self):
        super().__init__("gateway-redis-sentinel-")
        self.primary, self.replica = free_port(), free_port()
        self.start(self.primary)
        self.start(self.replica, "--replicaof", "127.0.0.1", str(self.primary))
        _wait(lambda: redis.Redis(port=self.primary).info("replication").get(
            "slave0", {}).get("state") == "online", "replica in sync")
        self.sentinels = [free_port(), free_port()]
        for port in self.sentinels:
            self.start(port, "--sentinel", conf=(
                f"sentinel monitor {self.service} 127.0.0.1 {self.primary} 1\n"
                f"sentinel down-after-milliseconds {self.service} 1000\n"
                f"sentinel failover-timeout {self.service} 5000\n"))
        _wait(lambda: all(
            int(self.sentinel(p).sentinel_master(self.service)["num-slaves"]) >= 1
            for p in self.sentinels), "sentinels see the replica")
        self.url = ("redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinels)
                    + f"/{self.service}?db=0")

    def sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=5)

    def primary_port(self) -> int:
        _, port = self.sentinel(self.sentinels[0]).sentinel_get_master_addr_by_name(
            self.service)
        return int(port)

    def fail_over(self) -> int:
        """SENTINEL FAILOVER: the replica becomes the primary; returns its port once the
        sentinels name it and it accepts writes."""
        old = self.primary_port()
        self.sentinel(self.sentinels[0]).sentinel_failover(self.service)
        new = _wait(lambda: (p := self.primary_port()) != old and p, "the new primary")
        # The sentinels turn the old primary into a replica of the new one at their next
        # look at it (up to 10 s); done at once here, as they would.
        redis.Redis(port=old).replicaof("127.0.0.1", new)
        _wait(lambda: redis.Redis(port=new).info("replication").get("slave0", {}).get(
            "state") == "online", "the new primary takes writes, the old one its replica")
        return new
