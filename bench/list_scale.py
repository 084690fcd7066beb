"""Opening the API Key table at 100 against 100,000 keys: `python bench/list_scale.py [--quick]`.

Two levels, the app's when it can be measured:

- app: the real Textual app (`changeup_tui.tui.app.build_app`), headless through `App.run_test`,
  on a database seeded by bench/seed.py. The time from the start of `run_test` until the API Key
  table shows its first page (a DataTable with rows in it), after walking to the API Key section if
  the app does not open there. Several runs at each size, medians.
- service: what the table asks for when it opens: open the store (a new connection), the first page
  (`service.list(env, limit=50)`, the page the app reads) and the "N keys" count
  (`service.count(env)`). Always measured: it is the part of opening that could grow with the
  number of keys.

With `--db URL`, both sizes are seeded into PostgreSQL databases created for the run on that
server (and dropped after).

Budget: 100,000 keys within 1.5x of 100 keys, for the app figure when there is one (else the
service figure). The figures are ratios of medians in one run, as DESIGN.md asks."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import _common
import seed as seeding

from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import as_target, make_store
from changeup_tui.tui.screens.api_keys import PAGE_SIZE

BUDGET_RATIO = 1.5
PAGE = PAGE_SIZE  # the app's page: what the table reads


async def service_open(path: Path | str, runs: int) -> float:
    times = []
    for _ in range(runs + 1):
        t0 = _common.now()
        store = make_store(path)
        await store.open()
        service = KeyService(store, actor=Actor("bench", "local"))
        env = await service.environment()
        page = await service.list(env, limit=PAGE)
        await service.count(env)
        elapsed = _common.now() - t0
        await store.close()
        assert page.keys, "the first page is empty"
        times.append(elapsed)
    return _common.median(times[1:])  # the first run warms the OS cache


def main() -> int:
    p = _common.parser("API Key table open time at 100 vs 100,000 keys.")
    p.add_argument("--keys", type=int, help="the large size (100000; --quick: 10000)")
    p.add_argument("--runs", type=int, help="runs per size (service 15, app 7; --quick: 5, 2)")
    p.add_argument("--service-only", action="store_true", help="skip the app measurement")
    p.add_argument("--db", metavar="URL", help="measure on PostgreSQL: " + _common.PG_DB_HELP)
    args = p.parse_args()
    big = args.keys or (10_000 if args.quick else 100_000)
    small = 100
    report = _common.Report("list_scale", args.quick)
    store = f"PostgreSQL at {_common.shown(args.db)}" if args.db else "SQLite"
    report.header(f"opening the API Key table: {small} vs {big:,} keys ({store})")
    with contextlib.ExitStack() as stack:
        paths = {}
        folder = None if args.db else stack.enter_context(_common.workdir("list"))
        for n in (small, big):
            if args.db:
                target = stack.enter_context(_common.temp_database(args.db, f"list{n}"))
            else:
                target = folder / f"keys-{n}.db"
            paths[n] = seeding.seed(target, n).path
        runs = args.runs or (5 if args.quick else 15)
        svc = {n: asyncio.run(service_open(paths[n], runs)) for n in (small, big)}
        ratio_service = svc[big] / svc[small]
        report.line(f"service (open store + first page + count), median of {runs}: "
                    f"{small} keys {_common.ms(svc[small])}, {big:,} keys {_common.ms(svc[big])}, "
                    f"ratio {ratio_service:.2f}x")
        app_ratio = None
        if args.service_only:
            report.line("app: skipped (--service-only)")
        elif not _common.tui_available():
            report.line("app: not measured: changeup_tui.tui.app does not exist yet, so the "
                        "budget applies to the service figure")
        else:
            import _tui

            app_runs = args.runs or (2 if args.quick else 7)
            targets = [as_target(paths[small]), as_target(paths[big])]
            app = dict(zip((small, big), _tui.open_times(targets, app_runs),
                           strict=True))
            app_ratio = app[big] / app[small]
            report.line(f"app (run_test start until the table shows its first page), median of "
                        f"{app_runs}: {small} keys {_common.ms(app[small])}, {big:,} keys "
                        f"{_common.ms(app[big])}, ratio {app_ratio:.2f}x")
    if app_ratio is not None:
        report.budget(f"app {big}/{small}", app_ratio, BUDGET_RATIO, f"{BUDGET_RATIO}x")
        report.line(f"(service {big}/{small} ratio {ratio_service:.2f}x, for information)")
    else:
        report.budget(f"service {big}/{small}", ratio_service, BUDGET_RATIO, f"{BUDGET_RATIO}x")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
