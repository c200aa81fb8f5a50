"""`python -m bench --peer`: the gateway and panva's oidc-provider in the same run.

The peer (bench/peer/peer.mjs, oidc-provider pinned in bench/peer/package-lock.json) is
installed with `npm ci` if it is not yet, started pinned to the server core with taskset as
the gateway is, and both are driven by the same load generator, from the load core, with the
same threads and keep-alive `requests` sessions:

  client_credentials  POST /token grant_type=client_credentials (ES256 JWT access token)
  refresh_token       POST /token grant_type=refresh_token, each thread rotating its chain
  introspection       POST the introspection endpoint with a client_credentials token of
                      the caller (ours: the ES256 JWT; the peer: an opaque one, because the
                      peer does not store its JWT access tokens and cannot introspect them)
  login               the browser login with the code exchange; the peer's login is its own
                      development login, which checks no password: ours is reported as
                      measured and without the Argon2id verification (its CPU cost, measured
                      alone on the server core, taken off each login)

All servers (the peer, and the gateway with each --server on each backend) are started first
and stay up, idle while another is measured; each of --rounds rounds measures each scenario
on each server in turn, so a change in the machine's other load falls on all alike. Per
scenario: ops/s on the one server core (the per-core rate), the server's CPU time per
operation (read from /proc for the server's whole process tree, robust to the other load
on this machine), and the ratio ours ÷ peer of both medians. With --p99, each scenario is run
again for the same time at 80 % of its median maximum, each operation started on a fixed
schedule; latency runs from the scheduled start (a late start counts: no coordinated
omission), and p50/p99 are printed.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from bench import load, server

PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_API = "urn:vssid:bench:api"  # peer.mjs: ES256 JWT access tokens
PEER_OPAQUE_API = "urn:vssid:bench:opaque"  # peer.mjs: opaque (introspectable) tokens
SCENARIOS = ("client_credentials", "refresh_token", "introspection", "login")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the server's CPU time, for any process ---------------------------------------------


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and every live descendant (gunicorn's worker,
    granian's, node's own threads are in its process)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


# --- the peer's journeys ------------------------------------------------------------------


@dataclass
class PeerFixture:
    web_id: str = "bench-web"
    web_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    service_id: str = "bench-service"
    service_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    redirect_uri: str = server.REDIRECT_URI


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def peer_login(browser, rp, base: str, fx: PeerFixture, username: str) -> dict:
    """GET /auth → /interaction/<uid> (the provider's development login page) → POST it →
    /auth/<uid> → redirect_uri?code → POST /token: the same five requests as ours."""
    browser.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code", "client_id": fx.web_id, "redirect_uri": fx.redirect_uri,
        "scope": "openid offline_access api", "state": state, "resource": PEER_API,
        "nonce": secrets.token_urlsafe(12), "code_challenge": load._s256(verifier),
        "code_challenge_method": "S256",
    }
    r = load._expect(browser.get(f"{base}/auth?{urlencode(query)}", allow_redirects=False,
                                 timeout=load.TIMEOUT), 303, "GET /auth")
    login_url = urljoin(base, r.headers["Location"])
    page = load._expect(browser.get(login_url, timeout=load.TIMEOUT), 200,
                        "GET /interaction").text
    action = _FORM_ACTION.search(page)
    if not action or 'name="login"' not in page:
        raise load.JourneyError("GET /interaction: no login form")
    r = load._expect(browser.post(urljoin(base, action.group(1)), data={
        "prompt": "login", "login": username, "password": "unused",
    }, allow_redirects=False, timeout=load.TIMEOUT), 303, "POST /interaction")
    r = load._expect(browser.get(urljoin(base, r.headers["Location"]), allow_redirects=False,
                                 timeout=load.TIMEOUT), 303, "GET /auth/<uid>")
    location = r.headers["Location"]
    if not location.startswith(fx.redirect_uri + "?"):
        raise load.JourneyError(f"GET /auth/<uid>: redirected to {location[:120]!r}")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if answer.get("state") != state or "code" not in answer:
        raise load.JourneyError(f"GET /auth/<uid>: bad redirect parameters {sorted(answer)}")
    r = load._expect(rp.post(f"{base}/token", data={
        "grant_type": "authorization_code", "code": answer["code"],
        "code_verifier": verifier, "redirect_uri": fx.redirect_uri,
    }, auth=(fx.web_id, fx.web_secret), timeout=load.TIMEOUT), 200, "POST /token (code)")
    tokens = r.json()
    if not {"access_token", "id_token", "refresh_token"} <= tokens.keys():
        raise load.JourneyError(f"POST /token: missing tokens in {sorted(tokens)}")
    if tokens["access_token"].count(".") != 2:
        raise load.JourneyError("POST /token: the access token is not a JWT")
    return tokens


def _token(rp, base: str, auth, data: dict, step: str) -> dict:
    tokens = load._expect(rp.post(f"{base}/token", data=data, auth=auth,
                                  timeout=load.TIMEOUT), 200, step).json()
    if "access_token" not in tokens:
        raise load.JourneyError(f"{step}: got {sorted(tokens)}")
    return tokens


def _introspect(rp, url: str, auth, token: str) -> None:
    body = load._expect(rp.post(url, data={"token": token}, auth=auth, timeout=load.TIMEOUT),
                        200, "POST introspection").json()
    if body.get("active") is not True:
        raise load.JourneyError(f"introspection: {body!r}")


# --- one worker per thread: the same scenario on either side --------------------------------


class Worker:
    """``side`` is "ours" (a load.Target) or "peer" (base URL + PeerFixture)."""

    def __init__(self, scenario: str, side: str, target, index: int):
        self.scenario, self.side, self.target, self.index = scenario, side, target, index
        self.browser = load.loopback_session()
        self.rp = load.loopback_session()
        self._names = itertools.count(index * 1_000_000)

    # ours
    def _ours(self, what: str, token: str = ""):
        t = self.target
        if what == "login":
            return load.login_with_code_exchange(self.browser, self.rp, t)
        if what == "refresh_token":
            return load.refresh(self.rp, t, token)
        if what == "client_credentials":
            return load.client_credentials(self.rp, t)
        return _introspect(self.rp, f"{t.base}/introspect", t.service_auth, token)

    # the peer
    def _peer(self, what: str, token: str = "", resource: str = PEER_API):
        base, fx = self.target
        service = (fx.service_id, fx.service_secret)
        if what == "login":
            return peer_login(self.browser, self.rp, base, fx, f"person-{next(self._names)}")
        if what == "refresh_token":
            return _token(self.rp, base, (fx.web_id, fx.web_secret),
                          {"grant_type": "refresh_token", "refresh_token": token},
                          "POST /token (refresh_token)")
        if what == "client_credentials":
            tokens = _token(self.rp, base, service,
                            {"grant_type": "client_credentials", "scope": "api",
                             "resource": resource}, "POST /token (client_credentials)")
            if resource == PEER_API and tokens["access_token"].count(".") != 2:
                raise load.JourneyError("client_credentials: the access token is not a JWT")
            return tokens
        return _introspect(self.rp, f"{base}/token/introspection", service, token)

    def call(self, what: str, token: str = "", **kwargs):
        return (self._ours if self.side == "ours" else self._peer)(what, token, **kwargs)

    def setup(self) -> None:
        if self.scenario == "refresh_token":
            self.token = self.call("login")["refresh_token"]
        elif self.scenario == "introspection":
            extra = {"resource": PEER_OPAQUE_API} if self.side == "peer" else {}
            self.token = self.call("client_credentials", **extra)["access_token"]
        self.op()

    def op(self) -> None:
        if self.scenario == "refresh_token":
            try:
                self.token = self.call("refresh_token", self.token)["refresh_token"]
            except Exception:
                self.token = self.call("login")["refresh_token"]  # a new chain, then report
                raise
        elif self.scenario == "introspection":
            self.call("introspection", self.token)
        else:
            self.call(self.scenario)

    def close(self) -> None:
        self.browser.close()
        self.rp.close()


@dataclass
class Run:
    scenario: str
    side: str
    ops: int
    errors: int
    elapsed: float
    cpu_seconds: float
    latencies: list[float]
    samples: list[str]
    rate_limit: float | None = None

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.ops / self.cpu_seconds if self.cpu_seconds else float("nan")

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def drive(scenario: str, side: str, target, pid: int, *, threads: int, seconds: float,
          rate: float | None = None) -> Run:
    """``threads`` workers for ``seconds``, as fast as they go, or at most ``rate``
    operations per second on a fixed schedule (operation n starts at t0 + n / rate)."""
    workers = [Worker(scenario, side, target, i) for i in range(threads)]
    errors_in_setup: list[BaseException] = []

    def _setup(w):
        for attempt in (1, 2):  # once more: on a machine this loaded a flow may time out
            try:
                w.setup()
                return
            except Exception as exc:
                if attempt == 2:
                    errors_in_setup.append(exc)

    prep = [threading.Thread(target=_setup, args=(w,)) for w in workers]
    for t in prep:
        t.start()
    for t in prep:
        t.join()
    if errors_in_setup:
        raise RuntimeError(f"{side} {scenario}: setup failed: {errors_in_setup[0]!r}")
    lock = threading.Lock()
    issued = itertools.count()
    gate = threading.Barrier(threads + 1)
    ops = errors = 0
    latencies: list[float] = []
    samples: list[str] = []
    start = deadline = 0.0

    def _run(w: Worker):
        nonlocal ops, errors
        good = bad = 0
        mine = []
        gate.wait()
        while True:
            n = next(issued)
            if rate is not None:
                due = start + n / rate
                if due >= deadline:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                t0 = due
            else:
                t0 = time.perf_counter()
                if t0 >= deadline:
                    break
            try:
                w.op()
                good += 1
            except Exception as exc:
                bad += 1
                with lock:
                    if len(samples) < 3:
                        samples.append(f"{type(exc).__name__}: {exc}")
            mine.append(time.perf_counter() - t0)
        with lock:
            ops += good
            errors += bad
            latencies.extend(mine)

    running = [threading.Thread(target=_run, args=(w,)) for w in workers]
    for t in running:
        t.start()
    cpu0 = tree_cpu_seconds(pid)
    start = time.perf_counter()
    deadline = start + seconds
    gate.wait()
    for t in running:
        t.join()
    elapsed = time.perf_counter() - start
    cpu = tree_cpu_seconds(pid) - cpu0
    for w in workers:
        w.close()
    return Run(scenario, side, ops, errors, elapsed, cpu, latencies, samples, rate)


# --- the peer process -----------------------------------------------------------------------


def install_peer() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        raise SystemExit("bench --peer: node and npm (20+) are needed for oidc-provider")
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        print("installing the peer: npm ci in bench/peer/ (oidc-provider, pinned)", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEER_DIR,
                       check=True)
    version = json.loads((PEER_DIR / "node_modules" / "oidc-provider" / "package.json")
                         .read_text())["version"]
    node_version = subprocess.check_output([node, "--version"], text=True).strip()
    return f"oidc-provider {version} (node {node_version})"


def start_peer(cpu: int, fx: PeerFixture) -> tuple[subprocess.Popen, str]:
    port = load.free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CLIENT_ID": fx.web_id,
           "WEB_CLIENT_SECRET": fx.web_secret, "REDIRECT_URI": fx.redirect_uri,
           "SERVICE_CLIENT_ID": fx.service_id, "SERVICE_CLIENT_SECRET": fx.service_secret,
           "NODE_ENV": "production"}
    proc = subprocess.Popen(["taskset", "-c", str(cpu), shutil.which("node"), "peer.mjs"],
                            cwd=PEER_DIR, env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise SystemExit(f"bench --peer: the peer did not start ({line!r})")
    return proc, line.split()[1]


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10) if isinstance(proc, subprocess.Popen) else proc.join(10)
    finally:
        alive = proc.poll() is None if isinstance(proc, subprocess.Popen) else proc.is_alive()
        if alive:
            proc.kill()


# --- the run ------------------------------------------------------------------------------


@dataclass
class Side:
    """One server under test: the peer, or the gateway on one backend with one server."""

    label: str
    kind: str  # "peer" or "ours"
    target: object
    pid: int
    runs: dict[str, list[Run]] = field(default_factory=dict)
    limited: dict[str, Run] = field(default_factory=dict)

    def median(self, scenario: str, attr: str) -> float:
        values = sorted(getattr(r, attr) for r in self.runs[scenario])
        return values[len(values) // 2]

    def median_cpu_ms(self, scenario: str) -> float:
        return 1e3 / self.median(scenario, "per_cpu_second")


def _line(side: Side, run: Run) -> str:
    text = (f"    {side.label:<22} {run.scenario:<18} {run.ops:6d} ops {run.errors:3d} errors "
            f"{run.rate:8.1f}/s {1e3 * run.cpu_seconds / max(1, run.ops):7.2f} cpu ms/op")
    if run.rate_limit is not None:
        text += (f"  at {run.rate_limit:.0f}/s: p50 {1e3 * run.percentile(0.5):.1f} ms, "
                 f"p99 {1e3 * run.percentile(0.99):.1f} ms")
    return text + f"  (load {os.getloadavg()[0]:.2f})"


def main(ctx, args, server_cpu: int, load_cpu: int) -> int:
    """Every server is started first (each idle while another is measured), then each round
    measures each scenario on each in turn, so a change in the machine's other load falls on
    all of them alike; the medians of the rounds are compared."""
    from contextlib import ExitStack

    from bench.__main__ import measure_floor

    peer_version = install_peer()
    scenarios = list(SCENARIOS)
    servers = ", ".join(server.server_version(name) for name in args.server)
    print(f"side by side, {time.strftime('%Y-%m-%d %H:%M %Z')}: the gateway "
          f"({servers}; one worker, {server.SERVER_THREADS} "
          f"threads) and {peer_version}, all pinned to CPU {server_cpu}, measured in turn; "
          f"load: {args.threads} keep-alive threads on CPU {load_cpu}, {args.seconds:g} s per "
          f"scenario, {args.rounds} round(s); "
          f"{subprocess.check_output(['uptime'], text=True).strip()}")
    floor, floor_cpu, _ = measure_floor(ctx, server_cpu, args.floor_seconds)
    print(f"floor: {floor:.1f} Argon2id verifications/s ({floor_cpu:.1f} per CPU-second: "
          f"{1e3 / floor_cpu:.1f} CPU ms each)")
    backends = ["production", "embedded"] if args.backend == "both" else [args.backend]
    with ExitStack() as stack:
        fx = PeerFixture()
        peer, base = start_peer(server_cpu, fx)
        stack.callback(_stop, peer)
        sides = [Side("peer", "peer", (base, fx), peer.pid)]
        print(f"peer: {peer_version} on {base} (in-memory adapter), pid {peer.pid}")
        planned = [(name, server_name, stack.enter_context(server.backend(
            name, pg_admin=args.pg_admin, redis_url=args.redis_url)))
            for name in backends for server_name in args.server]
        for name, server_name, be in planned:
            port = load.free_port()
            ours_base = f"http://127.0.0.1:{port}"
            settings = {**be.settings, "ISSUER": ours_base}  # a Redis key prefix each
            fixture = server.prepare(settings, {"web": args.accounts})
            proc = ctx.Process(target=server.serve, args=(settings, port, server_cpu,
                                                          server_name))
            proc.start()
            stack.callback(_stop, proc)
            load.wait_ready(ours_base, proc)
            label = f"{name}, {server_name}"
            print(f"ours: {label} on {ours_base}, pid {proc.pid} — {be.description}")
            sides.append(Side(label, "ours", load.Target(ours_base, fixture), proc.pid))
        for side in sides:
            side.runs = {scenario: [] for scenario in scenarios}
        for n in range(args.rounds):
            print(f"\nround {n + 1} of {args.rounds}")
            for scenario in scenarios:
                for side in sides:
                    run = drive(scenario, side.kind, side.target, side.pid,
                                threads=args.threads, seconds=args.seconds)
                    side.runs[scenario].append(run)
                    print(_line(side, run), flush=True)
                    for sample in run.samples:
                        print(f"         error: {sample}")
        _print_ratios(sides, scenarios, floor_cpu)
        if args.p99:
            print("\np99 latency at 80 % of each one's median maximum (a fixed schedule; "
                  "latency from the scheduled start)")
            for scenario in scenarios:
                for side in sides:
                    rate = 0.8 * side.median(scenario, "rate")
                    try:
                        run = drive(scenario, side.kind, side.target, side.pid,
                                    threads=args.threads, seconds=args.seconds, rate=rate)
                    except RuntimeError as exc:
                        print(f"    {side.label:<22} {scenario:<18} not measured: {exc}")
                        continue
                    side.limited[scenario] = run
                    print(_line(side, run), flush=True)
                    for sample in run.samples:
                        print(f"         error: {sample}")
    if args.p99:
        _print_p99(sides, scenarios)
    print(f"\n(uptime at the end: {subprocess.check_output(['uptime'], text=True).strip()})")
    return 0


def _print_ratios(sides: list[Side], scenarios: list[str], floor_cpu: float) -> None:
    peer = sides[0]
    print("\nours ÷ peer, medians of the rounds. Per core: ops/s with the server pinned to one "
          "core; per CPU-second (in brackets): operations per second of CPU the server "
          "process tree used, which other load on the machine skews least.")
    for side in sides[1:]:
        print(f"\n  {side.label}")
        for scenario in scenarios:
            o_rate, p_rate = side.median(scenario, "rate"), peer.median(scenario, "rate")
            o_cpu = side.median(scenario, "per_cpu_second")
            p_cpu = peer.median(scenario, "per_cpu_second")
            line = (f"  {scenario:<18} {o_rate:8.1f} ÷ {p_rate:8.1f} /s = "
                    f"{o_rate / p_rate:5.2f}×  [{o_cpu:8.1f} ÷ {p_cpu:8.1f} /cpu-s = "
                    f"{o_cpu / p_cpu:5.2f}×]")
            if scenario == "login":
                # the same login without its one Argon2id verification (its CPU cost alone)
                without = 1 / max(1e-9, 1 / o_cpu - 1 / floor_cpu)
                line += (f"\n  {'login w/o Argon2id':<18} {without:8.1f} /cpu-s ÷ {p_cpu:8.1f}"
                         f" = {without / p_cpu:5.2f}×  (with it: {o_cpu / floor_cpu:.2f}× the "
                         "Argon2id floor per CPU-second)")
            print(line)


def _print_p99(sides: list[Side], scenarios: list[str]) -> None:
    print("\np99 latency at 80 % of the median maximum (ms, at that rate):")
    for side in sides:
        cells = [f"{scenario} {1e3 * run.percentile(0.99):.0f} ms at {run.rate_limit:.0f}/s"
                 for scenario in scenarios if (run := side.limited.get(scenario))]
        print(f"  {side.label:<22} " + "; ".join(cells))
