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


async def client_ids(app, table: AuditTable) -> list[str | None]:
    """The Client ID of each event shown, by its row (the event's id), whether or not the
    Client ID column is on screen."""
    events = {str(e.id): e for e in await app.service.audit(limit=1000)}
    return [events[row.key.value].client_id for row in table.ordered_rows]


def shown_columns(table: AuditTable) -> list[str]:
    return [column.key.value for column in table.ordered_columns]


def whole(table: AuditTable) -> bool:
    """Every column lies within the table's visible width (nothing to scroll sideways to), and
    each is as wide as its widest cell (nothing cut)."""
    used = sum(column.get_render_width(table) for column in table.ordered_columns)
    if used > table.scrollable_content_region.width:
        return False
    for index, column in enumerate(table.ordered_columns):
        widest = max((table.get_row_at(row)[index].cell_len for row in range(table.row_count)),
                     default=0)
        if column.width < max(widest, len(str(column.label))):
            return False
    return True


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

        names = dict(zip(await client_ids(app, table), column(table, "key_name"), strict=True))
        assert names[billing.client_id] == "Billing service"
        assert names[ci.client_id].startswith("CI pipeline renamed")  # its name now, cut at 24
        # Every column shown is whole and on screen at 120 columns, Detail among them.
        assert whole(table) and "detail" in shown_columns(table)
        assert "was CI pipeline" in column(table, "detail")  # the old name, whole

        field = log.query_one("#log-key", Input)
        field.focus()
        await pilot.press(*"billing")  # part of a name, any case
        await wait_for(pilot, lambda: table.row_count == 1)
        assert await client_ids(app, table) == [billing.client_id]
        field.value = ""
        await pilot.press(*ci.client_id[-9:])  # part of a Client ID
        await wait_for(pilot, lambda: table.row_count == 2)
        assert set(await client_ids(app, table)) == {ci.client_id}
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


async def test_columns_are_whole_at_every_width_and_follow_a_resize(db_path, clock, keygen):
    """At 120 columns every column shown is whole and on screen (a 20-character name, the
    longest detail the service writes): Time, Action, Detail, Key,
    Env, Actor and Origin (the SSH address and TUI), the Client ID left out for want of its 35
    cells, Env telling Live from Test instead. At 200 the Client ID is shown in full in Env's
    place; at 80 the less important columns go first (Origin, Detail), Time, Action, Key and
    Env stay, whole."""
    from datetime import timedelta

    from changeup_tui.core.models import Actor
    from tests.helpers.apps import build_test_app

    ssh = {"SSH_CONNECTION": "203.0.113.7 50000 10.0.0.2 22"}
    app = build_test_app(db_path, clock=clock, keygen=keygen,
                         actor=Actor("dana", current_actor(ssh, interface="TUI").origin))
    async with app.run_test(size=(120, 35)) as pilot:
        await started(pilot)
        service = app.service
        now = service.clock()
        live = (await service.create("Partner feed", Environment.LIVE)).key
        named = (await service.create("Nightly export batch", Environment.TEST,
                                      expires_at=now + timedelta(days=90))).key
        await service.roll(named.client_id, timedelta(hours=24))
        await service.end_grace(named.client_id)
        await app.run_action("activity_log")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityLogScreen))
        table = app.screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 5)  # account, 2 created, rolled, ended
        await wait_for(pilot, lambda: whole(table))
        assert shown_columns(table) == [
            "time", "action", "detail", "key_name", "environment", "actor", "origin",
        ]
        assert column(table, "origin")[0] == "203.0.113.7 (TUI)"
        assert "old secret stopped" in column(table, "detail")
        assert "Nightly export batch" in column(table, "key_name")
        envs = dict(zip(await client_ids(app, table), column(table, "environment"), strict=True))
        assert envs[live.client_id] == "Live" and envs[named.client_id] == "Test"

        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: "key" in shown_columns(table) and whole(table))
        assert shown_columns(table) == [
            "time", "action", "detail", "key_name", "key", "actor", "origin",
        ]
        assert set(column(table, "key")) >= {live.client_id, named.client_id}

        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "origin" not in shown_columns(table) and whole(table))
        assert shown_columns(table)[:2] == ["time", "action"]
        assert {"key_name", "environment"} <= set(shown_columns(table))
        assert "Nightly export batch" in column(table, "key_name")  # whole at 80 too
