"""`python -m bench.locust_local`: bench/locustfile.py against a gateway of its own, briefly.

Prepares a fresh backend as the benchmark does (bench/server.py: accounts with their own
phone numbers, a web, a service and the app client, the SMS outbox in a temporary file),
serves the gateway with the production server (granian), writes the locust fixture
(GATEWAY_LOCUST_FIXTURE) and runs locust headless for --seconds with --users people. Exits
with locust's code: 1 when any journey failed. Proves the locustfile works before an
operator points it at staging (docs/operations.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import load, server

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locust_local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["production", "embedded"], default="embedded")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=6, help="simulated people (default: 6)")
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context("spawn")
    with server.backend(args.backend) as be, tempfile.TemporaryDirectory() as tmp:
        port = load.free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {**be.settings, "ISSUER": base}
        fixture = server.prepare(settings, {"web": args.users})
        path = os.path.join(tmp, "fixture.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(dataclasses.asdict(fixture), handle)
        cpus = sorted(os.sched_getaffinity(0))
        proc = ctx.Process(target=server.serve, args=(settings, port, cpus[0], "granian"))
        proc.start()
        try:
            load.wait_ready(base, proc)
            locust = str(Path(sys.executable).with_name("locust"))
            return subprocess.call(  # our own command, no shell
                [locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                 "--host", base, "-u", str(args.users), "-r", str(args.users),
                 "-t", f"{args.seconds}s", "--only-summary", "--stop-timeout", "10"],
                cwd=ROOT, env={**os.environ, "GATEWAY_LOCUST_FIXTURE": path})
        finally:
            proc.terminate()
            proc.join(10)
            if proc.is_alive():
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
