"""The load generator: what a browser, a relying party and the VssID app do, over real HTTP
on loopback.

Each scenario runs N threads for a fixed time (and at most a fixed number of operations).
An *operation* is one login journey (five HTTP requests, ending with the code exchange), one
token grant (one request), or one sign-in of the app (examples/vssid_app_client.AppClient:
the challenge endpoint, an OTP read from the SMS outbox file for a takeover, then the code
exchange at /token with DPoP). Every response is checked; anything unexpected is an error.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from joserfc.jwk import ECKey

from bench.server import Fixture
from examples.vssid_app_client import AppClient, Challenge, Tokens

TIMEOUT = 30
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FLOW = re.compile(r'name="flow" value="([^"]+)"')


class JourneyError(Exception):
    """A response the protocol does not allow at this step."""


class PoolExhausted(Exception):  # noqa: N818 (a signal, not a failure)
    """This thread used up its accounts (device_first_login): it stops, nothing is counted."""


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


def free_port() -> int:
    """A port on 127.0.0.1 free right now, for the server process to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, proc, timeout: float = 60) -> None:
    """Until the server process `proc` answers /readyz at `base`; exits if it dies or stalls."""
    deadline = time.monotonic() + timeout
    session = loopback_session()
    while time.monotonic() < deadline:
        if not proc.is_alive():
            raise SystemExit(f"bench: the server process exited with code {proc.exitcode}")
        try:
            if session.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: the server at {base} was not ready within {timeout:.0f} s")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the journeys -----------------------------------------------------------------------


class OtpReader:
    """The newest OTP per phone number in the SMS outbox file (JSON lines ``{"to", "text",
    "template", "at"}``, appended by the server's OutboxFileProvider).

    Reads only what was appended since the last call, and only whole lines: the server may
    be writing one right now. Shared by all threads; each account has its own number and at
    most one takeover in flight, so the newest code for a number is that takeover's."""

    _CODE = re.compile(r"\b(\d{6})\b")

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._offset = 0
        self._latest: dict[str, tuple[int, str]] = {}  # phone -> (codes seen, newest code)

    def _refresh(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        for line in chunk[:end].splitlines():
            if not line.strip():
                continue
            message = json.loads(line)
            if message.get("template") != "otp":
                continue
            code = self._CODE.search(message["text"])
            if code:
                seen = self._latest.get(message["to"], (0, ""))[0]
                self._latest[message["to"]] = (seen + 1, code[1])

    def seen(self, phone: str) -> int:
        """How many codes were sent to ``phone`` so far."""
        with self._lock:
            self._refresh()
            return self._latest.get(phone, (0, ""))[0]

    def newer_than(self, phone: str, seen: int, wait: float = 5.0) -> str:
        """The newest code for ``phone``, which must be newer than the first ``seen``.

        The SMS leaves after the answer (gateway/deferred.py), as it reaches a phone a moment
        after the screen says it was sent: the file is read again until it is there, for at
        most ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                self._refresh()
                count, code = self._latest.get(phone, (0, ""))
            if count > seen:
                return code
            if time.monotonic() >= deadline:
                raise JourneyError(f"no new OTP for {phone[:5]}… in the SMS outbox")
            time.sleep(0.002)


@dataclass
class Target:
    base: str
    fixture: Fixture
    device_history: int = 50  # devices each device_login_history account used before
    _next_account: Callable[[], int] = field(default_factory=lambda: itertools.count().__next__)
    otps: OtpReader | None = None

    def __post_init__(self):
        if self.otps is None and self.fixture.sms_outbox:
            self.otps = OtpReader(self.fixture.sms_outbox)

    def username(self) -> str:
        names = self.fixture.usernames
        return names[self._next_account() % len(names)]

    def accounts(self, pool: str, index: int, threads: int) -> list[str]:
        """Thread ``index``'s share of a pool: no two threads ever use the same account."""
        mine = self.fixture.pools.get(pool, [])[index::threads]
        if not mine:
            raise RuntimeError(f"pool {pool!r} has {len(self.fixture.pools.get(pool, []))} "
                               f"accounts, fewer than the {threads} threads")
        return mine

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


def introspect(rp: requests.Session, target: Target, token: str) -> dict:
    r = _expect(rp.post(f"{target.base}/introspect", data={"token": token},
                        auth=target.web_auth, timeout=TIMEOUT), 200, "POST /introspect")
    answer = r.json()
    if answer.get("active") is not True:
        raise JourneyError(f"POST /introspect: the token is not active: {answer}")
    return answer


def _new_device(target: Target, http: requests.Session, name: str) -> AppClient:
    """A phone never seen before: its own device_id and its own P-256 key (the DPoP key)."""
    return AppClient(target.base, target.fixture.app_client_id,
                     device_id=f"bench-{secrets.token_hex(8)}", device_name=name,
                     key=ECKey.generate_key("P-256", private=True), http=http)


def _check_tokens(tokens: Tokens, step: str) -> Tokens:
    if tokens.token_type != "DPoP" or not tokens.access_token or not tokens.id_token \
            or not tokens.refresh_token:
        raise JourneyError(f"{step}: token_type {tokens.token_type!r} or tokens missing")
    return tokens


def _expect_challenge(call: Callable[[], Tokens], reason: str, step: str) -> Challenge:
    try:
        call()
    except Challenge as answer:
        if answer.reason != reason or not answer.auth_session:
            raise JourneyError(f"{step}: HTTP {answer.status} {answer.error}/{answer.reason}, "
                               f"expected {reason}") from None
        return answer
    raise JourneyError(f"{step}: tokens, expected the challenge {reason}")


def device_sign_in(device: AppClient, target: Target, username: str) -> Tokens:
    """No conflict (the account has no active device, or this one): POST
    /authorize-challenge (password, device_id, PKCE, DPoP proof) → authorization_code →
    POST /token (authorization_code, code_verifier, DPoP proof) → DPoP-bound tokens."""
    try:
        tokens = device.sign_in(username, target.fixture.password)
    except Challenge as answer:
        raise JourneyError(f"sign_in: HTTP {answer.status} {answer.error}/{answer.reason}, "
                           "expected a code") from None
    return _check_tokens(tokens, "sign_in")


def device_takeover(device: AppClient, target: Target, username: str) -> Tokens:
    """Another device is active: sign_in → device_conflict → takeover=confirm → otp_required
    (the SMS reaches the outbox file just after the answer) → otp → code → POST /token."""
    from policies.identifiers import mask_phone

    fx = target.fixture
    phone = fx.phones[username]
    conflict = _expect_challenge(lambda: device.sign_in(username, fx.password),
                                 "device_conflict", "sign_in")
    seen = target.otps.seen(phone)
    otp_step = _expect_challenge(lambda: device.confirm_takeover(conflict.auth_session),
                                 "otp_required", "confirm_takeover")
    if otp_step.body.get("otp_sent_to") != mask_phone(phone):
        raise JourneyError(f"confirm_takeover: code sent to {otp_step.body.get('otp_sent_to')!r}")
    code = target.otps.newer_than(phone, seen)
    try:
        tokens = device.submit_otp(otp_step.auth_session, code)
    except Challenge as answer:
        raise JourneyError(f"submit_otp: HTTP {answer.status} {answer.error}/{answer.reason}, "
                           "expected a code") from None
    return _check_tokens(tokens, "submit_otp")


# --- per-thread workers -------------------------------------------------------------------


class Worker:
    """One simulated user agent + relying party; ``op()`` does one operation.

    ``pool`` names the accounts it signs in with (see pool_sizes); thread ``index`` of
    ``threads`` uses its own share of them."""

    http_per_op = 1
    pool: str | None = None

    def __init__(self, target: Target, index: int = 0, threads: int = 1):
        self.target = target
        self.index = index
        self.threads = threads
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
    pool = "web"

    def setup(self):
        self.op()

    def op(self):
        login_with_code_exchange(self.browser, self.rp, self.target)


class RefreshWorker(Worker):
    """Rotates its own refresh-token chain: each grant's new token is the next one used."""

    pool = "web"

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


class IntrospectionWorker(Worker):
    """The portal asks about a person's access token (RFC 7662): client authentication, the
    JWT's signature, the revocation markers and the account's state."""

    pool = "web"

    def setup(self):
        self.token = login_with_code_exchange(self.browser, self.rp, self.target)[
            "access_token"]
        self.op()

    def op(self):
        introspect(self.rp, self.target, self.token)


class DeviceLoginWorker(Worker):
    """The same device signs in again (no OTP): each of this thread's accounts gets one
    device (its own device_id and key) in setup, which signs in again at every turn."""

    http_per_op = 2
    pool = "device"

    def setup(self):
        self.devices = []
        for username in self.target.accounts(self.pool, self.index, self.threads):
            device = _new_device(self.target, self.rp, f"Điện thoại {username}")
            device_sign_in(device, self.target, username)  # the first binding
            self.devices.append((username, device))
        self._turns = itertools.cycle(self.devices)
        self.op()

    def op(self):
        username, device = next(self._turns)
        device_sign_in(device, self.target, username)


class DeviceLoginHistoryWorker(DeviceLoginWorker):
    """device_login on accounts that each used ``Target.device_history`` devices before
    (that many takeovers in setup): the cost must not grow with the devices ever used."""

    pool = "history"

    def setup(self):
        self.devices = []
        for username in self.target.accounts(self.pool, self.index, self.threads):
            device = _new_device(self.target, self.rp, "Máy số 1")
            device_sign_in(device, self.target, username)
            for n in range(2, self.target.device_history + 1):
                device = _new_device(self.target, self.rp, f"Máy số {n}")
                device_takeover(device, self.target, username)
            self.devices.append((username, device))
        self._turns = itertools.cycle(self.devices)
        self.op()


class DeviceFirstLoginWorker(Worker):
    """First binding: a new device on an account that never had one; each account once, so
    the thread stops (PoolExhausted) when its share of the fresh pool is used up."""

    http_per_op = 2
    pool = "fresh"

    def setup(self):
        self._fresh = iter(self.target.accounts(self.pool, self.index, self.threads))
        self.op()

    def op(self):
        username = next(self._fresh, None)
        if username is None:
            raise PoolExhausted()
        device_sign_in(_new_device(self.target, self.rp, "Điện thoại mới"), self.target,
                       username)


class DeviceTakeoverWorker(Worker):
    """A new device takes over an account whose active device is another: every account of
    this thread gets a device in setup, then each turn a never-seen device takes it over."""

    http_per_op = 4
    pool = "takeover"

    def setup(self):
        mine = self.target.accounts(self.pool, self.index, self.threads)
        for username in mine:
            device_sign_in(_new_device(self.target, self.rp, "Điện thoại cũ"), self.target,
                           username)
        self._turns = itertools.cycle(mine)
        self.op()

    def op(self):
        device_takeover(_new_device(self.target, self.rp, "Điện thoại mới"), self.target,
                        next(self._turns))


SCENARIOS: dict[str, type[Worker]] = {
    "login+code": LoginWorker,
    "refresh_token": RefreshWorker,
    "client_credentials": ClientCredentialsWorker,
    "introspection": IntrospectionWorker,
    "device_login": DeviceLoginWorker,
    "device_login_history": DeviceLoginHistoryWorker,
    "device_first_login": DeviceFirstLoginWorker,
    "device_takeover": DeviceTakeoverWorker,
}
DEVICE_SCENARIOS = tuple(name for name in SCENARIOS if name.startswith("device_"))


def pool_sizes(scenarios, *, threads: int, accounts: int, fresh_accounts: int) -> dict:
    """Accounts to prepare per pool for these scenarios: ``accounts`` each for the web,
    device and takeover pools, one per thread for history, ``fresh_accounts`` for fresh."""
    sizes = {}
    for name in scenarios:
        pool = SCENARIOS[name].pool
        if pool is not None:
            sizes[pool] = {"history": threads, "fresh": fresh_accounts}.get(pool, accounts)
    return sizes


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
    by_path: dict[str, dict[str, int]] = field(default_factory=dict)
    exhausted_threads: int = 0  # threads that ran out of accounts before the deadline

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

    def per_path(self, path: str, counter: str) -> float:
        done = self.ops + self.errors
        return self.by_path.get(path, {}).get(counter, 0) / done if done else float("nan")


def run_scenario(name: str, target: Target, *, threads: int, seconds: float, max_ops: int,
                 server_cores: int) -> Result:
    workers = [SCENARIOS[name](target, i, threads) for i in range(threads)]
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
    ops = errors = exhausted = 0
    latencies: list[float] = []
    samples: list[str] = []
    start_gate = threading.Barrier(threads + 1)
    deadline = 0.0

    def _run(worker: Worker):
        nonlocal ops, errors, exhausted
        mine: list[float] = []
        good = bad = done = 0
        start_gate.wait()
        while time.perf_counter() < deadline and next(issued) < max_ops:
            t0 = time.perf_counter()
            try:
                worker.op()
                good += 1
            except PoolExhausted:
                done = 1
                break
            except Exception as exc:
                bad += 1
                with lock:
                    if len(samples) < 5:
                        samples.append(f"{type(exc).__name__}: {exc}")
            mine.append(time.perf_counter() - t0)
        with lock:
            ops += good
            errors += bad
            exhausted += done
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
    after_paths = after["counters"].pop("by_path")
    before_paths = before["counters"].pop("by_path")
    counters = {k: after["counters"][k] - before["counters"][k] for k in before["counters"]}
    by_path = {
        path: {k: v - before_paths.get(path, {}).get(k, 0) for k, v in values.items()}
        for path, values in after_paths.items()
    }
    return Result(
        scenario=name, threads=threads, ops=ops, errors=errors,
        http=(ops + errors) * SCENARIOS[name].http_per_op, elapsed=elapsed,
        latencies=latencies, server_cores=server_cores,
        server_cpu_seconds=after["cpu_seconds"] - before["cpu_seconds"],
        core_busy=busy, counters=counters, error_samples=samples,
        by_path={p: c for p, c in by_path.items() if c.get("requests")},
        exhausted_threads=exhausted,
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
    text += "\n\nper endpoint, per operation (requests, store ops, SQL statements):"
    width = max(len(r.scenario) for r in results)
    for r in results:
        parts = [f"{path} {r.per_path(path, 'requests'):.1f} req, "
                 f"{r.per_path(path, 'store_ops'):.1f} store, "
                 f"{r.per_path(path, 'sql_statements'):.1f} sql"
                 for path, c in sorted(r.by_path.items())]
        text += f"\n  {r.scenario:<{width}}  " + "; ".join(parts)
    for r in results:
        for sample in r.error_samples:
            text += f"\n  error in {r.scenario}: {sample}"
    return text
