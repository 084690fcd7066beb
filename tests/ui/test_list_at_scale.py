"""home/end at 100,000 keys: `end` reads the last page alone (a keyset query read backwards), not
every page before it (152 s at 60,000 keys before), and the list keeps a window of pages:
the rows above the window load as the cursor nears its top, and `home` reads the first page
again. The database is seeded once for the module by bench/seed.py (the benchmarks' data)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from changeup_tui.core.models import Environment, KeyQuery, SortField
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.screens import api_keys
from tests.helpers.apps import build_test_app
from tests.helpers.pilot import SIZE, started, wait_for

from .ui_helpers import keys_table

pytestmark = pytest.mark.slow

KEYS = 100_000
BENCH = Path(__file__).resolve().parents[2] / "bench"
EDGE_SECONDS = 5.0
"""How long `home` or `end` may take here, on a loaded machine: one page read and one frame."""


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "keys.db"
    # seed.seed() itself, not the script: the script also judges its own speed (exit 1 when over)
    code = f"import sys; sys.path.insert(0, {str(BENCH)!r}); import seed; seed.seed({str(path)!r}, {KEYS})"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    return path


def ordered_test_keys(db: Path) -> list[str]:
    """The default view (Test keys, revoked hidden, newest first), read by plain SQL."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT client_id FROM api_keys WHERE environment = 'test' AND status != 'revoked' "
            "ORDER BY created_at DESC, id DESC"
        ).fetchall()
    return [client_id for (client_id,) in rows]


def selected(app) -> str | None:
    key = keys_table(app).selected_key
    return key.client_id if key is not None else None


async def test_end_and_home_reach_the_last_and_first_of_100k_keys_at_once(big_db):
    expected = ordered_test_keys(big_db)
    assert len(expected) > 50_000
    app = build_test_app(big_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        table.focus()
        assert selected(app) == expected[0]

        began = time.monotonic()
        await pilot.press("end")
        await wait_for(pilot, lambda: selected(app) == expected[-1], limit=EDGE_SECONDS,
                       what="the last key selected")
        assert time.monotonic() - began < EDGE_SECONDS
        assert table.row_count == api_keys.PAGE_SIZE  # the last page alone: a window
        window = [table.selected_key.client_id]

        # Up from the end: the window grows upwards, the cursor on the key before the last.
        await pilot.press("up")
        await wait_for(pilot, lambda: selected(app) == expected[-2], what="the key before")
        table.move_cursor(row=0)
        await wait_for(pilot, lambda: table.row_count == 2 * api_keys.PAGE_SIZE,
                       what="the page before the window")
        await wait_for(pilot, lambda: not table.loading_page)
        first_shown = expected.index(table.get_row_at(0)[2].plain)
        assert first_shown == len(expected) - 2 * api_keys.PAGE_SIZE
        shown = [table.get_row_at(i)[2].plain for i in range(table.row_count)]
        assert shown == expected[first_shown:]  # in order, none lost or repeated
        assert selected(app) == expected[-api_keys.PAGE_SIZE]  # the cursor kept its key
        assert table.cursor_row == api_keys.PAGE_SIZE
        # ... and the view its place: the rows added above are above it
        await wait_for(pilot, lambda: table.scroll_y == api_keys.PAGE_SIZE,
                       what="the view kept on the same rows")
        assert window[0] in shown

        began = time.monotonic()
        await pilot.press("home")
        await wait_for(pilot, lambda: selected(app) == expected[0], limit=EDGE_SECONDS,
                       what="the first key selected")
        assert time.monotonic() - began < EDGE_SECONDS
        assert table.row_count <= 2 * api_keys.PAGE_SIZE


@pytest.mark.parametrize("sort", list(SortField))
async def test_the_last_page_of_100k_keys_is_one_quick_query(big_db, sort):
    """Read backwards on the sort's index: no slower at the end than the first page is."""
    store = SQLiteStore(big_db)
    await store.open()
    try:
        query = KeyQuery(Environment.TEST, sort=sort, include_revoked=False, limit=100)
        began = time.perf_counter()
        last = await store.list_keys_before(query, None)
        took = time.perf_counter() - began
        before = await store.list_keys_before(query, last.next_cursor)
    finally:
        await store.close()
    assert len(last.keys) == len(before.keys) == 100
    assert took < 0.5, f"the last page took {took:.3f} s"
