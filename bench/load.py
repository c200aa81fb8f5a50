"""The load generator: what a browser and a relying party do, over real HTTP on loopback.

Each scenario runs N threads for a fixed time (and at most a fixed number of operations).
An *operation* is one login journey (five HTTP requests, ending with the code exchange) or
one token grant (one request). Every response is checked; anything unexpected is an error.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from bench.server import Fixture

TIMEOUT = 30
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FLOW = re.compile(r'name="flow" value="([^"]+)"')


class JourneyError(Exception):
    """A response the protocol does not allow at this step."""


def _expect(response: requests.Response, status: int, step: str) -> requests.Response:
    if response.status_code != status:
        raise JourneyError(f"{step}: HTTP {response.status_code}, expected {status}: "
                           f"{response.text[:160]!r}")
    return response


def loopback_session() -> requests.Session:
    """A session that never takes a proxy from the environment: requests go to loopback."""
    session = requests.Session()
    session.trust_env = False
    return session


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the journeys -----------------------------------------------------------------------


@dataclass
class Target:
    base: str
    fixture: Fixture
    _next_account: Callable[[], int] = field(default_factory=lambda: itertools.count().__next__)

    def username(self) -> str:
        names = self.fixture.usernames
        return names[self._next_account() % len(names)]

    @property
    def web_auth(self):
        return (self.fixture.client_id, self.fixture.client_secret)

    @property
    def service_auth(self):
        return (self.fixture.service_id, self.fixture.service_secret)


def login_with_code_exchange(browser: requests.Session, rp: requests.Session,
                             target: Target) -> dict:
    """GET /authorize → /login → POST /login → /authorize → redirect_uri?code → POST /token.

    ``browser`` starts with an empty cookie jar, as a person who has never signed in."""
    fx = target.fixture
    browser.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code", "client_id": fx.client_id, "redirect_uri": fx.redirect_uri,
        "scope": "openid profile offline_access", "state": state,
        "nonce": secrets.token_urlsafe(12), "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    }
    r = _expect(browser.get(f"{target.base}/authorize?{urlencode(query)}",
                            allow_redirects=False, timeout=TIMEOUT), 302, "GET /authorize")
    login_url = urljoin(target.base, r.headers["Location"])
    if urlsplit(login_url).path != "/login":
        raise JourneyError(f"GET /authorize: redirected to {login_url!r}, not /login")
    page = _expect(browser.get(login_url, timeout=TIMEOUT), 200, "GET /login").text
    csrf, flow = _CSRF.search(page), _FLOW.search(page)
    if not (csrf and flow):
        raise JourneyError("GET /login: no csrf_token or flow in the form")
    r = _expect(browser.post(f"{target.base}/login", data={
        "csrf_token": csrf.group(1), "flow": flow.group(1),
        "username": target.username(), "password": fx.password,
    }, allow_redirects=False, timeout=TIMEOUT), 302, "POST /login")
    back = urljoin(target.base, r.headers["Location"])
    if "login_flow=" not in back:
        raise JourneyError(f"POST /login: redirected to {back!r}, not back to /authorize")
    r = _expect(browser.get(back, allow_redirects=False, timeout=TIMEOUT), 302,
                "GET /authorize (signed in)")
    location = r.headers["Location"]
    if not location.startswith(fx.redirect_uri + "?"):
        raise JourneyError(f"GET /authorize: redirected to {location[:120]!r}")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if answer.get("state") != state or "code" not in answer:
        raise JourneyError(f"GET /authorize: bad redirect parameters {sorted(answer)}")
    r = _expect(rp.post(f"{target.base}/token", data={
        "grant_type": "authorization_code", "code": answer["code"],
        "code_verifier": verifier, "redirect_uri": fx.redirect_uri,
    }, auth=target.web_auth, timeout=TIMEOUT), 200, "POST /token (code)")
    tokens = r.json()
    if not {"access_token", "id_token", "refresh_token"} <= tokens.keys():
        raise JourneyError(f"POST /token: missing tokens in {sorted(tokens)}")
    return tokens


def refresh(rp: requests.Session, target: Target, refresh_token: str) -> dict:
    r = _expect(rp.post(f"{target.base}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
    }, auth=target.web_auth, timeout=TIMEOUT), 200, "POST /token (refresh_token)")
    tokens = r.json()
    if not {"access_token", "refresh_token"} <= tokens.keys():
        raise JourneyError(f"POST /token (refresh_token): got {sorted(tokens)}")
    return tokens


def client_credentials(rp: requests.Session, target: Target) -> dict:
    r = _expect(rp.post(f"{target.base}/token", data={"grant_type": "client_credentials"},
                        auth=target.service_auth, timeout=TIMEOUT), 200,
                "POST /token (client_credentials)")
    tokens = r.json()
    if "access_token" not in tokens:
        raise JourneyError(f"POST /token (client_credentials): got {sorted(tokens)}")
    return tokens


# --- per-thread workers -------------------------------------------------------------------


class Worker:
    """One simulated user agent + relying party; ``op()`` does one operation."""

    http_per_op = 1

    def __init__(self, target: Target):
        self.target = target
        self.browser = loopback_session()  # cookie jar cleared at every login
        self.rp = loopback_session()  # the relying party's back channel

    def setup(self) -> None:
        """Unmeasured preparation (and warm-up) before the window opens."""

    def op(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.browser.close()
        self.rp.close()


class LoginWorker(Worker):
    http_per_op = 5

    def setup(self):
        self.op()

    def op(self):
        login_with_code_exchange(self.browser, self.rp, self.target)


class RefreshWorker(Worker):
    """Rotates its own refresh-token chain: each grant's new token is the next one used."""

    def setup(self):
        self.token = login_with_code_exchange(self.browser, self.rp, self.target)[
            "refresh_token"]
        self.op()

    def op(self):
        try:
            self.token = refresh(self.rp, self.target, self.token)["refresh_token"]
        except Exception:
            # The chain may be broken (e.g. the rotated token never arrived): start a new one
            # so later operations still measure refreshes, and report this one as an error.
            self.token = login_with_code_exchange(self.browser, self.rp, self.target)[
                "refresh_token"]
            raise


class ClientCredentialsWorker(Worker):
    def setup(self):
        self.op()

    def op(self):
        client_credentials(self.rp, self.target)


SCENARIOS: dict[str, type[Worker]] = {
    "login+code": LoginWorker,
    "refresh_token": RefreshWorker,
    "client_credentials": ClientCredentialsWorker,
}


# --- running a scenario -------------------------------------------------------------------


def server_stats(base: str) -> dict:
    with loopback_session() as session:
        r = session.get(f"{base}/_bench/stats", timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()


def _cpu_ticks() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per core, from /proc/stat."""
    out = {}
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                values = [int(v) for v in values]
                idle = values[3] + values[4]  # idle + iowait
                out[name] = (sum(values) - idle, sum(values))
    return out


@dataclass
class Result:
    scenario: str
    threads: int
    ops: int
    errors: int
    http: int
    elapsed: float
    latencies: list[float]
    server_cores: int
    server_cpu_seconds: float
    core_busy: dict[str, float]
    counters: dict[str, int]
    error_samples: list[str]

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed else 0.0

    @property
    def per_core(self) -> float:
        return self.rate / self.server_cores

    @property
    def per_cpu_second(self) -> float:
        """Operations per CPU-second the server process actually got: the per-core rate the
        server would reach with its core to itself (robust to other load on the machine)."""
        return self.ops / self.server_cpu_seconds if self.server_cpu_seconds else float("nan")

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank

    def per_op(self, counter: str) -> float:
        done = self.ops + self.errors
        return self.counters.get(counter, 0) / done if done else float("nan")


def run_scenario(name: str, target: Target, *, threads: int, seconds: float, max_ops: int,
                 server_cores: int) -> Result:
    workers = [SCENARIOS[name](target) for _ in range(threads)]
    setup_errors: list[BaseException] = []

    def _setup(worker):
        try:
            worker.setup()
        except BaseException as exc:  # reported below, on the main thread
            setup_errors.append(exc)

    preparing = [threading.Thread(target=_setup, args=(w,)) for w in workers]
    for t in preparing:
        t.start()
    for t in preparing:
        t.join()
    if setup_errors:
        raise RuntimeError(f"{name}: setup failed: {setup_errors[0]!r}") from setup_errors[0]

    issued = itertools.count()
    lock = threading.Lock()
    ops = errors = 0
    latencies: list[float] = []
    samples: list[str] = []
    start_gate = threading.Barrier(threads + 1)
    deadline = 0.0

    def _run(worker: Worker):
        nonlocal ops, errors
        mine: list[float] = []
        good = bad = 0
        start_gate.wait()
        while time.perf_counter() < deadline and next(issued) < max_ops:
            t0 = time.perf_counter()
            try:
                worker.op()
                good += 1
            except Exception as exc:
                bad += 1
                with lock:
                    if len(samples) < 5:
                        samples.append(f"{type(exc).__name__}: {exc}")
            mine.append(time.perf_counter() - t0)
        with lock:
            ops += good
            errors += bad
            latencies.extend(mine)

    running = [threading.Thread(target=_run, args=(w,)) for w in workers]
    for t in running:
        t.start()
    before = server_stats(target.base)
    ticks_before = _cpu_ticks()
    started = time.perf_counter()
    deadline = started + seconds
    start_gate.wait()
    for t in running:
        t.join()
    elapsed = time.perf_counter() - started
    ticks_after = _cpu_ticks()
    after = server_stats(target.base)
    for w in workers:
        w.close()
    busy = {
        core: (ticks_after[core][0] - b[0]) / max(1, ticks_after[core][1] - b[1])
        for core, b in ticks_before.items()
    }
    counters = {k: after["counters"][k] - before["counters"][k] for k in before["counters"]}
    return Result(
        scenario=name, threads=threads, ops=ops, errors=errors,
        http=(ops + errors) * SCENARIOS[name].http_per_op, elapsed=elapsed,
        latencies=latencies, server_cores=server_cores,
        server_cpu_seconds=after["cpu_seconds"] - before["cpu_seconds"],
        core_busy=busy, counters=counters, error_samples=samples,
    )


# --- printing -----------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def format_results(results: list[Result], floor: float, floor_cpu: float) -> str:
    """Two tables: throughput (per wall-clock second) and cost (per operation).

    ``floor`` is Argon2id verifications per wall second, ``floor_cpu`` per CPU-second."""
    throughput = _table(
        ["scenario", "ops", "http reqs", "errors", "ops/s", "ops/s/core", "x floor",
         "p50 ms", "p95 ms"],
        [[r.scenario, str(r.ops), str(r.http), str(r.errors), f"{r.rate:.1f}",
          f"{r.per_core:.1f}", f"{r.per_core / floor:.2f}", f"{r.percentile(0.5) * 1e3:.1f}",
          f"{r.percentile(0.95) * 1e3:.1f}"] for r in results],
    )
    cores = sorted(results[0].core_busy) if results else []
    cost = _table(
        ["scenario", "server cpu", *[f"{c} busy" for c in cores], "cpu ms/op", "ops/cpu-s",
         "x floor/cpu-s", "store ops/op", "sql stmts/op", "commits/op", "checkouts/op"],
        [[r.scenario, f"{100 * r.server_cpu_seconds / r.elapsed:.0f}%",
          *[f"{100 * r.core_busy[c]:.0f}%" for c in cores],
          f"{1e3 / r.per_cpu_second:.1f}", f"{r.per_cpu_second:.1f}",
          f"{r.per_cpu_second / floor_cpu:.2f}",
          f"{r.per_op('store_ops'):.1f}", f"{r.per_op('sql_statements'):.1f}",
          f"{r.per_op('sql_commits'):.1f}", f"{r.per_op('pool_checkouts'):.1f}"]
         for r in results],
    )
    text = throughput + "\n\n" + cost
    for r in results:
        for sample in r.error_samples:
            text += f"\n  error in {r.scenario}: {sample}"
    return text
