"""On PostgreSQL an open API Key page shows another operator's change within a second, keeping
the selected key selected; a change made while a modal is open is shown when the page is back on
top. One mechanism, the same as on SQLite: the page polls the store's data_version, which the
PostgreSQL store moves on each change announced by LISTEN/NOTIFY."""

from __future__ import annotations

import time

import pytest

from changeup_tui.core.config import PostgresTarget
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.apps import build_test_app
from tests.helpers.pilot import SIZE, started, wait_for

pytestmark = pytest.mark.slow


def _rows(screen) -> list[str]:
    table = screen.table
    return [str(table.get_row_at(i)[table.get_column_index("name")]) for i in range(table.row_count)]


async def _moved(app, before: int) -> bool:
    return await app.service.data_version() != before


async def test_another_operators_changes_show_within_a_second(pg_url):
    from changeup_tui.tui.modals.name_modal import NameModal

    other_store = PostgresStore(pg_url)
    await other_store.open()
    other = KeyService(other_store, keygen=SeededKeyGenerator(77), actor=Actor("bob", "host-b"))
    try:
        await other.create("Alpha", Environment.TEST)
        beta = await other.create("Beta", Environment.TEST)
        app = build_test_app(PostgresTarget(pg_url))  # type: ignore[arg-type]
        async with app.run_test(size=SIZE) as pilot:
            screen = await started(pilot)
            await wait_for(pilot, lambda: len(_rows(screen)) == 2, what="the two keys")
            screen.table.select(beta.key.client_id)
            await pilot.pause()
            assert screen.selected_key.client_id == beta.key.client_id

            # another operator creates a key: shown within a second, Beta still selected
            started_at = time.monotonic()
            gamma = await other.create("Gamma", Environment.TEST)
            await wait_for(pilot, lambda: "Gamma" in _rows(screen), limit=1.5, what="Gamma")
            assert time.monotonic() - started_at < 1.5
            assert screen.selected_key.client_id == beta.key.client_id

            # ... disables the selected key: its status changes in place, still selected
            await other.disable(beta.key.client_id)
            await wait_for(pilot, lambda: screen.selected_key.status.value == "disabled",
                           limit=1.5, what="Beta disabled")
            assert screen.selected_key.client_id == beta.key.client_id

            # a change heard while a modal is open is shown once the page is back on top
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal), what="name modal")
            before = await app.service.data_version()
            await other.rename(gamma.key.client_id, "Gamma renamed")
            # the app heard it (its store's data_version moved) while the modal is still open
            await wait_for(pilot, lambda: _moved(app, before), limit=1.5, what="the rename heard")
            assert isinstance(app.screen, NameModal)
            await pilot.press("escape")
            await wait_for(pilot, lambda: "Gamma renamed" in _rows(screen), limit=1.5,
                           what="the rename")
    finally:
        await other_store.close()
