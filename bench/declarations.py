"""`python -m bench.declarations`: online declarations with three 1 MB photos through the real
HTTP path — how many per second per core, how much memory one upload takes, and whether a
declaration that creates nothing (the person already has an account) answers in the same time.

Three measurements, per backend (production by default: PostgreSQL + Redis):

1. **Throughput.** The gateway runs in its own (spawned) process pinned to one core
   (bench/server.py: werkzeug's threaded server, the task queue's worker in the same process
   on PostgreSQL); `--threads` clients on another core each POST /api/v1/applications with new
   numbers and the same three photos (camera-like JPEGs of about 1 MB, 2000 × 1500, with EXIF
   and a GPS position) for `--seconds`. Every answer must be 201. Declarations per wall second
   on the server's core, and per CPU-second of the server process (the steadier figure on a
   shared machine).
2. **Memory per upload.** One declaration at a time; before each, the server's peak resident
   size is reset (``5`` written to /proc/self/clear_refs, Linux) and its resident size read; after
   it, the new peak. The difference is the memory the upload needed above what the process
   already held (RSS, not tracemalloc: Pillow decodes into memory it allocates itself, which
   tracemalloc does not see). This server runs with glibc told to map every allocation of
   128 KiB or more on its own and unmap it when freed (MALLOC_EXACT), and trims the heap
   before each upload, so the peak is what the upload needs — not what it needs beyond memory
   an earlier upload left in the heap (without it, later uploads showed almost nothing).
   Compared with the request body and the largest photo, for photos of several shapes: 2000 ×
   1500 (decoded at full size), a phone's 4032 × 3024 (decoded at half scale:
   policies/images.py), 6000 × 4000 (half scale, then resampled to 2048), and PNG.
3. **Same time for a duplicate.** Alternating in a shuffled order, with a pause after each so
   the work deferred past one answer never overlaps the next: declarations that create an
   application and declarations whose number already has an account (nothing is created, an
   SMS says so). Median and 90th percentile of each, and their ratio.

Nothing is asserted: the figures are for bench/README.md. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import secrets
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from bench import load, server

API = "/api/v1/applications"


# --- photos -------------------------------------------------------------------------------


def camera_jpeg(size: tuple[int, int], target_bytes: int, seed: int) -> bytes:
    """A photo-like JPEG (gradients, shapes, sensor noise) with EXIF and GPS, near
    ``target_bytes``: the quality is searched for."""
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    w, h = size
    base = Image.merge("RGB", [Image.linear_gradient("L").resize((w, h)).rotate(angle)
                               for angle in (0, 90, 180)])
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y = rnd.randrange(w), rnd.randrange(h)
        r = rnd.randrange(20, w // 4)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rnd.randrange(256) for _ in range(3)))
    base = base.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((w, h), 18).convert("RGB")
    photo = Image.blend(base, noise, 0.18)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Bench Camera", "BC-1"
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.1)}
    low, high, best = 30, 98, b""
    while low <= high:
        quality = (low + high) // 2
        out = io.BytesIO()
        photo.save(out, "JPEG", quality=quality, exif=exif)
        data = out.getvalue()
        if not best or abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
        if len(data) < target_bytes:
            low = quality + 1
        else:
            high = quality - 1
    return best


def camera_png(size: tuple[int, int], seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(camera_jpeg(size, 200_000, seed))).save(out, "PNG")
    return out.getvalue()


@dataclass
class PhotoSet:
    name: str
    files: dict[str, bytes]  # field -> bytes

    @property
    def body_bytes(self) -> int:
        return sum(len(v) for v in self.files.values())

    @property
    def largest(self) -> int:
        return max(len(v) for v in self.files.values())


def photo_sets() -> list[PhotoSet]:
    def jpegs(size, target):
        return {name: camera_jpeg(size, target, seed) for seed, name in
                enumerate(("portrait", "id_front", "id_back"))}

    return [
        PhotoSet("3 x JPEG 2000x1500 ~1 MB", jpegs((2000, 1500), 1_000_000)),
        PhotoSet("3 x JPEG 4032x3024 ~1 MB", jpegs((4032, 3024), 1_000_000)),
        PhotoSet("3 x JPEG 4032x3024 ~3 MB", jpegs((4032, 3024), 3_000_000)),
        PhotoSet("3 x JPEG 6000x4000 ~4.5 MB", jpegs((6000, 4000), 4_500_000)),
        PhotoSet("3 x PNG 1600x1200", {name: camera_png((1600, 1200), seed) for seed, name
                                       in enumerate(("portrait", "id_front", "id_back"))}),
    ]


# --- declarations -------------------------------------------------------------------------


def fields(bhxh: str | None = None, cccd_serial: int | None = None) -> dict[str, str]:
    bhxh = bhxh or "".join(secrets.choice("0123456789") for _ in range(10))
    serial = cccd_serial if cccd_serial is not None else secrets.randbelow(10**6)
    return {"bhxh_number": bhxh, "full_name": "Người Đo Tải", "date_of_birth": "1990-05-17",
            "sex": "male", "id_number": f"001090{serial:06d}",
            "phone": f"0912{secrets.randbelow(10**6):06d}", "office": "BHXH-001"}


def post(session, base: str, values: dict, photos: PhotoSet) -> int:
    files = {name: (f"{name}.jpg", data, "image/jpeg") for name, data in photos.files.items()}
    answer = session.post(f"{base}{API}", data=values, files=files, timeout=120)
    if answer.status_code != 201:
        raise SystemExit(f"bench: HTTP {answer.status_code} {answer.text[:200]}")
    return answer.status_code


# --- the server ---------------------------------------------------------------------------

EXISTING_BHXH, EXISTING_CCCD = "7900000001", "001090999999"


def prepare(settings: dict) -> None:
    """Migrate, load the shipped offices, and one account whose number the duplicates use."""
    from flask_migrate import upgrade

    from gateway import create_app
    from gateway.extensions import db
    from gateway.services.accounts import create_account
    from gateway.services.offices import load_file, shipped_file

    app = create_app(settings)
    with app.app_context():
        upgrade()
        load_file(shipped_file(), via="bench")
        create_account(bhxh=EXISTING_BHXH, name="Người Đã Có Tài Khoản", dob="1990-05-17",
                       sex="male", cccd=EXISTING_CCCD, phone="0912999999",
                       password="Mật-khẩu-đo-tải-2026", via="bench")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    store = app.extensions["gateway.store"]
    if hasattr(store, "client"):
        store.client.close()
    if hasattr(store, "close"):
        store.close()


def _memory() -> dict:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def serve(settings: dict, port: int, cpu: int) -> None:
    """Process entry: bench/server.py's server, plus /_bench/memory (GET: resident size and
    its peak; POST: reset the peak to the current size)."""
    server.pin(cpu)
    import ctypes
    import logging

    from flask import jsonify, request
    from werkzeug.serving import run_simple

    from gateway import create_app

    app = create_app(settings)
    server.instrument(app)

    libc = ctypes.CDLL("libc.so.6")

    def memory():
        if request.method == "POST":
            libc.malloc_trim(0)  # what small allocations freed, back to the system too
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        return jsonify(_memory())

    app.add_url_rule("/_bench/memory", "bench_memory", memory, methods=["GET", "POST"])
    server._start_worker(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False, use_debugger=False)


# --- the three measurements ---------------------------------------------------------------


def throughput(base: str, photos: PhotoSet, threads: int, seconds: float) -> dict:
    before = load.server_stats(base)
    done, errors = [0] * threads, []
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = time.monotonic()

    def worker(i: int) -> None:
        session = load.loopback_session()
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                post(session, base, fields(), photos)
            except BaseException as exc:  # noqa: BLE001 — counted and shown
                errors.append(repr(exc))
                return
            with lock:
                latencies.append(time.perf_counter() - t0)
            done[i] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - start
    after = load.server_stats(base)
    cpu = after["cpu_seconds"] - before["cpu_seconds"]
    ops = sum(done)
    counters = {k: after["counters"][k] - before["counters"][k]
                for k in ("store_ops", "sql_statements", "sql_commits")}
    return {"ops": ops, "errors": errors, "elapsed": elapsed, "cpu": cpu,
            "per_second": ops / elapsed, "per_cpu_second": ops / cpu if cpu else 0.0,
            "p50": statistics.median(latencies) * 1000 if latencies else 0.0,
            "p95": (statistics.quantiles(latencies, n=20)[-1] * 1000
                    if len(latencies) > 1 else 0.0),
            **{k: v / ops if ops else 0.0 for k, v in counters.items()}}


def memory_per_upload(base: str, photos: PhotoSet, samples: int) -> dict:
    session = load.loopback_session()
    deltas = []
    for _ in range(samples):
        baseline = session.post(f"{base}/_bench/memory", timeout=10).json()["VmRSS"]
        post(session, base, fields(), photos)
        peak = session.get(f"{base}/_bench/memory", timeout=10).json()["VmHWM"]
        deltas.append(peak - baseline)
        time.sleep(0.3)  # the SMS delivery deferred past the answer
    return {"first": deltas[0], "median": statistics.median(deltas[1:] or deltas),
            "max": max(deltas[1:] or deltas)}


def same_time(base: str, photos: PhotoSet, rounds: int, pause: float) -> dict:
    session = load.loopback_session()
    order = ["creates an application", "number has an account"] * rounds
    random.Random(9).shuffle(order)
    times: dict[str, list[float]] = {case: [] for case in set(order)}
    for i, case in enumerate(order):
        values = fields() if case.startswith("creates") else fields(EXISTING_BHXH)
        t0 = time.perf_counter()
        post(session, base, values, photos)
        elapsed = time.perf_counter() - t0
        if i >= 2:
            times[case].append(elapsed * 1000)
        time.sleep(pause)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["production", "embedded", "both"],
                        default="production")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--memory-samples", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=30, help="per case, same-time test")
    parser.add_argument("--pause", type=float, default=0.4)
    cpus = sorted(os.sched_getaffinity(0))
    parser.add_argument("--server-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    args = parser.parse_args()

    print("bench: making photos ...", flush=True)
    sets = photo_sets()
    for photos in sets:
        sizes = ", ".join(f"{len(v) / 1e6:.2f}" for v in photos.files.values())
        print(f"    {photos.name:26s} {sizes} MB (body {photos.body_bytes / 1e6:.2f} MB)")
    for name in (["production", "embedded"] if args.backend == "both" else [args.backend]):
        with server.backend(name) as be:
            settings = {**be.settings,
                        "FILE_STORE_DIR": os.path.join(os.path.dirname(
                            be.settings["SMS_OUTBOX"]), "uploads"),
                        "APPLICATIONS_PER_ADDRESS": 10**9, "APPLICATIONS_PER_PHONE": 10**9}
            prepare(settings)
            with running(settings, args, MALLOC_EXACT) as base:
                memory = {photos.name: memory_per_upload(base, photos, args.memory_samples)
                          for photos in sets}
            with running(settings, args) as base:
                result = throughput(base, sets[0], args.threads, args.seconds)
                times = same_time(base, sets[0], args.rounds, args.pause)
        report(name, be.description, args, sets, result, memory, times)


# glibc: every allocation of 128 KiB or more is its own mapping, returned to the system when
# freed (no dynamic threshold, no arena keeping it), so the resident size before a request is
# what the process holds, and its peak during the request is what the request needed.
MALLOC_EXACT = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072",
                "MALLOC_ARENA_MAX": "2"}


@contextmanager
def running(settings: dict, args, environ: dict | None = None):
    """The server in its own process on ``args.server_cpu`` (with ``environ`` added to its
    environment), this process on ``args.load_cpu``; yields the base URL."""
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    saved = {key: os.environ.get(key) for key in environ or {}}
    os.environ.update(environ or {})
    try:
        proc = multiprocessing.get_context("spawn").Process(
            target=serve, args=({**settings, "ISSUER": base}, port, args.server_cpu),
            daemon=True)
        proc.start()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        load.wait_ready(base, proc)
        server.pin(args.load_cpu)
        yield base
    finally:
        proc.terminate()
        proc.join(10)


def report(name, description, args, sets, result, memory, times) -> None:
    print(f"\n=== {name} — {description}")
    print(f"throughput ({sets[0].name}, {args.threads} client threads, {args.seconds:.0f} s, "
          f"server pinned to CPU {args.server_cpu}):")
    print(f"    {result['ops']} declarations, {len(result['errors'])} errors in "
          f"{result['elapsed']:.1f} s; server CPU {result['cpu']:.1f} s "
          f"({100 * result['cpu'] / result['elapsed']:.0f}% of its core)")
    print(f"    {result['per_second']:.1f} declarations/s on one core; "
          f"{result['per_cpu_second']:.1f} per CPU-second; p50 {result['p50']:.0f} ms, "
          f"p95 {result['p95']:.0f} ms")
    print(f"    per declaration: {result['store_ops']:.1f} store ops, "
          f"{result['sql_statements']:.1f} SQL statements, {result['sql_commits']:.1f} commits")
    for error in result["errors"][:3]:
        print(f"    error: {error}")
    print("peak memory per upload (server RSS peak above its size before the request):")
    print(f"    {'photos':26s} {'body MB':>8s} {'first MB':>9s} {'median MB':>10s} "
          f"{'max MB':>7s} {'max/body':>9s} {'max/largest photo':>18s}")
    for photos in sets:
        m = memory[photos.name]
        print(f"    {photos.name:26s} {photos.body_bytes / 1e6:8.2f} {m['first'] / 1e6:9.1f} "
              f"{m['median'] / 1e6:10.1f} {m['max'] / 1e6:7.1f} "
              f"{m['max'] / photos.body_bytes:9.2f} {m['max'] / photos.largest:18.2f}")
    print(f"same time with or without an existing account ({args.rounds} each, shuffled):")
    reference = statistics.median(times["creates an application"])
    for case, values in sorted(times.items()):
        p50 = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"    {case:24s} p50 {p50:7.1f} ms  p90 {p90:7.1f} ms  "
              f"p50 / created {p50 / reference:4.2f}")


if __name__ == "__main__":
    main()
