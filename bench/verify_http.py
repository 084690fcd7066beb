"""Verification through HTTP: `python bench/verify_http.py [--quick] [--aa] [--http h11|httptools]`.

uvicorn (one process, its own; its HTTP parser httptools when installed, as uvicorn chooses and
production deployments run it, else h11, or as `--http` says) serves a minimal ASGI app (200
and a two-byte JSON body) on loopback, without and with `changeup_tui.asgi.ApiKeyMiddleware`
(environment Live, defaults: cache of 10,000 keys, max_staleness 1 s, argon2 pool of one thread
per core but one), with N keys in use (1,000; 100 with --quick), each request presenting one of
them in turn.

1. Throughput: the two servers (without and with the middleware, the keys already verified
   once: in the cache) loaded AT THE SAME TIME, each by its own closed-loop load generator with
   the same settings (`wrk` from the Debian package, one thread, 32 connections, a Lua script
   rotating the keys; else this script's asyncio client in a process of its own), both started
   together; both servers on one CPU, the load generators on the others. A warm-up of 2 s,
   then twelve windows of 2 s (--quick: 1 s, four of 1 s). At each window's end the bench reads
   each server's own counters (requests answered, its process's CPU time, all threads, and its
   clock, at one instant); a window's figures are the difference of two readings. The verdict
   is on requests per CPU-second (the cost of a request, whatever share of the machine the
   server got): the median of the windows' ratios, with/without, budget >= 0.8x; the quartiles
   and range are printed, and for each window and server the requests a second, the CPU it got
   (fairness: their ratio is printed too; the wall-clock rate ratio is the cost ratio only when
   each got the same CPU) and what the middleware's server did besides answering from memory
   (store queries, "last used" writes, collections), so that a window out of the steady state
   shows as such.
   Why so: on a shared 2-vCPU VM one server's own rate moves between about 15,000 and 31,000
   requests per CPU-second from one 2 s run to the next (other jobs, the host). Measured one
   after the other, that drift falls on one side of a ratio: the former measure (seven
   interleaved pairs of 2 s, `--sequential` prints it for comparison) gave pairs of two
   identical bare servers from 0.65x to 1.46x and verdicts from 0.65x to 1.07x for the
   middleware. Run at the same time on the same CPU, both servers see the same machine at the
   same moments, and the drift cancels in the ratio. `--aa` is the control: two identical
   servers without the middleware, part 1 only. Measured (12:14 to 12:31 UTC, load average 1.4
   to 2.6 from other jobs, the servers' absolute rate moving from 15,000 to 31,000 per
   CPU-second): windows within 1.00x to 1.03x of each other (medians 1.015x, 1.002x; 0.994x in
   --quick), where the sequential pairs of the same run gave 0.97x to 1.19x. Left to the
   scheduler (`--no-pin`: each server anywhere on the two CPUs), the concurrent A/A windows
   spread from 0.65x to 1.56x (three runs; medians 1.03x, 1.16x, 1.48x): a server kept on a
   vCPU that the host slows is not common to both. What remains is a difference of 1 to 2%
   between two processes that holds for a run (the A/A medians above): the figure's
   resolution.
2. A flood: the same keys at a steady rate (a third of the measured throughput, at most 500/s;
   latency measured from each request's scheduled time, so a stall is not hidden), alone and
   then with forged requests, in alternating rounds (the figure compares the medians of the
   rounds' p99) at ten times what the server's argon2 pool can check (its workers / one bare
   argon2 verify) from another process (`wrk` where present, paced by a random pause per
   connection; else this script's asyncio client): a third unknown Client IDs, a third random
   wrong secrets for the known Client IDs, a third wrong secrets forged to match a known key's
   hint (the case that costs argon2; the throttle stops each Client ID after 5). Budgets: the
   legitimate p99 with the flood within 2x of the p99 without; the server's memory (RSS) during
   the flood grows by no more than the pool's bound (workers x argon2 memory).
3. A key in use revoked with the command line (`changeup-tui keys revoke --yes`) while the
   steady load runs: the time from the revoke's commit (seen by a reader of the database polling
   every 2 ms) to the first 401 for that key (presented every 10 ms). Budget: max_staleness +
   0.5 s = 1.5 s.

The keys' secrets are given to wrk through a file (0600 in a 0700 temporary folder, deleted at
the end); they are throwaway keys of a throwaway database."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import _common

from changeup_tui.core import hashing
from changeup_tui.core.credentials import (
    SECRET_BODY,
    SeededKeyGenerator,
    secret_from_body,
)
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.core.verify_pool import DEFAULT_QUEUE_PER_WORKER, default_workers

THROUGHPUT_BUDGET = 1 / 0.8  # without/with
P99_BUDGET = 2.0
REVOKE_BUDGET_S = 1.5
HERE = Path(__file__).resolve()


def child_env() -> dict[str, str]:
    """This process's environment for the server, the flood and the command line: the checkout's
    package importable, no CHANGEUP_TUI_DB."""
    env = {k: v for k, v in os.environ.items() if k != "CHANGEUP_TUI_DB"}
    env["PYTHONPATH"] = str(_common.ROOT)
    return env

# -- the server (run as a child process: --serve) -------------------------------------------------


COUNTERS_PATH = "/_bench/counters"
COUNTS: Counter = Counter()
"""What the server process did besides answering: its verifier's store queries and the
collector's passes (the parent reads them at COUNTERS_PATH between rounds)."""


async def minimal_app(scope: dict, receive: Callable, send: Callable) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == COUNTERS_PATH:  # both servers make this one comparison per request
        # the requests answered, the process's CPU (all its threads) and the clock, read at one
        # instant in the server: a window's figures are the difference of two such readings
        body = json.dumps({**COUNTS, "clock_ns": time.monotonic_ns(),
                           "cpu_ns": time.process_time_ns()}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    COUNTS["requests"] += 1
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


def count_gc() -> None:
    """Collections and their time, per generation, into COUNTS."""
    import gc

    started = [0.0]

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        COUNTS[f"gc{info['generation']}"] += 1
        COUNTS["gc_us"] += round((time.perf_counter() - started[0]) * 1e6)

    gc.callbacks.append(note)


def count_queries(store: object) -> None:
    """Count the verifier's store calls (the real store does the work): a state read one key at
    a time (a stale entry's request waits for it; each cold check makes one too), a sweep's
    read of many, the sweep's data_version, the "last used" writes, and the cold checks'
    look-ups."""
    import contextvars

    inside = contextvars.ContextVar("inside", default=False)  # a call made by a counted call

    def counted(name: str, size: bool = False) -> None:
        real = getattr(store, name)

        async def call(*args: object, **kwargs: object) -> object:
            if inside.get():  # e.g. SQLite's get_key_state is a get_key_states of one key
                return await real(*args, **kwargs)
            COUNTS[name] += 1
            if size:
                COUNTS[f"{name}_keys"] += len(args[0])  # type: ignore[arg-type]
            token = inside.set(True)
            try:
                return await real(*args, **kwargs)
            finally:
                inside.reset(token)

        setattr(store, name, call)

    counted("get_key_state")
    counted("get_key_states", size=True)
    counted("data_version")
    counted("record_use", size=True)
    counted("get_key")


def default_http() -> str:
    """uvicorn's own choice: httptools when installed (its `standard` extra, what production
    deployments run), else h11 (pure Python)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def serve(db: str, port: int, middleware: bool, options: dict[str, float], http: str) -> None:
    import logging

    import uvicorn

    # Refusals are logged (a few lines a second) as a service would; here nobody reads them.
    refusals = logging.getLogger("changeup_tui.verify")
    refusals.addHandler(logging.NullHandler())
    refusals.propagate = False

    count_gc()
    app: Callable = minimal_app
    if middleware:
        from changeup_tui.asgi import ApiKeyMiddleware

        middleware_app = ApiKeyMiddleware(minimal_app, db=db, environment="live",
                                          open_paths=[COUNTERS_PATH], **options)
        count_queries(middleware_app.verifier._store)  # the bench's instrument, not an API
        app = middleware_app
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False,
                lifespan="on", http=http)


# -- a small HTTP/1.1 client (keep-alive, one request at a time per connection) ------------------


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def get(self, headers: bytes) -> int:
        self.writer.write(b"GET / HTTP/1.1\r\nhost: bench\r\n" + headers + b"\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        at = lower.find(b"content-length:")
        length = int(lower[at + 15: lower.index(b"\r\n", at)]) if at >= 0 else 0
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


def header_bytes(client_id: str, secret: str) -> bytes:
    return f"x-client-id: {client_id}\r\nx-api-key: {secret}\r\n".encode()


async def paced(port: int, rate: float, seconds: float, requests: list[bytes],
                connections: int) -> tuple[list[float], Counter]:
    """Open loop: request i is due at start + i/rate; its latency counts from then."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter = Counter()
    conns = [await Conn.open(port) for _ in range(connections)]
    start = loop.time() + 0.05

    async def worker(w: int) -> None:
        conn = conns[w]
        for i in range(w, total, connections):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status = await conn.get(requests[i % len(requests)])
            except (ConnectionError, asyncio.IncompleteReadError):
                statuses["error"] += 1
                conn.close()
                conn = conns[w] = await Conn.open(port)
                continue
            latencies.append(loop.time() - due)
            statuses[status] += 1

    await asyncio.gather(*(worker(w) for w in range(connections)))
    for conn in conns:
        conn.close()
    return latencies, statuses


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


# -- the flood (run as a child process: --flood) --------------------------------------------------


def flood(port: int, rate: float, seconds: float, forged_file: str) -> None:
    requests = [line.encode().replace(b"\\r\\n", b"\r\n")
                for line in Path(forged_file).read_text().splitlines()]
    _, statuses = asyncio.run(paced(port, rate, seconds, requests, connections=64))
    print(json.dumps({"sent": sum(statuses.values()), "statuses": dict(statuses)}))


def forged_requests(known: list[tuple[str, str]], seconds_for_hints: float,
                    kinds: tuple[str, ...] = ("unknown", "wrong", "hint")) -> list[str]:
    """Unknown Client IDs, random wrong secrets for known ones, and wrong secrets whose hint
    (last 4 characters) matches a known key's, found by trying random bodies."""
    rng = random.Random(99)
    gen = SeededKeyGenerator(4242, valid_checksum=True)
    by_hint = {secret[-4:]: client_id for client_id, secret in known}
    matched: list[tuple[str, str]] = []
    deadline = time.monotonic() + (seconds_for_hints if "hint" in kinds else 0)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    while time.monotonic() < deadline:
        body = "".join(rng.choices(alphabet, k=SECRET_BODY))
        secret = secret_from_body(Environment.LIVE, body).reveal()
        client_id = by_hint.get(secret[-4:])
        if client_id is not None:
            matched.append((client_id, secret))
    forged = []
    for i in range(3000):
        kind = kinds[i % len(kinds)]
        if kind == "unknown":
            pair = (gen.client_id(Environment.LIVE), gen.secret(Environment.LIVE).reveal())
        elif kind == "wrong" or not matched:
            pair = (known[i % len(known)][0], gen.secret(Environment.LIVE).reveal())
        else:
            pair = matched[i % len(matched)]
        forged.append(pair)
    print(f"   forged: {len(matched)} hint-matching wrong secrets found in {seconds_for_hints:.0f} s",
          flush=True)
    return forged


def forged_lines(forged: list[tuple[str, str]]) -> list[str]:
    """The asyncio flood's file: each request's headers on one line (CRLF escaped)."""
    return [header_bytes(*pair).decode().replace("\r\n", "\\r\\n") for pair in forged]


FLOOD_CONNECTIONS = 64
FLOOD_SCRIPT = """
local forged = {}
for line in io.lines(os.getenv("FORGED_FILE")) do
  local id, secret = line:match("^(%S+) (%S+)$")
  forged[#forged + 1] = {id, secret}
end
local pause = tonumber(os.getenv("DELAY_MS"))
local i = 0
statuses = {}
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
request = function()
  i = i % #forged + 1
  return wrk.format("GET", "/", {["x-client-id"] = forged[i][1], ["x-api-key"] = forged[i][2]})
end
math.randomseed(os.time())
-- a random pause around the mean: connections that started together drift apart, so the
-- forged requests arrive spread out (about a Poisson stream), not in bursts of every connection
delay = function() return math.random(0, 2 * pause) end
response = function(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
end
"""


def start_flood(use_wrk: bool, folder: Path, port: int, rate: float,
                seconds: float) -> subprocess.Popen:
    """The flood, from a process of its own: wrk where present (a C client: on a shared 2-core
    machine the attacker's own client should take as little of the server's CPU as it can),
    paced by a random pause per connection (FLOOD_CONNECTIONS x one request every DELAY_MS on
    average), else this script's asyncio client, paced per request."""
    if use_wrk:
        pause = max(1, round(1000 * FLOOD_CONNECTIONS / rate))
        return subprocess.Popen(
            ["wrk", "-t1", f"-c{FLOOD_CONNECTIONS}", f"-d{seconds:.0f}s", "-s",
             str(folder / "flood.lua"), f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, text=True,
            env={**os.environ, "FORGED_FILE": str(folder / "forged-pairs.txt"),
                 "DELAY_MS": str(pause)})
    return subprocess.Popen(
        [sys.executable, str(HERE), "--flood", "--port", str(port), "--rate", str(rate),
         "--seconds", str(seconds), "--forged", str(folder / "forged.txt")],
        stdout=subprocess.PIPE, text=True, env=child_env())


def flood_answers(use_wrk: bool, out: str) -> Counter:
    """What the flood was answered: 'sent' and a count per HTTP status."""
    answered: Counter = Counter()
    if use_wrk:
        for line in out.splitlines():
            if line.startswith("STATUS "):
                _, status, count = line.split()
                answered[f"HTTP {status}"] += int(count)
            elif " requests in " in line:
                answered["sent"] += int(line.split()[0])
        return answered
    stats = json.loads(out.strip().splitlines()[-1])
    answered["sent"] += stats["sent"]
    answered.update({f"HTTP {k}": v for k, v in stats["statuses"].items()})
    return answered


# -- the parent ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, middleware: bool, peer_misses: float | None = None,
                 http: str = "auto") -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = [sys.executable, str(HERE), "--serve", "--db", str(db), "--port", str(port),
            "--http", http]
    if middleware:
        args.append("--middleware")
    if peer_misses is not None:
        args += ["--peer-misses", str(peer_misses)]
    proc = subprocess.Popen(args, env=child_env())
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def make_keys(db: Path, n: int) -> list[tuple[str, str]]:
    store = SQLiteStore(db)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("bench", "local"))
        out: list[tuple[str, str]] = []
        for start in range(0, n, 8):  # hashes in parallel, writes one by one
            made = await asyncio.gather(*(service.create(f"http bench {i}", Environment.LIVE)
                                          for i in range(start, min(n, start + 8))))
            out += [(m.key.client_id, m.secret.reveal()) for m in made]
        return out
    finally:
        await store.close()


def server_counts(port: int) -> Counter:
    """The server's COUNTS (its verifier's store queries, its collector's passes) so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{COUNTERS_PATH}", timeout=10) as reply:
        return Counter(json.loads(reply.read()))


def since(now: Counter, before: Counter) -> Counter:
    return Counter({k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)})


def server_work(c: Counter) -> str:
    """What the middleware's server did besides answering from memory, for the report."""
    return (f"{c['get_key_state']} state reads one key at a time, {c['get_key_states']} sweeps "
            f"reading {c['get_key_states_keys']} keys, {c['data_version']} data_version, "
            f"{c['record_use']} last-used writes ({c['record_use_keys']} keys), "
            f"{c['gc0'] + c['gc1'] + c['gc2']} collections ({c['gc2']} full) "
            f"{c['gc_us'] / 1000:.0f} ms")


WRK_SCRIPT = """
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
  local id, secret = line:match("^(%S+) (%S+)$")
  keys[#keys + 1] = {id, secret}
end
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/", {["x-client-id"] = keys[i][1], ["x-api-key"] = keys[i][2]})
end
"""


LOAD_CONNECTIONS = 32


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a process onto `cpus` (threads it makes later inherit their maker's)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:  # a thread that just ended
            pass


def placement() -> tuple[set[int], set[int]] | None:
    """Part 1's CPUs: both servers on one CPU (time-sharing it, each sees the same CPU at the
    same moments), the load generators on the others; None on a machine of one CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[-1]}, set(cpus[:-1])


def start_load(use_wrk: bool, port: int, seconds: float, keys_file: Path,
               script: Path, cpus: set[int] | None = None) -> subprocess.Popen:
    """A closed-loop load on one server from a process of its own, for `seconds`: wrk (one
    thread, LOAD_CONNECTIONS connections, the Lua script rotating the keys), else this script's
    asyncio client (--load) with the same keys in the same order."""
    if use_wrk:
        return subprocess.Popen(
            ["wrk", "-t1", f"-c{LOAD_CONNECTIONS}", f"-d{seconds:.0f}s", "-s", str(script),
             f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "KEYS_FILE": str(keys_file)}, preexec_fn=on_cpus(cpus))
    return subprocess.Popen(
        [sys.executable, str(HERE), "--load", "--port", str(port), "--seconds", str(seconds),
         "--keys", str(keys_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
        preexec_fn=on_cpus(cpus))


def on_cpus(cpus: set[int] | None) -> Callable[[], None] | None:
    """A child's preexec_fn that puts it on `cpus` before it starts (all its threads then)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def load_answers(use_wrk: bool, out: str) -> Counter:
    """What a load generator was answered: 'sent', and 'refused' (not 2xx) and 'errors'."""
    answered: Counter = Counter()
    if not use_wrk:
        stats = json.loads(out.strip().splitlines()[-1])
        answered["sent"] = stats["sent"]
        answered["refused"] = sum(v for k, v in stats["statuses"].items() if k != "200")
        return answered
    for line in out.splitlines():
        if " requests in " in line:
            answered["sent"] = int(line.split()[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            answered["refused"] = int(line.split()[-1])
        elif line.strip().startswith("Socket errors:"):
            # "Socket errors: connect 0, read 0, write 0, timeout 0"
            answered["errors"] = sum(int(part.split()[-1]) for part in line.split(":")[1].split(","))
    return answered


def load_child(port: int, seconds: float, keys_file: str) -> None:
    """--load: the asyncio client's closed loop on one server; prints what it was answered."""
    requests = [header_bytes(*line.split()) for line in Path(keys_file).read_text().splitlines()]

    async def run() -> Counter:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        statuses: Counter = Counter()

        async def worker(w: int) -> None:
            conn = await Conn.open(port)
            i = w
            while loop.time() < end:
                statuses[str(await conn.get(requests[i % len(requests)]))] += 1
                i += LOAD_CONNECTIONS
            conn.close()

        await asyncio.gather(*(worker(w) for w in range(LOAD_CONNECTIONS)))
        return statuses

    statuses = asyncio.run(run())
    print(json.dumps({"sent": sum(statuses.values()), "statuses": dict(statuses)}))


@dataclass
class Side:
    """One server's figures over one window: from two readings of its counters."""
    requests: int
    cpu: float  # CPU-seconds of the server process, all its threads
    wall: float  # seconds, the server's clock
    work: Counter  # the rest of its counters' difference (store queries, collections)

    @classmethod
    def between(cls, before: Counter, after: Counter) -> Side:
        work = since(after, before)
        return cls(requests=work.pop("requests", 0), cpu=work.pop("cpu_ns", 0) / 1e9,
                   wall=work.pop("clock_ns", 0) / 1e9, work=work)

    @property
    def rate(self) -> float:
        """Requests a second (wall clock)."""
        return self.requests / self.wall

    @property
    def per_cpu(self) -> float:
        """Requests per CPU-second: the cost of a request, whatever share of the machine the
        server got."""
        return self.requests / self.cpu

    @property
    def share(self) -> float:
        """The CPU the server got: CPU-seconds per second (1.0: a core to itself)."""
        return self.cpu / self.wall


def concurrent_windows(ports: tuple[int, int], warm: float, windows: int, seconds: float,
                       use_wrk: bool, keys_file: Path, script: Path,
                       load_cpus: set[int] | None
                       ) -> tuple[Side, Side, list[tuple[Side, Side]], list[Counter]]:
    """Both servers loaded AT THE SAME TIME, each by its own load generator (same settings, same
    keys in the same order), started together and run for warm + windows x seconds (+ 2 s).
    Each server's counters are read at the end of the warm-up and at every window's end; a
    window's figures for a server are the difference of two of its readings, so both servers'
    windows cover the same stretch of time (a few milliseconds apart: the two readings of a
    boundary). Returns the warm-up's two sides, each window's two sides and what each load
    generator was answered."""
    total = warm + windows * seconds + 2  # the last reading comes before the load ends
    loads = [start_load(use_wrk, port, total, keys_file, script, load_cpus) for port in ports]
    try:
        start = time.monotonic()
        first = [server_counts(port) for port in ports]  # the load's first instants
        time.sleep(max(0.0, start + warm - time.monotonic()))
        readings = [[server_counts(port) for port in ports]]
        for k in range(1, windows + 1):
            time.sleep(max(0.0, start + warm + k * seconds - time.monotonic()))
            readings.append([server_counts(port) for port in ports])
        outs = [load.communicate(timeout=total + 60)[0] for load in loads]
    finally:
        for load in loads:
            stop(load)
    answers = [load_answers(use_wrk, out) for out in outs]
    warm_sides = (Side.between(first[0], readings[0][0]), Side.between(first[1], readings[0][1]))
    per_window = [(Side.between(a[0], b[0]), Side.between(a[1], b[1]))
                  for a, b in pairwise(readings)]
    return warm_sides[0], warm_sides[1], per_window, answers


def spread(values: list[float]) -> str:
    """Median, quartiles and range of some ratios, for the report."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return (f"median {statistics.median(values):.3f}x, quartiles {q[0]:.3f} to {q[2]:.3f}, "
            f"range {min(values):.3f} to {max(values):.3f}")


async def under_watch(pid: int, port: int, rate: float, seconds: float,
                      steady: list[bytes]) -> tuple[list[float], Counter, int]:
    """The steady load while the server's RSS is sampled every 50 ms; returns the peak too."""
    peak = rss_bytes(pid)
    running = True

    async def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.05)

    sampler = asyncio.ensure_future(sample())
    try:
        latencies, statuses = await paced(port, rate, seconds, steady, 16)
    finally:
        running = False
        await sampler
    return latencies, statuses, peak


def watch_commit(db: Path, client_id: str, seen: dict[str, float], stop: threading.Event) -> None:
    """When the revoke became visible in the database (read every 2 ms, as any reader sees it):
    the start of the figure, not the command's exit (which comes later)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        while not stop.is_set():
            (status,) = conn.execute("SELECT status FROM api_keys WHERE client_id = ?",
                                     (client_id,)).fetchone()
            if status == "revoked":
                seen["committed"] = time.monotonic()
                return
            time.sleep(0.002)
    finally:
        conn.close()


async def revoke_during_load(db: Path, port: int, rate: float, steady: list[bytes],
                             victim: tuple[str, str]) -> tuple[float, Counter]:
    """Steady load; after 1 s the command line revokes `victim`; a poller presents it every
    10 ms. Returns the seconds from the revoke's commit to the first 401."""
    loop = asyncio.get_running_loop()
    load = asyncio.ensure_future(paced(port, rate, 4.0, steady, connections=8))
    poll = await Conn.open(port)
    request = header_bytes(*victim)
    # Its first request is a cache miss from the address the flood came from: right after the
    # flood that peer's budget of misses may be spent (503, Retry-After: 1), so retry as told.
    for _ in range(10):
        status = await poll.get(request)
        if status != 503:
            break
        await asyncio.sleep(1.0)
    assert status == 200, status
    await asyncio.sleep(1.0)
    seen: dict[str, float] = {}
    stop_watch = threading.Event()
    watcher = threading.Thread(target=watch_commit, args=(db, victim[0], seen, stop_watch))
    watcher.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "changeup_tui", "--db", str(db), "keys", "revoke", victim[0],
            "--yes", env=child_env(), stdout=asyncio.subprocess.DEVNULL,
        )
        while await poll.get(request) == 200:
            if "committed" in seen and loop.time() - seen["committed"] > 10:
                raise RuntimeError("the revoked key was still accepted after 10 s")
            await asyncio.sleep(0.01)
        refused = loop.time()  # the loop's clock is time.monotonic
        if await proc.wait() != 0:
            raise RuntimeError("the command line could not revoke the key")
    finally:
        stop_watch.set()
        watcher.join()
    poll.close()
    _, statuses = await load
    if "committed" not in seen:
        raise RuntimeError("refused before the revoke was seen in the database")
    return refused - seen["committed"], statuses


def sequential_pairs(ports: tuple[int, int], pairs: int, seconds: float, use_wrk: bool,
                     keys_file: Path, script: Path) -> list[tuple[Side, Side]]:
    """The former measure, printed for comparison (--sequential): one server loaded at a time,
    the two runs of a pair back to back (A B, B A, ...)."""
    out: list[tuple[Side, Side]] = []
    for i in range(pairs):
        sides: dict[int, Side] = {}
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            before = server_counts(ports[which])
            load = start_load(use_wrk, ports[which], seconds, keys_file, script)
            load.communicate(timeout=seconds + 60)
            sides[which] = Side.between(before, server_counts(ports[which]))
        out.append((sides[0], sides[1]))
    return out


def side_text(side: Side) -> str:
    return (f"{side.rate:,.0f}/s on {side.share:.2f} CPU ({side.per_cpu:,.0f} per CPU-second)")


def report_throughput(report: _common.Report, labels: tuple[str, str], warm_a: Side,
                      warm_b: Side, windows: list[tuple[Side, Side]], answers: list[Counter],
                      pairs: list[tuple[Side, Side]]) -> float:
    """Part 1's lines; returns the verdict: the median of the windows' ratios (B/A) of requests
    per CPU-second."""
    a, b = labels
    middleware = b == "with"
    report.line(f"warm-up, both loaded together, not in the verdict: {a} {side_text(warm_a)}; "
                f"{b} {side_text(warm_b)}")
    report.line(f"{len(windows)} windows of {windows[0][0].wall:.1f} s, both servers loaded at "
                "the same time, each by its own load generator:")
    for i, (x, y) in enumerate(windows):
        line = (f"  window {i + 1}: {a} {side_text(x)}; {b} {side_text(y)}: "
                f"{y.per_cpu / x.per_cpu:.3f}x")
        if middleware:
            line += f"; the middleware's server: {server_work(y.work)}"
        report.line(line)
    ratios = [y.per_cpu / x.per_cpu for x, y in windows]
    report.line(f"{b}/{a}, requests per CPU-second, per window: {spread(ratios)} (the verdict)")
    report.line(f"{b}/{a}, requests a second (wall clock), per window: "
                + spread([y.rate / x.rate for x, y in windows]))
    report.line(f"fairness, CPU {b}/{a}, per window: "
                + spread([y.share / x.share for x, y in windows])
                + f"; CPU of the two servers together: median "
                f"{statistics.median(x.share + y.share for x, y in windows):.2f} of 2 cores")
    report.line(f"medians: {a} {statistics.median(x.rate for x, _ in windows):,.0f}/s, "
                f"{statistics.median(x.per_cpu for x, _ in windows):,.0f} per CPU-second; "
                f"{b} {statistics.median(y.rate for _, y in windows):,.0f}/s, "
                f"{statistics.median(y.per_cpu for _, y in windows):,.0f} per CPU-second")
    report.line("load generators answered: " + "; ".join(
        f"{label} {c['sent']:,} requests, {c['refused']} refused, {c['errors']} socket errors"
        for label, c in zip(labels, answers, strict=True)))
    if middleware:
        report.line("the middleware's server in all the windows: "
                    + server_work(sum((y.work for _, y in windows), Counter())))
    if pairs:
        report.line(f"for comparison, the former sequential measure ({len(pairs)} pairs, one "
                    "server at a time, A B, B A, ...):")
        for i, (x, y) in enumerate(pairs):
            report.line(f"  pair {i + 1}: {a} {side_text(x)}; {b} {side_text(y)}: "
                        f"{y.per_cpu / x.per_cpu:.3f}x")
        report.line(f"{b}/{a}, requests per CPU-second, per pair: "
                    + spread([y.per_cpu / x.per_cpu for x, y in pairs]))
    return statistics.median(ratios)


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--middleware", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--forged", help=argparse.SUPPRESS)
    p.add_argument("--http", choices=["h11", "httptools"], default=None,
                   help="uvicorn's HTTP parser (default: httptools when installed, as uvicorn "
                   "chooses, else h11)")
    p.add_argument("--client", choices=["auto", "wrk", "asyncio"], default="auto",
                   help="load generator for the throughput figure and the flood")
    p.add_argument("--peer-misses", type=float,
                   help="the server verifier's budget of cache misses a second per client "
                   "address (default: the Verifier's; 0: off)")
    p.add_argument("--forged-kinds", default="unknown,wrong,hint",
                   help="what the flood sends, in turn: unknown (Client IDs), wrong (random wrong "
                   "secrets for known IDs), hint (wrong secrets matching a known key's hint)")
    p.add_argument("--aa", action="store_true",
                   help="the method's control: part 1 only, with two servers WITHOUT the "
                   "middleware (their ratio should be 1.0; its spread is the measure's own noise)")
    p.add_argument("--throughput-only", action="store_true",
                   help="part 1 only (the throughput figure and its verdict)")
    p.add_argument("--sequential", action="store_true",
                   help="part 1 also runs the former measure (one server loaded at a time, "
                   "interleaved pairs) and prints it for comparison")
    p.add_argument("--no-pin", action="store_true",
                   help="part 1 leaves the servers and load generators where the scheduler "
                   "puts them (default: both servers on one CPU, the load on the others)")
    p.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--keys", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.load:
        load_child(args.port, args.seconds, args.keys)
        return 0
    if args.serve:
        serve(args.db, args.port, args.middleware,
              {} if args.peer_misses is None else {"peer_misses": args.peer_misses},
              args.http or default_http())
        return 0
    if args.flood:
        flood(args.port, args.rate, args.seconds, args.forged)
        return 0

    quick = args.quick
    n_keys = 100 if quick else 1000
    warm_seconds = 1 if quick else 2  # part 1: both servers loaded together, then
    n_windows = 4 if quick else 12  # windows of
    seconds = 1 if quick else 2  # seconds each
    n_pairs = 3 if quick else 7  # --sequential
    labels = ("A", "B") if args.aa else ("without", "with")
    steady_seconds = 2.0 if quick else 4.0
    rounds = 2 if quick else 3
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    http = args.http or default_http()
    report = _common.Report("verify_http", quick)
    report.header(f"uvicorn ({http}) + minimal ASGI app, with and without ApiKeyMiddleware, "
                  f"{n_keys} keys in use, load by {'wrk' if use_wrk else 'the asyncio client'}; "
                  f"load average {os.getloadavg()[0]:.1f}")
    with _common.workdir("verify-http") as folder:
        db = folder / "changeup.db"
        t0 = time.monotonic()
        keys = asyncio.run(make_keys(db, n_keys))
        report.line(f"{n_keys} keys created in {time.monotonic() - t0:.1f} s")
        keys_file = folder / "keys.txt"
        fd = os.open(keys_file, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{cid} {secret}\n" for cid, secret in keys[1:])
        script = folder / "keys.lua"
        script.write_text(WRK_SCRIPT)
        victim, in_use = keys[0], keys[1:]
        steady = [header_bytes(cid, secret) for cid, secret in in_use]

        workers = default_workers()  # the server's argon2 pool (the Verifier's default)
        # 1. throughput: the two servers loaded at the same time (--aa: two without)
        plain, plain_port = start_server(db, middleware=False, http=http)
        proc, port = start_server(db, middleware=not args.aa, peer_misses=args.peer_misses,
                                  http=http)
        try:
            if not args.aa:
                t0 = time.monotonic()  # every key verified once: into the cache
                # as many connections as the pool takes at once: a new key is never `busy` here
                _, statuses = asyncio.run(paced(port, 10_000, len(steady) / 10_000, steady,
                                                workers + DEFAULT_QUEUE_PER_WORKER * workers))
                assert statuses.get(200) == len(steady), statuses
                filled = time.monotonic() - t0
                counts = server_counts(port)
                report.line(f"cache filled: {len(steady)} cold checks in {filled:.1f} s "
                            f"({counts['get_key']} look-ups, {counts['get_key_state']} state "
                            "reads)")
            cpus = None if args.no_pin else placement()
            if cpus is not None:
                for server in (plain, proc):
                    pin(server.pid, cpus[0])
            warm_a, warm_b, windows, answers = concurrent_windows(
                (plain_port, port), warm_seconds, n_windows, seconds, use_wrk, keys_file, script,
                None if cpus is None else cpus[1])
            pairs: list[tuple[Side, Side]] = []
            if args.sequential:  # the former measure, for comparison: one server at a time
                pairs = sequential_pairs((plain_port, port), n_pairs, seconds, use_wrk,
                                         keys_file, script)
            if cpus is not None:  # parts 2 and 3 as before: the whole machine
                pin(proc.pid, os.sched_getaffinity(0))
            stop(plain)
            if args.aa or args.throughput_only:
                stop(proc)
                verdict = report_throughput(report, labels, warm_a, warm_b, windows, answers,
                                            pairs)
                if not args.aa:
                    report.budget("without/with middleware, per CPU-second (median of windows)",
                                  1 / verdict, THROUGHPUT_BUDGET, "1.25x (with >= 0.8x without)")
                return report.exit_code()
            rate_with = statistics.median(b.rate for _, b in windows)
            # 2. steady load alone, then with the flood
            steady_rate = min(500.0, rate_with / 3)
            bare = []
            valid = SeededKeyGenerator(1, valid_checksum=True)
            phc = hashing.hash_secret_sync(valid.secret(Environment.LIVE))
            probe = SeededKeyGenerator(2, valid_checksum=True).secret(Environment.LIVE)
            for _ in range(10):
                s = _common.now()
                hashing.verify_sync(phc, probe)
                bare.append(_common.now() - s)
            capacity = workers / _common.median(bare)
            flood_rate = 10 * capacity
            forged = forged_requests(in_use, 2 if quick else 4, tuple(args.forged_kinds.split(",")))
            (folder / "forged.txt").write_text("\n".join(forged_lines(forged)))
            (folder / "forged-pairs.txt").write_text("".join(f"{c} {s}\n" for c, s in forged))
            (folder / "flood.lua").write_text(FLOOD_SCRIPT)
            base_rss = peak = rss_bytes(proc.pid)
            p99_alone: list[float] = []
            p99_flood: list[float] = []
            st_alone: Counter = Counter()
            st_flood: Counter = Counter()
            flood_stats: Counter = Counter()
            lat_alone: list[float] = []
            lat_flood: list[float] = []
            for _ in range(rounds):  # alone, flooded, alone, flooded...: drift falls on both
                latencies, statuses = asyncio.run(
                    paced(port, steady_rate, steady_seconds, steady, 16))
                p99_alone.append(p99(latencies))
                lat_alone += latencies
                st_alone.update(statuses)
                flooder = start_flood(use_wrk, folder, port, flood_rate, steady_seconds + 1)
                time.sleep(0.5)
                latencies, statuses, round_peak = asyncio.run(
                    under_watch(proc.pid, port, steady_rate, steady_seconds, steady))
                p99_flood.append(p99(latencies))
                lat_flood += latencies
                st_flood.update(statuses)
                peak = max(peak, round_peak)
                out, _ = flooder.communicate(timeout=60)
                flood_stats.update(flood_answers(use_wrk, out))
            # 3. a revoke during the load
            refused_after, st_revoke = asyncio.run(
                revoke_during_load(db, port, steady_rate, steady, victim))
        finally:
            stop(plain)
            stop(proc)
    verdict = report_throughput(report, labels, warm_a, warm_b, windows, answers, pairs)
    memory_bound = workers * hashing.MEMORY_COST_KIB * 1024
    report.line(f"argon2: one bare verify {_common.ms(_common.median(bare))}, {workers} workers: "
                f"about {capacity:,.0f} checks/s; flood at {flood_rate:,.0f}/s")
    report.line(f"steady load {steady_rate:,.0f}/s alone ({rounds} x {steady_seconds:.0f} s): "
                f"p50 {_common.ms(statistics.median(lat_alone))}, p99 of each round "
                + ", ".join(_common.ms(v) for v in p99_alone) + f"; {dict(st_alone)}")
    report.line(f"steady load with the flood: p50 {_common.ms(statistics.median(lat_flood))}, "
                "p99 of each round " + ", ".join(_common.ms(v) for v in p99_flood)
                + f"; {dict(st_flood)}")
    sent = flood_stats.pop("sent")
    flood_seconds = rounds * (steady_seconds + 1)
    report.line(f"flood ({'wrk' if use_wrk else 'the asyncio client'}, {FLOOD_CONNECTIONS} "
                f"connections): {sent} forged requests, about {sent / flood_seconds:,.0f}/s, "
                f"answered {dict(flood_stats)}")
    report.line(f"server RSS before the flood {base_rss / 2**20:.1f} MiB, peak during it "
                f"{peak / 2**20:.1f} MiB; pool bound {memory_bound / 2**20:.0f} MiB")
    report.line(f"revoked by the command line: refused {refused_after * 1000:.0f} ms after its "
                f"commit; steady load meanwhile {dict(st_revoke)}")
    report.line("load average at the end: "
                + ", ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1, 5, 15 min)")
    report.budget("without/with middleware, per CPU-second (median of windows)",
                  1 / verdict, THROUGHPUT_BUDGET, "1.25x (with >= 0.8x without)")
    report.budget("p99 flood/alone (medians of rounds)",
                  statistics.median(p99_flood) / statistics.median(p99_alone), P99_BUDGET, "2.00x")
    report.budget("RSS growth in flood", (peak - base_rss) / 2**20, memory_bound / 2**20,
                  f"{memory_bound / 2**20:.0f} MiB", unit=lambda v: f"{v:.1f} MiB")
    report.budget("revoke to refusal", refused_after, REVOKE_BUDGET_S, "1.5 s",
                  unit=lambda v: f"{v:.2f} s")
    ok_flood = st_flood.get(200, 0) == sum(st_flood.values())
    if not ok_flood:
        report.line("some legitimate requests were refused during the flood")
        report.over.append("legitimate refused")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
