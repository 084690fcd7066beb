"""Measurements inside the real Textual app, headless (`App.run_test`), for list_scale.py and
loop_lag.py. Imported only when `changeup_tui.tui.app` exists.

The app is built by the real factory (`build_app`) with a fake in-memory clipboard (nothing reaches
the machine's clipboard) and animations off; the headless driver lays out and composes every frame
but writes nothing to a terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import _common

from changeup_tui.core import hashing
from changeup_tui.core.config import Settings
from changeup_tui.core.models import Actor
from changeup_tui.tui.app import build_app
from changeup_tui.tui.clipboard import Copier
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.widgets.keys_table import KeysTable

SIZE = (120, 35)
POLL_S = 0.002
TIMEOUT_S = 60.0


class _Clipboard:
    text = ""

    def copy(self, text: str) -> None:
        self.text = text

    def paste(self) -> str:
        return self.text


def _app(path: Path):
    clipboard = _Clipboard()
    app = build_app(Settings(path), actor=Actor("bench", "local"),
                    copier=Copier(clipboard.copy, clipboard.paste, environ={}))
    app.animation_level = "none"
    return app


async def _until(predicate: Callable[[], object], what: str) -> None:
    deadline = _common.now() + TIMEOUT_S
    while not predicate():
        if _common.now() > deadline:
            raise TimeoutError(f"the app did not reach: {what}")
        await asyncio.sleep(POLL_S)


def _first_page_shown(app) -> bool:
    screen = app.screen
    if not isinstance(screen, ApiKeysScreen) or screen.total is None:
        return False
    return screen.query_one(KeysTable).row_count > 0


async def _open_once(path: Path) -> float:
    app = _app(path)
    t0 = _common.now()
    async with app.run_test(size=SIZE):
        await _until(lambda: isinstance(app.screen, ApiKeysScreen) or len(app.screen_stack) > 1,
                     "a screen")
        if not isinstance(app.screen, ApiKeysScreen):  # not opened there: walk to it
            await app.run_action("api_keys")
        await _until(lambda: _first_page_shown(app), "the keys table with its first page")
        elapsed = _common.now() - t0
    return elapsed


def open_times(paths: list[Path], runs: int) -> list[float]:
    """Per database, the median time from the start of run_test until the keys table shows its
    first page. One unmeasured run each first (the first-run account write, the OS cache); then
    the databases take turns, so a burst of machine noise hits both sizes alike."""
    for path in paths:
        asyncio.run(_open_once(path))
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for i, path in enumerate(paths):
            times[i].append(asyncio.run(_open_once(path)))
    return [_common.median(t) for t in times]


async def _lag_in_app(path: Path, count: int, ticker_class) -> tuple[float, float, int]:
    loop = asyncio.get_running_loop()
    windows: list[tuple[float, float]] = []
    hash_secret = hashing.hash_secret

    async def timed_hash(secret):  # notes when hashing runs; the hashing itself is unchanged
        start = loop.time()
        try:
            return await hash_secret(secret)
        finally:
            windows.append((start, loop.time()))

    hashing.hash_secret = timed_hash
    try:
        return await _drive_creates(path, count, ticker_class, windows)
    finally:
        hashing.hash_secret = hash_secret


async def _drive_creates(path: Path, count: int, ticker_class, windows) -> tuple[float, float, int]:
    app = _app(path)
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: _first_page_shown(app), "the keys table with its first page")
        await pilot.pause()
        ticker = ticker_class()
        ticker.start()
        for i in range(count):
            # The create flow by keyboard: n, the name, Enter (argon2 runs), the reveal modal,
            # copy the secret (s), Done (Escape), back on the list with the new key selected.
            await pilot.press("n")
            await _until(lambda: isinstance(app.screen, NameModal), "the name modal")
            await pilot.press(*f"lag {i}")
            await pilot.press("enter")
            await _until(lambda: isinstance(app.screen, RevealModal), "the reveal modal")
            client_id = app.screen.key.client_id
            await pilot.press("s")
            await pilot.pause(0.05)
            await pilot.press("escape")
            await _until(lambda: isinstance(app.screen, ApiKeysScreen), "the keys list")
            table = app.screen.query_one(KeysTable)
            await _until(lambda t=table, c=client_id: t.selected_key is not None
                         and t.selected_key.client_id == c, "the new key selected")
        await asyncio.sleep(0.02)
        await ticker.stop()
    assert len(windows) == count, "the create flow did not hash once per key"
    return ticker.worst_within(windows), ticker.worst, ticker.ticks


def loop_lag_in_app(path: Path, count: int, ticker_class) -> tuple[float, float, int]:
    """The app's longest event-loop stall while a key is hashed, the longest over the whole
    create flow (name modal, reveal modal, the list reloaded with the key selected), and the
    number of ticks, for `count` keys created by keyboard."""
    return asyncio.run(_lag_in_app(path, count, ticker_class))
