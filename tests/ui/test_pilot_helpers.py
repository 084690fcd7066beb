"""The shared Pilot waits do what the tests rely on, in a bare Textual app: `wait_for` fails
after its limit and names what it waited for; `settle` returns only once the workers an input
started have finished, and does not wait for workers that were running before."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest
from textual import work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widgets import Label

from tests.helpers.clipboard import FakeClipboard
from tests.helpers.pilot import as_soon_as, settle, wait_for


class Host(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [("w", "slow_work", "Slow work"), ("x", "nothing", "Nothing")]

    def __init__(self) -> None:
        super().__init__()
        self.done = 0
        self.release = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Label("host")

    def action_slow_work(self) -> None:
        self._slow()

    def action_nothing(self) -> None:
        pass

    @work(group="slow")
    async def _slow(self) -> None:
        await asyncio.sleep(0.3)
        self.done += 1

    @work(group="held")
    async def hold(self) -> None:
        await self.release.wait()


async def test_wait_for_fails_after_its_limit_naming_what_it_waited_for() -> None:
    app = Host()
    async with app.run_test() as pilot:
        began = time.monotonic()
        with pytest.raises(AssertionError, match="the impossible"):
            await wait_for(pilot, lambda: False, limit=0.2, what="the impossible")
        assert time.monotonic() - began >= 0.2


async def test_wait_for_returns_once_the_condition_holds() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.call_later(lambda: setattr(app, "done", 5))
        await wait_for(pilot, lambda: app.done == 5, limit=5)
        assert app.done == 5


async def test_settle_waits_for_the_workers_the_input_started() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.press("w")
        assert app.done == 0  # a press alone does not wait for the worker it started
        await settle(pilot, pilot.press("w"))
        assert app.done == 2  # both: the first ended while settle waited for the second


async def test_settle_does_not_wait_for_a_worker_already_running() -> None:
    app = Host()
    async with app.run_test() as pilot:
        held = app.hold()
        await settle(pilot, pilot.press("x"), limit=5)
        assert held.is_running  # still held: settle returned without it
        app.release.set()
        await app.workers.wait_for_complete()
        assert held.is_finished


def test_fake_clipboard_copies_breaks_and_loses_on_request() -> None:
    local = FakeClipboard()
    local.copy("a")
    local.copy("b")
    assert (local.text, local.copies, local.paste()) == ("b", ["a", "b"], "b")
    with pytest.raises(RuntimeError):
        FakeClipboard(broken=True).copy("a")
    lossy = FakeClipboard(lossy=True)
    lossy.copy("a")
    assert lossy.paste() == ""


async def test_as_soon_as_returns_in_the_turn_the_condition_holds_and_fails_after_its_limit():
    app = Host()
    async with app.run_test() as pilot:
        app.call_later(lambda: setattr(app, "done", 1))
        await as_soon_as(lambda: app.done == 1)
        assert app.done == 1
        with pytest.raises(AssertionError, match="timed out"):
            await as_soon_as(lambda: False, limit=0.1)
        await pilot.pause()
