"""Keyboard walks the Pilot tests repeat (open the name modal, create a key and read its secret),
the keys table's cells, and test keys made before the app opens the database. The waits, the
fake clipboard and the app factory live in tests/helpers/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Static

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.widgets.keys_table import KeysTable
from tests.helpers.pilot import SIZE, started, wait_for

__all__ = [  # SIZE, started and wait_for too: tests/ui/test_startup.py imports them from here
    "SIZE", "cell", "keys_table", "open_name_modal", "open_reveal", "seed_keys", "started",
    "wait_for",
]



async def seed_keys(db_path: Path, *names: str) -> None:
    """Test keys in the database, made before the app opens it."""
    store = SQLiteStore(db_path)
    await store.open()
    service = KeyService(store, actor=Actor("tester", "local"))
    for name in names:
        await service.create(name, Environment.TEST)
    await store.close()


async def open_name_modal(pilot: Pilot[Any]) -> NameModal:
    """From the API Key page: n; wait for the name modal and return it."""
    app = pilot.app
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NameModal), what="the name modal")
    modal = app.screen
    assert isinstance(modal, NameModal)
    return modal


async def open_reveal(pilot: Pilot[Any], name: str) -> str:
    """From the API Key page: n, type the name, Enter; wait for the reveal modal and return the
    Secret Key it shows."""
    app = pilot.app
    await open_name_modal(pilot)
    assert isinstance(app.focused, Input)
    await pilot.press(*name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
    return str(app.screen.query_one("#reveal-secret", Static).content)


def keys_table(app: App[Any]) -> KeysTable:
    return app.screen.query_one(KeysTable)


def cell(app: App[Any], row: int, column: str) -> str:
    """The text of one cell of the keys table, by its column key ("status", "last_used")."""
    table = keys_table(app)
    return str(table.get_row_at(row)[table.get_column_index(column)])
