"""The cost of verify: `python bench/verify.py [--quick] [--runs N]`.

`KeyService.verify` through the real store (a file database, or with `--db URL` a PostgreSQL
database created for the run on that server; a key created by the service,
the real clock: the format and checksum check, the look-up of the key and its secrets, the status
and expiry checks, argon2 in a worker thread, `check_needs_rehash`, and the last-used update at most
once a minute) against a bare `argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4,
hash_len=32, salt_len=16).verify` of the same stored hash and secret, in this process, on this
machine. Runs are interleaved (A B, B A, ...) after a warm-up, so drift in the machine's load falls
on both sides; the figure is the ratio of the medians. Budget: 1.1x (DESIGN.md)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from pathlib import Path

import _common
from argon2 import PasswordHasher

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store

BUDGET = 1.10
FULL_RUNS, QUICK_RUNS = 60, 15
FULL_WARMUP, QUICK_WARMUP = 5, 2

bare_hasher = PasswordHasher(
    time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16
)


async def measure(db: Path | str, runs: int, warmup: int, report: _common.Report) -> tuple[list, list]:
    store = make_store(db)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("bench", "local"))
        created = await service.create("bench verify", Environment.LIVE)
        client_id, secret = created.key.client_id, created.secret.reveal()
        phc = (await store.get_key(client_id)).secrets[0].phc
        report.line(f"stored hash parameters: {phc.split('$')[3]}")

        async def through_service() -> float:
            start = _common.now()
            result = await service.verify(client_id, secret)
            elapsed = _common.now() - start
            if not result:
                raise RuntimeError(f"verify refused the key it just created: {result.reason}")
            return elapsed

        async def bare() -> float:
            start = _common.now()
            bare_hasher.verify(phc, secret)
            return _common.now() - start

        for _ in range(warmup):
            await through_service()
            await bare()
        service_times: list[float] = []
        bare_times: list[float] = []
        for i in range(runs):
            order = (through_service, bare) if i % 2 == 0 else (bare, through_service)
            for run in order:
                (service_times if run is through_service else bare_times).append(await run())
        return service_times, bare_times
    finally:
        await store.close()


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return (f"median {_common.ms(statistics.median(values))}  p10 {_common.ms(q[0])}  "
            f"p90 {_common.ms(q[-1])}  min {_common.ms(min(values))}")


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="measured runs of each (after the warm-up)")
    p.add_argument("--db", metavar="URL", help="measure on PostgreSQL: " + _common.PG_DB_HELP)
    args = p.parse_args()
    runs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    warmup = QUICK_WARMUP if args.quick else FULL_WARMUP
    report = _common.Report("verify", args.quick)
    report.header(f"KeyService.verify vs bare argon2 verify, {runs} interleaved runs each "
                  f"after {warmup} warm-up")
    with contextlib.ExitStack() as stack:
        if args.db:
            target = stack.enter_context(_common.temp_database(args.db, "verify"))
        else:
            target = stack.enter_context(_common.workdir("verify")) / "changeup.db"
        service_times, bare_times = asyncio.run(measure(target, runs, warmup, report))
    service_median = _common.median(service_times)
    bare_median = _common.median(bare_times)
    store = "PostgreSQL" if args.db else "SQLite"
    report.line(f"KeyService.verify ({store})  {spread(service_times)}")
    report.line(f"bare PasswordHasher.verify  {spread(bare_times)}")
    report.line(f"overhead {_common.ms(service_median - bare_median)} per verify")
    report.budget("verify/bare", service_median / bare_median, BUDGET, f"{BUDGET:.2f}x")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
