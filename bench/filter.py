"""Filter latency at 100,000 keys: `python bench/filter.py [--quick]`.

What the API Key table does on each keystroke of its filter: `service.list(env, search=term,
limit=50)` for the first page (the app's page, tui/screens/api_keys.py PAGE_SIZE; 100 before
2026-11-29), then `service.count(env, search=term)` for the "N keys" figure,
through the real store on a file database seeded by bench/seed.py (or, with `--db URL`, on a
PostgreSQL database created for the run on that server). Several terms (rare,
common, a Client ID prefix, no match, non-ASCII), each under the three sort orders, in the larger
environment (Test); the figure is the median of list + count per case, and the budget (100 ms) holds
for the worst case."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import _common
import seed as seeding

from changeup_tui.core.models import Actor, Environment, SortField
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.tui.screens.api_keys import PAGE_SIZE

BUDGET_S = 0.100
PAGE = PAGE_SIZE  # the app's page: what the table reads


async def measure(path: Path | str, terms: dict[str, str], runs: int, report: _common.Report) -> float:
    store = make_store(path)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("bench", "local"))
        env = Environment.TEST
        total_keys = await service.count(env)
        report.line(f"{total_keys} keys in {env.label}; {runs} runs per case; median ms")
        report.line(f"{'term':<28} {'sort':<10} {'list':>7} {'count':>7} {'total':>7} {'matches':>8}")
        worst = 0.0
        for label, term in terms.items():
            for sort in SortField:
                await service.list(env, search=term, sort=sort, limit=PAGE)  # warm the plan
                lists, counts, totals = [], [], []
                matches = 0
                for _ in range(runs):
                    t0 = _common.now()
                    await service.list(env, search=term, sort=sort, limit=PAGE)
                    t1 = _common.now()
                    matches = await service.count(env, search=term)
                    t2 = _common.now()
                    lists.append(t1 - t0)
                    counts.append(t2 - t1)
                    totals.append(t2 - t0)
                total = _common.median(totals)
                worst = max(worst, total)
                report.line(
                    f"{label:<28} {sort.value:<10} {_common.median(lists) * 1000:7.1f} "
                    f"{_common.median(counts) * 1000:7.1f} {total * 1000:7.1f} {matches:8d}"
                )
        return worst
    finally:
        await store.close()


def main() -> int:
    p = _common.parser("Filter latency (list first page + count) at 100,000 keys.")
    p.add_argument("--keys", type=int, help="number of keys (100000; --quick: 10000)")
    p.add_argument("--runs", type=int, help="runs per case (15; --quick: 5)")
    p.add_argument("--db", metavar="URL", help="measure on PostgreSQL: " + _common.PG_DB_HELP)
    args = p.parse_args()
    n = args.keys or (10_000 if args.quick else 100_000)
    runs = args.runs or (5 if args.quick else 15)
    report = _common.Report("filter", args.quick)
    store = f"PostgreSQL at {_common.shown(args.db)}" if args.db else "SQLite"
    report.header(f"list(limit={PAGE}) + count at {n:,} keys ({store})")
    with contextlib.ExitStack() as stack:
        if args.db:
            target = stack.enter_context(_common.temp_database(args.db, "filter"))
        else:
            target = stack.enter_context(_common.workdir("filter")) / "changeup.db"
        seeded = seeding.seed(target, n)
        report.line(f"seeded {n:,} keys in {seeded.seconds:.1f} s")
        terms = {
            f"rare ({seeding.RARE_TERM})": seeding.RARE_TERM,
            f"common ({seeding.COMMON_TERM})": seeding.COMMON_TERM,
            "client-id prefix (16 chars)": seeded.sample_client_id[:16],
            "no match": seeding.NO_MATCH_TERM,
            "non-ASCII (zürich)": "zürich",
            "one letter (k)": "k",
        }
        worst = asyncio.run(measure(seeded.path, terms, runs, report))
    report.budget("worst-case median", worst, BUDGET_S, f"{BUDGET_S * 1000:.0f} ms", unit=_common.ms)
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
