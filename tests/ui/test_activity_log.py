"""The Activity Log: the key's name beside its Client ID, the Detail column on screen at 120
columns, the key filter by part of a name or of a Client ID (saying when nothing matches), and
the origin telling the TUI from the command line."""

from __future__ import annotations

from textual.widgets import Input, Static

from changeup_tui.core.config import Settings
from changeup_tui.core.context import current_actor
from changeup_tui.core.models import Environment
from changeup_tui.tui.app import build_app
from changeup_tui.tui.screens.activity_log import ActivityLogScreen
from changeup_tui.tui.widgets.audit_table import AuditTable
from tests.helpers.pilot import started, wait_for


def column(table: AuditTable, key: str) -> list[str]:
    index = table.get_column_index(key)
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


async def test_names_detail_and_the_key_filter(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(pilot)
        service = app.service
        billing = (await service.create("Billing service", Environment.TEST)).key
        ci = (await service.create("CI pipeline", Environment.TEST)).key
        await service.rename(ci.client_id, "CI pipeline renamed for the detail column")
        await app.run_action("activity_log")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityLogScreen))
        log = app.screen
        table = log.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 4)  # account, 2 created, renamed

        names = dict(zip(column(table, "key"), column(table, "key_name"), strict=True))
        assert names[billing.client_id] == "Billing service"
        assert names[ci.client_id].startswith("CI pipeline renamed")  # its name now, cut at 24
        # Detail: every cell of its column is inside the table's visible width at 120 columns.
        detail = table.get_column_index("detail")
        right = sum(c.get_render_width(table) for c in list(table.columns.values())[:detail + 1])
        assert right <= table.scrollable_content_region.width
        assert "was CI pipeline" in column(table, "detail")  # the old name, whole

        field = log.query_one("#log-key", Input)
        field.focus()
        await pilot.press(*"billing")  # part of a name, any case
        await wait_for(pilot, lambda: table.row_count == 1)
        assert column(table, "key") == [billing.client_id]
        field.value = ""
        await pilot.press(*ci.client_id[-9:])  # part of a Client ID
        await wait_for(pilot, lambda: table.row_count == 2)
        assert set(column(table, "key")) == {ci.client_id}
        showing = log.query_one("#log-showing", Static)
        assert "Only events of keys matching" in str(showing.content)

        field.value = ""
        await pilot.press(*"no such key")
        await wait_for(pilot, lambda: "No events of keys matching “no such key”" in str(
            showing.content))
        assert table.row_count == 0 and showing.has_class("-none")


def test_origin_tells_the_tui_from_the_command_line(db_path):
    ssh = {"SSH_CONNECTION": "203.0.113.7 50000 10.0.0.2 22"}
    assert current_actor(ssh, interface="TUI").origin == "203.0.113.7 (TUI)"
    assert current_actor({}, interface="CLI").origin == "local (CLI)"
    assert current_actor({}).origin == "local"  # a library caller names no interface
    app = build_app(Settings(db_path))
    assert app.service.actor.origin.endswith(" (TUI)")
