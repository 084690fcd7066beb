"""The cost of verify: `python bench/verify.py [--quick] [--runs N]`.

Three figures, in this process, on this machine, through the real store (a file database, or
with `--db URL` a PostgreSQL database created for the run on that server; keys created by the
service, the real clock):

1. Cached: `Verifier.verify` for keys already in its cache (the same secrets presented again),
   awaited one after another on one core (the process is pinned to one CPU). Budget: at least
   100,000 a second, i.e. at most 10 µs each (DESIGN.md).
2. Cold: `Verifier(max_keys=0).verify` (no cache: the look-up by Client ID, argon2 in the
   verifier's pool, the state read again, "last used" at most once a minute), one check at a time.
   Budget: 15 ms (issue 10), as CPU time (every thread of the process: what a check costs, which
   other jobs on a shared machine do not change) and as wall-clock time (which they do), and at
   most 1.1x a bare `argon2.PasswordHasher.verify` of the same stored hash with the same
   parameters (DESIGN.md). Runs interleaved (A B, B A, ...) after a
   warm-up, so drift in the machine's load falls on both sides; the figures are medians.
   The bare verify runs in the verifier's own argon2 thread and is timed there (the hash call
   alone): the same thread and memory as the cold check's argon2 (argon2's own speed differs
   between the threads of one process by up to a few percent, either way: the memory each gets),
   and the event loop never runs argon2 itself, as in a service (a bare verify on the loop's
   thread, the reference until 2026-11-29, left its caches cold for the cold check after it:
   about 0.3 ms more for that check's look-up alone). The cold check is measured as before, end
   to end: what a service waits for. The old reference is still printed, for the record.
3. For the record: a bare verify with the parameters used before issue 10 (t=3, m=64 MiB,
   p=4), against which the cold check is compared.

Then, for the record, what a cold check costs besides argon2: each part alone (the look-up, the
state read after argon2, the hand-over to the pool thread), back to back and each right after an
argon2 check in the pool (in a cold check the event loop and the database thread sleep while
argon2 runs, and then run with cold caches: the parts cost two to five times their back-to-back
figure); the cold check's CPU by thread (event loop, database thread, argon2 thread); and the
load average.

And the floor: the cold check's shape with nothing in it, nothing of changeup-tui's but the
pool: a call that does nothing in another thread, argon2 in the verifier's pool (timed inside,
as the bare verify), a call that does nothing in the other thread again; end to end against its
own argon2, interleaved with cold checks. Three hand-overs between threads, each after the loop
slept through argon2, are what a check that reads the key, runs argon2 and reads the state again
cannot avoid; on a machine where the floor alone is near 1.1x, the budget leaves nothing for the
reads themselves. On PostgreSQL (`--db`) the two reads are round trips to the server, so its floor
is a query that does nothing (`SELECT 1`, on a connection of its own) before and after argon2."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common
from argon2 import PasswordHasher, Type

from changeup_tui.core import hashing
from changeup_tui.core.models import Actor, CreatedKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.core.verifier import Verifier

CACHED_BUDGET_S = 10e-6
COLD_BUDGET_S = 0.015
RATIO_BUDGET = 1.10
FULL_RUNS, QUICK_RUNS = 60, 15
FULL_WARMUP, QUICK_WARMUP = 5, 2
FULL_CACHED, QUICK_CACHED = 300_000, 30_000
KEYS = 100

bare_hasher = PasswordHasher(
    time_cost=hashing.TIME_COST, memory_cost=hashing.MEMORY_COST_KIB,
    parallelism=hashing.PARALLELISM, hash_len=hashing.HASH_LEN, salt_len=hashing.SALT_LEN,
    type=Type.ID,
)
old_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32,
                            salt_len=16, type=Type.ID)


async def stored_hash(db: Path | str, client_id: str) -> str:
    store = make_store(db, create=False)
    await store.open()
    try:
        record = await store.get_key(client_id)
        assert record is not None
        return record.secrets[0].phc
    finally:
        await store.close()


@contextlib.contextmanager
def one_cpu(report: _common.Report):
    """The cached figure is per core: the process runs on one CPU while it is measured."""
    try:
        before = os.sched_getaffinity(0)
        cpu = min(before)
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        report.line("cached: not pinned (no sched_setaffinity here)")
        yield
        return
    report.line(f"cached: measured pinned to CPU {cpu}")
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


async def make_keys(db: Path | str, n: int) -> list[CreatedKey]:
    store = make_store(db)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("bench", "local"))
        return [await service.create(f"bench verify {i}", Environment.LIVE) for i in range(n)]
    finally:
        await store.close()


async def cached(db: Path | str, keys: list[CreatedKey], calls: int) -> tuple[float, int]:
    pairs = [(k.key.client_id, k.secret.reveal()) for k in keys]
    async with Verifier(db, environment="live") as verifier:
        for client_id, secret in pairs:  # into the cache
            if not (await verifier.verify(client_id, secret)).ok:
                raise RuntimeError("a created key did not verify")
        n = len(pairs)
        best = float("inf")
        for _ in range(3):  # the best of three rounds: the least disturbed by other processes
            start = _common.now()
            for i in range(calls):
                client_id, secret = pairs[i % n]
                result = await verifier.verify(client_id, secret)
            best = min(best, (_common.now() - start) / calls)
            if not result.ok:
                raise RuntimeError(f"cached verify refused: {result.reason}")
        return best, len(verifier.cache)


def thread_cpu() -> dict[str, float]:
    """CPU time so far of each thread of the process, by role: the event loop (this thread),
    the verifier's argon2 pool, and the rest (aiosqlite's connection thread; none on
    PostgreSQL, whose server does that work in a process of its own, not counted here)."""
    roles = {"event loop": 0.0, "database thread": 0.0, "argon2 thread": 0.0}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            used = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):  # the thread just ended
            continue
        if thread is threading.current_thread():
            roles["event loop"] += used
        elif thread.name.startswith("changeup-argon2"):
            roles["argon2 thread"] += used
        else:
            roles["database thread"] += used
    return roles


def timed_bare(phc: str, secret: str) -> tuple[float, float]:
    """A bare verify timed inside the thread that runs it (wall clock, that thread's CPU)."""
    cpu, start = time.thread_time(), _common.now()
    bare_hasher.verify(phc, secret)
    return _common.now() - start, time.thread_time() - cpu


async def cold(db: Path | str, key: CreatedKey, runs: int, warmup: int,
               niceness: int | None) -> tuple[list, list, list, list, str, dict, tuple]:
    """Cold checks against the bare verify in the verifier's argon2 thread (the verdict), then
    against a bare verify on the event loop's thread (the old reference, for the record)."""
    client_id, secret = key.key.client_id, key.secret.reveal()
    phc = await stored_hash(db, client_id)
    options = {} if niceness is None else {"argon2_niceness": niceness}
    async with Verifier(db, environment="live", max_keys=0, **options) as verifier:
        split: dict[str, list[float]] = {}

        async def through_verifier() -> tuple[float, float]:
            before = thread_cpu()  # outside the timed part
            cpu, start = time.process_time(), _common.now()  # CPU: every thread of the process
            result = await verifier.verify(client_id, secret)
            elapsed, used = _common.now() - start, time.process_time() - cpu
            for role, total in thread_cpu().items():
                split.setdefault(role, []).append(total - before.get(role, 0.0))
            if not result:
                raise RuntimeError(f"verify refused the key it just created: {result.reason}")
            return elapsed, used

        async def bare() -> tuple[float, float]:
            # In the verifier's own argon2 thread (the one thread a check at a time uses), timed
            # there: the same thread and memory as the cold check's argon2, no hand-over
            # counted, and the event loop never runs argon2 itself, as in a service.
            return await verifier.pool.run(timed_bare, phc, secret)

        async def bare_in_loop() -> tuple[float, float]:
            cpu, start = time.process_time(), _common.now()
            bare_hasher.verify(phc, secret)
            return _common.now() - start, time.process_time() - cpu

        async def interleaved(
            reference: Callable[[], Awaitable[tuple[float, float]]], n: int,
        ) -> tuple[dict[bool, list[float]], dict[bool, list[float]]]:
            wall: dict[bool, list[float]] = {True: [], False: []}
            cpu: dict[bool, list[float]] = {True: [], False: []}
            for i in range(n):
                order = (through_verifier, reference) if i % 2 == 0 else (reference, through_verifier)
                for run in order:
                    elapsed, used = await run()
                    wall[run is through_verifier].append(elapsed)
                    cpu[run is through_verifier].append(used)
            return wall, cpu

        for _ in range(warmup):
            await through_verifier()
            await bare()
        split.clear()
        wall, cpu = await interleaved(bare, runs)
        roles = {role: statistics.median(values) for role, values in split.items()}
        # For the record, not the verdict: the reference as measured before 2026-11-29, a bare
        # verify on the event loop's own thread. Its argon2 runs in other memory (its speed
        # differs from the pool thread's by a few percent, either way), and it leaves the event
        # loop's caches cold for the cold check that follows it (half of them).
        for _ in range(warmup):
            await bare_in_loop()
        _, loop_cpu = await interleaved(bare_in_loop, max(10, runs // 2))
        old_reference = (statistics.median(loop_cpu[True]), statistics.median(loop_cpu[False]))
        floor_runs = await floor(verifier, through_verifier, phc, secret, max(20, runs // 2), db)
    return (wall[True], wall[False], cpu[True], cpu[False], phc.split("$")[3], roles,
            old_reference, floor_runs)


async def floor(verifier: Verifier, cold_check: Callable[[], Awaitable[tuple[float, float]]],
                phc: str, secret: str, runs: int, db: Path | str) -> tuple[list[float], list[float]]:
    """The cold check's shape with nothing in it (see the module's docstring), alternating with
    cold checks: each run's wall clock end to end and its argon2's, timed inside its thread."""
    loop = asyncio.get_running_loop()
    totals: list[float] = []
    inner: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        if isinstance(db, str):  # PostgreSQL: a round trip to the server that does nothing
            import asyncpg

            server = await asyncpg.connect(db)
            stack.push_async_callback(server.close)

            async def nothing() -> object:
                return await server.fetchval("SELECT 1")
        else:  # SQLite: a call that does nothing in another thread (the database's, in a check)
            other = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="bench-other"))

            async def nothing() -> object:
                return await loop.run_in_executor(other, int)
        for _ in range(runs):
            await cold_check()
            start = _common.now()
            await nothing()
            argon2_wall, _ = await verifier.pool.run(timed_bare, phc, secret)
            await nothing()
            totals.append(_common.now() - start)
            inner.append(argon2_wall)
    return totals, inner


async def parts(db: Path | str, key: CreatedKey, runs: int,
                after_argon2: bool) -> dict[str, tuple[float, float]]:
    """What a cold check costs besides argon2, each part alone: the look-up (store.get_key), the
    state read after argon2 (store.get_key_state), and the hand-over of a call to the
    verifier's pool thread and back. Median wall clock and median CPU time of `runs` each.

    `after_argon2`: each measured call comes right after an argon2 check in the pool, during
    which the event loop and the database thread sleep, as in a cold check. Back to back, the
    threads never sleep and their caches stay warm: the parts then cost about a third to a
    half of what they cost in a cold check."""
    client_id, secret = key.key.client_id, key.secret.reveal()
    phc = await stored_hash(db, client_id)
    store = make_store(db, create=False)
    await store.open()
    try:
        async with Verifier(db, environment="live", max_keys=0) as verifier:
            steps = {
                "look-up (get_key)": lambda: store.get_key(client_id),
                "state read (get_key_state)": lambda: store.get_key_state(client_id),
                "pool hand-over (an empty call)": lambda: verifier.pool.run(int),
            }
            figures = {}
            for label, step in steps.items():
                for _ in range(20):
                    await step()
                walls, cpus = [], []
                for _ in range(runs):
                    if after_argon2:
                        await verifier.pool.run(bare_hasher.verify, phc, secret)
                    cpu, start = time.process_time(), _common.now()
                    await step()
                    walls.append(_common.now() - start)
                    cpus.append(time.process_time() - cpu)
                figures[label] = (statistics.median(walls), statistics.median(cpus))
            return figures
    finally:
        await store.close()


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return (f"median {_common.ms(statistics.median(values))}  p10 {_common.ms(q[0])}  "
            f"p90 {_common.ms(q[-1])}  min {_common.ms(min(values))}")


def old_parameters(runs: int) -> list[float]:
    secret = "cu_live_sk_" + "x" * 49
    phc = old_hasher.hash(secret)
    times = []
    for _ in range(runs):
        start = _common.now()
        old_hasher.verify(phc, secret)
        times.append(_common.now() - start)
    return times


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="measured cold runs of each (after the warm-up)")
    p.add_argument("--niceness", type=int,
                   help="the verifier pool's nice value (default: the Verifier's, +10)")
    p.add_argument("--db", metavar="URL", help="measure on PostgreSQL: " + _common.PG_DB_HELP)
    args = p.parse_args()
    runs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    warmup = QUICK_WARMUP if args.quick else FULL_WARMUP
    calls = QUICK_CACHED if args.quick else FULL_CACHED
    report = _common.Report("verify", args.quick)
    report.header(f"Verifier.verify cached ({calls} calls over {KEYS} keys) and cold "
                  f"({runs} interleaved runs against bare argon2, after {warmup} warm-up)")
    with contextlib.ExitStack() as stack:
        db: Path | str
        if args.db:
            db = stack.enter_context(_common.temp_database(args.db, "verify"))
        else:
            db = stack.enter_context(_common.workdir("verify")) / "changeup.db"
        report.line(f"store: {'PostgreSQL' if args.db else 'SQLite'}; load average "
                    f"{os.getloadavg()[0]:.2f} at the start")
        keys = asyncio.run(make_keys(db, KEYS))
        with one_cpu(report):
            per_call, cached_keys = asyncio.run(cached(db, keys, calls))
        (verifier_times, bare_times, verifier_cpu, bare_cpu, params, roles, old_reference,
         (floor_times, floor_argon2)) = asyncio.run(cold(db, keys[0], runs, warmup, args.niceness))
        load_after = os.getloadavg()[0]
        costs = asyncio.run(parts(db, keys[0], 50 if args.quick else 300, False))
        costs_cold = asyncio.run(parts(db, keys[0], 20 if args.quick else 100, True))
    old_times = old_parameters(max(5, runs // 4))
    report.line(f"stored hash parameters: {params}")
    report.line(f"cached: {per_call * 1e6:.2f} µs a verify, {1 / per_call:,.0f} a second on one "
                f"core ({cached_keys} keys in the cache)")
    cold_median = _common.median(verifier_times)
    bare_median = _common.median(bare_times)
    report.line(f"cold Verifier.verify        {spread(verifier_times)}")
    report.line(f"bare PasswordHasher.verify  {spread(bare_times)}  (in the argon2 thread)")
    report.line(f"overhead {_common.ms(cold_median - bare_median)} per cold verify (load average "
                f"{load_after:.2f} at the end of the cold runs)")
    floor_ratio = _common.median(floor_times) / _common.median(floor_argon2)
    nothing = "round trips to the server" if args.db else "hand-overs between threads"
    report.line(f"the floor (the same three steps with nothing in them: {nothing} "
                f"around argon2): {_common.ms(_common.median(floor_times))} against its argon2's "
                f"{_common.ms(_common.median(floor_argon2))}, {floor_ratio:.2f}x; the cold check "
                f"is {cold_median / bare_median / floor_ratio:.2f}x the floor")
    report.line("its parts alone, back to back, median wall / CPU: " + "; ".join(
        f"{label} {wall * 1e6:.0f} / {cpu * 1e6:.0f} µs" for label, (wall, cpu) in costs.items()))
    report.line("the same, each right after an argon2 check in the pool (as in a cold check): "
                + "; ".join(f"{label} {wall * 1e6:.0f} / {cpu * 1e6:.0f} µs"
                            for label, (wall, cpu) in costs_cold.items()))
    report.line(f"CPU time (every thread of the process): cold Verifier.verify "
                f"{spread(verifier_cpu)}; bare (its thread) {spread(bare_cpu)}")
    report.line("the cold check's CPU by thread, medians: " + "; ".join(
        f"{role} {used * 1e6:.0f} µs" for role, used in roles.items())
        + (" (the server's own CPU is not counted)" if args.db else ""))
    report.line(f"for the record, against a bare verify on the event loop's thread instead (the "
                f"reference before 2026-11-29): cold {_common.ms(old_reference[0])} CPU, bare "
                f"{_common.ms(old_reference[1])}, {old_reference[0] / old_reference[1]:.2f}x")
    report.line(f"before issue 10 (t=3, m=64 MiB, p=4), bare verify: {spread(old_times)}; "
                f"the cold check now costs {cold_median / _common.median(old_times):.2f}x that, "
                f"a cached one {per_call / _common.median(old_times):.6f}x")
    report.budget("cached verify", per_call, CACHED_BUDGET_S, "10 µs (100,000/s)",
                  unit=lambda s: f"{s * 1e6:.2f} µs")
    report.budget("cold verify, CPU time", _common.median(verifier_cpu), COLD_BUDGET_S, "15 ms",
                  unit=_common.ms)
    report.budget("cold verify, wall clock", cold_median, COLD_BUDGET_S, "15 ms", unit=_common.ms)
    report.budget("cold/bare", cold_median / bare_median, RATIO_BUDGET, f"{RATIO_BUDGET:.2f}x")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
