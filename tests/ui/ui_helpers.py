"""Helpers shared by the Pilot tests: a fake clipboard, waiting on a condition, and the keyboard
walks the tests repeat."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.widgets import Input, Static

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.widgets.keys_table import KeysTable

SIZE = (120, 35)


class FakeClipboard:
    """Stands in for pyperclip's copy/paste. `broken` makes copy raise; `lossy` makes paste
    return something else (a clipboard that did not take the text)."""

    def __init__(self, *, broken: bool = False, lossy: bool = False) -> None:
        self.text = ""
        self.copies: list[str] = []
        self.broken = broken
        self.lossy = lossy

    def copy(self, text: str) -> None:
        if self.broken:
            raise RuntimeError("no clipboard here")
        self.copies.append(text)
        self.text = text

    def paste(self) -> str:
        return "" if self.lossy else self.text


async def wait_for(pilot, predicate: Callable[[], object], limit: float = 10.0) -> None:
    """Let the app run until `predicate()` is true; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(0.02)
    await pilot.pause()


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


async def started(pilot) -> ApiKeysScreen:
    """Wait until the app shows the API Key page with its first page loaded."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.total is not None)
    return screen


async def seed_keys(db_path, *names: str) -> None:
    """Test keys in the database, made before the app opens it."""
    store = SQLiteStore(db_path)
    await store.open()
    service = KeyService(store, actor=Actor("tester", "local"))
    for name in names:
        await service.create(name, Environment.TEST)
    await store.close()


async def open_name_modal(pilot) -> NameModal:
    """From the API Key page: n; wait for the name modal and return it."""
    app = pilot.app
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NameModal))
    return app.screen


async def open_reveal(pilot, name: str) -> str:
    """From the API Key page: n, type the name, Enter; wait for the reveal modal and return the
    Secret Key it shows."""
    app = pilot.app
    await open_name_modal(pilot)
    assert isinstance(app.focused, Input)
    await pilot.press(*name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
    return str(app.screen.query_one("#reveal-secret", Static).content)


def keys_table(app) -> KeysTable:
    return app.screen.query_one(KeysTable)


def cell(app, row: int, column: str) -> str:
    """The text of one cell of the keys table, by its column key ("status", "last_used")."""
    table = keys_table(app)
    return str(table.get_row_at(row)[table.get_column_index(column)])
