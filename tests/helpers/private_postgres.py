"""A PostgreSQL server of a test's own, for fault tests that stop it (never the shared one).

As ../shared/SERVICES.md shows: `initdb` in a temporary directory, a free loopback port picked
at run time, trust authentication, the socket in the same directory. Run as root (the suite's
machines), the server runs as the `postgres` user, so the directory is made readable by it.
Missing binaries fail the test loudly; nothing is skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.helpers.network import free_port


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        candidates.insert(0, str(Path(os.path.realpath(found)).parent))
    for directory in candidates:
        if (Path(directory) / "pg_ctl").exists() and (Path(directory) / "initdb").exists():
            return Path(directory)
    pytest.fail("fault tests need PostgreSQL's server binaries (initdb, pg_ctl): install "
                "Debian's postgresql package (see ../shared/SERVICES.md)", pytrace=False)


class PrivatePostgres:
    """start() once (initdb the first time), stop(mode) and start() again at will, close()."""

    def __init__(self):
        self.bin = _bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
        self.dir.chmod(0o777)  # the server runs as `postgres` when the suite runs as root
        self.data = self.dir / "pg"
        self.log = self.dir / "pg.log"
        self.port = free_port()
        self.as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.started = False

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_server_user, *args], capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{log[-2000:]}")

    def start(self) -> None:
        if not self.data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                      "-U", "postgres", "--no-sync")
        for _ in range(3):
            # fsync off: a throwaway server; -w waits until it accepts connections.
            options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.log), "-w", "start")
                self.started = True
                return
            except RuntimeError as exc:
                # Another test run took the port between picking and binding: pick again
                # (only before the first start: a restart keeps its port, the app's URL).
                if "Address already in use" not in str(exc) or self.started:
                    raise
                self.port = free_port()
        raise RuntimeError("no free port for the private PostgreSQL")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run([*self.as_server_user, str(self.bin / "pg_ctl"), "-D",
                                 str(self.data), "status"], capture_output=True, timeout=30,
                                check=False)
        return status.returncode == 0

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def terminate_connections(self, database: str) -> int:
        """Drops every connection to `database` (as a failover or a proxy restart would)."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchall()
        return len(rows)

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        """Stops the server (immediately) if it runs and removes its directory."""
        try:
            if self.data.exists() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
