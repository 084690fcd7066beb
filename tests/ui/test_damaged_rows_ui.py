"""The API Key page over damaged and hostile rows written by raw SQL: a damaged row shows as
"damaged" (the rest of the page works: its other rows, the selection, the detail of a good key);
the Client ID and Secret hint cells are made visible like the names; the Activity Log shows a
damaged event. No error notification, no crash."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.screens.activity_log import ActivityLogScreen
from changeup_tui.tui.widgets.audit_table import AuditTable
from tests.helpers.pilot import SIZE, notifications, started, wait_for

from .ui_helpers import keys_table

NOT_UTF8 = "CAST(X'ff1b5d303b70776e6564075f6e616d65' AS TEXT)"  # \xff, then OSC 0 (title)


async def seed(db_path, *names: str) -> dict[str, str]:
    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(store, keygen=SeededKeyGenerator(3), actor=Actor("t", "local"))
        return {n: (await service.create(n, Environment.TEST)).key.client_id for n in names}
    finally:
        await store.close()


def raw(db_path, sql: str, *params: object) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute(sql, params)


def row_of(table, client_id: str) -> list[str]:
    return [str(c) for c in table.get_row(client_id)]


@pytest.mark.parametrize(
    ("assignment", "shown"),
    [
        (f"name = {NOT_UTF8}", {"name": "\ufffd\\x1b]0;pwned\\x07_name"}),
        ("created_at = 'yesterday'", {"created": "—"}),
        ("status = 'bogus'", {}),
        ("expires_at = 'soon'", {}),
        ("last_used_at = 'often'", {"last_used": "—"}),
    ],
    ids=["name_not_utf8", "created_at", "status", "expires_at", "last_used_at"],
)
async def test_a_damaged_row_shows_as_damaged_and_the_page_works(
    make_app, db_path, assignment, shown
):
    ids = await seed(db_path, "alpha", "beta", "gamma")
    raw(db_path, f"UPDATE api_keys SET {assignment} WHERE client_id = ?", ids["beta"])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        assert table.row_count == 3
        columns = [key for _, key in table.COLUMNS]
        damaged = dict(zip(columns, row_of(table, ids["beta"]), strict=True))
        assert damaged["status"] == "damaged", damaged
        assert damaged["client_id"] == ids["beta"]
        for column, text in shown.items():
            assert damaged[column] == text, damaged
        for name in ("alpha", "gamma"):
            good = dict(zip(columns, row_of(table, ids[name]), strict=True))
            assert good["name"] == name and good["status"] == "active", good
        await pilot.press("down", "down", "up")  # the cursor walks over the damaged row
        await pilot.pause()
        assert not [n for n in notifications(app) if "error" in n.lower() or "decode" in n]
        assert app.screen is not None and app.return_code is None


async def test_client_id_and_secret_hint_cells_are_made_visible(make_app, db_path):
    ids = await seed(db_path, "alpha", "beta")
    raw(db_path, "UPDATE api_keys SET client_id = ?, hint = ? WHERE client_id = ?",
        "cu_test_ci_\x1b]0;pwned\x07", "\x1b]52", ids["beta"])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        cells = [str(c) for c in table.get_row("cu_test_ci_\x1b]0;pwned\x07")]
        assert "cu_test_ci_\\x1b]0;pwned\\x07" in cells, cells
        assert "cu_test_sk_…\\x1b]52" in cells, cells
        assert not any("\x1b" in c for c in cells), cells


async def test_the_activity_log_shows_a_damaged_event(make_app, db_path):
    await seed(db_path, "alpha")
    raw(db_path, "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, "
                 f"detail) VALUES ('soon', {NOT_UTF8}, 'x', 'key.created', 'test', NULL, '')")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        app.push_screen(ActivityLogScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityLogScreen))
        table = app.screen.query_one(AuditTable)
        # key.created, the damaged event, then account.created (the app's first start)
        await wait_for(pilot, lambda: table.row_count == 3)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
        action, actor = table.get_column_index("action"), table.get_column_index("actor")
        assert [r[action] for r in rows] == ["account.created", "key.created", "key.created"], rows
        assert rows[1][0] == "damaged" and rows[1][actor].startswith("\ufffd\\x1b]0;pwned"), rows
        assert rows[2][0] != "damaged"
