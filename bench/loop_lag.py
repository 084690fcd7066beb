"""The longest event-loop stall while keys are created: `python bench/loop_lag.py [--quick]`.

A ticker coroutine sleeps 5 ms again and again and records how late each wake-up is; meanwhile
keys are created one after another through KeyService (argon2id with the pinned parameters, in a
worker thread; the row and its audit event committed by the real SQLiteStore on a file database,
synchronous=FULL). The figure is the longest overshoot: the longest time the loop could not
run anything else, such as drawing a frame or reading a key press. Budget: 50 ms.

The same ticker runs first with nothing else to do, to show the machine's own noise.

When the TUI exists (`changeup_tui.tui.app.build_app`), the same ticker also runs inside the
app, headless (`App.run_test`), while keys are created by keyboard through its own create flow
(n, the name, Enter, the reveal modal, s, Escape, the list reloaded with the key selected). The
budget applies to the stalls while a key is hashed (from the start to the end of each
`hashing.hash_secret` call, which the bench wraps to note the times); the longest stall over the
whole flow is printed too, for information: it is the UI's own work (screens, CSS, layout)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import _common

from changeup_tui.core.credentials import SecureKeyGenerator
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore

BUDGET_S = 0.050
TICK_S = 0.005


class Ticker:
    """Sleeps TICK_S in a loop and keeps the worst lateness, and every stall over 1 ms as an
    interval (due, woke) of loop time, so stalls can be matched against the hashing windows."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self.stalls: list[tuple[float, float]] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
            woke = loop.time()
            late = woke - due
            self.worst = max(self.worst, late)
            if late > 0.001:
                self.stalls.append((due, woke))
            self.ticks += 1

    def worst_within(self, windows: list[tuple[float, float]]) -> float:
        """The longest part of a stall that falls inside one of the windows."""
        worst = 0.0
        for due, woke in self.stalls:
            for start, end in windows:
                worst = max(worst, min(woke, end) - max(due, start))
        return worst

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


async def idle(seconds: float) -> float:
    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(seconds)
    await ticker.stop()
    return ticker.worst


async def create_keys(path: Path, count: int) -> tuple[float, float, int]:
    store = SQLiteStore(path)
    await store.open()
    try:
        service = KeyService(store, keygen=SecureKeyGenerator(), actor=Actor("bench", "local"))
        await service.account()  # the first-run write, outside the measurement
        ticker = Ticker()
        ticker.start()
        t0 = _common.now()
        for i in range(count):
            env = Environment.LIVE if i % 2 else Environment.TEST
            created = await service.create(f"loop lag {i}", env)
            del created  # the Secret is dropped at once
        elapsed = _common.now() - t0
        await asyncio.sleep(2 * TICK_S)
        await ticker.stop()
        return ticker.worst, elapsed, ticker.ticks
    finally:
        await store.close()


def main() -> int:
    p = _common.parser("Longest event-loop stall while keys are created (argon2 in a thread).")
    p.add_argument("--keys", type=int, help="keys to create (10; --quick: 3)")
    p.add_argument("--no-app", action="store_true", help="skip the measurement inside the app")
    args = p.parse_args()
    count = args.keys or (3 if args.quick else 10)
    report = _common.Report("loop_lag", args.quick)
    report.header(f"5 ms ticker while {count} keys are created")
    noise = asyncio.run(idle(1.0 if args.quick else 2.0))
    report.line(f"idle loop (machine noise): longest stall {_common.ms(noise)}")
    with _common.workdir("lag") as folder:
        worst, elapsed, ticks = asyncio.run(create_keys(folder / "changeup.db", count))
        report.line(f"service: {count} keys in {elapsed:.2f} s ({elapsed / count * 1000:.0f} ms "
                    f"each), {ticks} ticks, longest stall {_common.ms(worst)}")
        app_worst = None
        if args.no_app:
            report.line("app: skipped (--no-app)")
        elif not _common.tui_available():
            report.line("app: not measured: changeup_tui.tui.app does not exist yet")
        else:
            import _tui
            import seed as seeding

            seeding.seed(folder / "app.db", 200 if args.quick else 1_000)
            app_worst, app_flow, app_ticks = _tui.loop_lag_in_app(
                folder / "app.db", count, Ticker
            )
            report.line(f"app: {count} keys created by keyboard inside the running app "
                        f"(headless), {app_ticks} ticks; longest stall while hashing "
                        f"{_common.ms(app_worst)}; longest stall over the whole create flow "
                        f"(modals opening and closing, the list reloading) {_common.ms(app_flow)}")
    report.budget("service longest stall", worst, BUDGET_S, f"{BUDGET_S * 1000:.0f} ms",
                  unit=_common.ms)
    if app_worst is not None:
        report.budget("app longest stall while hashing", app_worst, BUDGET_S, f"{BUDGET_S * 1000:.0f} ms",
                      unit=_common.ms)
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
