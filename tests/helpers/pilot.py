"""Driving the app with Pilot without fixed pauses: wait until a condition holds (`wait_for`; or
`as_soon_as`, which does not let the app settle first), or until what an input started has
finished (`settle`, for checking that an input did nothing).
Plus the first page loaded (`started`), a command palette search (`search_palette`) and the
notifications on show (`notifications`)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from changeup_tui.tui.screens.api_keys import ApiKeysScreen

SIZE = (120, 35)
"""The terminal size of the Pilot tests and the snapshots."""

POLL_S = 0.02
"""How often `wait_for` looks at its condition while the app runs (a poll, not a pause: it
returns as soon as the condition holds)."""


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], limit: float = 10.0, what: str = ""
) -> None:
    """Let the app run until `predicate()` is true, then let the message queues drain; fail
    after `limit` seconds, naming `what` (or the predicate's docstring). `predicate` may
    return an awaitable (an `async def` or a lambda calling one): it is awaited each time, for
    a condition that needs a read (a store's data_version, a verifier's answer)."""
    deadline = time.monotonic() + limit
    while not await _holds(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate.__doc__ or predicate}")
        await pilot.pause(POLL_S)
    await pilot.pause()


async def _holds(predicate: Callable[[], object]) -> bool:
    value = predicate()
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


async def as_soon_as(predicate: Callable[[], object], limit: float = 10.0) -> None:
    """Return in the very loop turn `predicate()` holds, without letting the app settle (unlike
    wait_for): for a key pressed the instant something appears, during start-up. Fails after
    `limit` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():  # one loop turn at a time, on purpose
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await asyncio.sleep(0)


async def settle(pilot: Pilot[Any], action: Awaitable[object], limit: float = 10.0) -> None:
    """Run `action` (a press, a click, `app.run_action(...)`), then wait until every worker it
    started has finished and the message queues have drained. That is the moment an input
    that must do nothing has visibly done nothing: assert after it. Workers that were already
    running (a flow waiting on its modal) are not waited for."""
    app = pilot.app
    before = set(app.workers)
    await action
    await pilot.pause()  # messages the input posted may start workers: let them
    started = [worker for worker in app.workers if worker not in before]
    await wait_for(pilot, lambda: all(worker.is_finished for worker in started), limit,
                   what="the workers the input started")


async def started(pilot: Pilot[Any]) -> ApiKeysScreen:
    """Wait until the app shows the API Key page with its first page of keys loaded."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), what="the API Key page")
    screen = app.screen
    assert isinstance(screen, ApiKeysScreen)
    await wait_for(pilot, lambda: screen.total is not None, what="the first page of keys")
    return screen


async def search_palette(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the command palette (ctrl+p), type `query`, wait until its search has finished and
    return the titles it lists, best first. The palette stays open: Enter runs the first."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await settle(pilot, pilot.press(*query))
    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def notifications(app: App[Any]) -> list[str]:
    """The messages of the notifications the app shows now. Textual has no public way to read
    them (`App.notify` only adds), so this is the one place the tests read the private
    `App._notifications`; change it here if Textual moves it."""
    return [notification.message for notification in app._notifications]
