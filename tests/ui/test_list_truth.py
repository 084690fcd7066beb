"""The API Key list tells the truth about where you are: after a revoke the cursor stays at the
neighbouring key, home/end reach the true first and last key (pages not loaded yet included), an
empty filter result says so, and the headers show the sort."""

from __future__ import annotations

from changeup_tui.core.models import Environment
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens import api_keys
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.widgets.filter_input import FilterInput
from tests.helpers.pilot import SIZE, started, wait_for

from .ui_helpers import keys_table


def names(app) -> list[str]:
    table = keys_table(app)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def selected_name(app) -> str | None:
    key = keys_table(app).selected_key
    return key.name if key is not None else None


def headers(app) -> list[str]:
    return [str(column.label) for column in keys_table(app).ordered_columns]


async def seed(service, clock, *key_names: str) -> None:
    for name in key_names:
        await service.create(name, Environment.TEST)
        clock.advance(minutes=1)


async def test_after_a_revoke_the_cursor_stays_at_the_neighbour(make_app, service, clock):
    await seed(service, clock, "Alpha", "Bravo", "Charlie", "Delta")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert names(app) == ["Delta", "Charlie", "Bravo", "Alpha"]
        keys_table(app).move_cursor(row=2)
        await wait_for(pilot, lambda: selected_name(app) == "Bravo")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen)
                       and names(app) == ["Delta", "Charlie", "Alpha"])
        assert selected_name(app) == "Alpha"  # where Bravo was, not the first row


async def test_home_and_end_reach_the_true_first_and_last_key(
    make_app, service, clock, monkeypatch
):
    monkeypatch.setattr(api_keys, "PAGE_SIZE", 5)
    await seed(service, clock, *(f"Key {n:02}" for n in range(23)))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        table.focus()
        assert table.row_count < 23  # a page or so, not all of them
        await pilot.press("end")
        await wait_for(pilot, lambda: selected_name(app) == "Key 00")  # the oldest: last
        await wait_for(pilot, lambda: not table.loading_page)
        # The window above the last page fills in as the cursor is near its top: in order.
        assert names(app) == [f"Key {n:02}" for n in range(22, 22 - table.row_count, -1)]
        await pilot.press("home")
        await wait_for(pilot, lambda: selected_name(app) == "Key 22")


async def test_an_empty_filter_result_says_no_keys_match(make_app, service, clock):
    await seed(service, clock, "Alpha", "Bravo")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.focused, FilterInput))
        await pilot.press(*"zulu")
        message = screen.query_one("#keys-empty")
        await wait_for(pilot, lambda: message.display and screen.total == 0)
        assert str(message.render()).startswith("No keys match “zulu”")
        assert not keys_table(app).display
        await pilot.press("escape")  # clears the filter: the keys again, no message
        await wait_for(pilot, lambda: names(app) == ["Bravo", "Alpha"])
        assert not message.display and keys_table(app).display


async def test_headers_show_the_sort(make_app, service, clock):
    await seed(service, clock, "Alpha", "Bravo")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        assert "Created ▼" in headers(app)
        keys_table(app).focus()
        await pilot.press("o")
        await wait_for(pilot, lambda: "Name ▲" in headers(app))
        assert "Created" in headers(app) and screen.sort.value == "name"
        assert names(app) == ["Alpha", "Bravo"]
        await pilot.press("o")
        await wait_for(pilot, lambda: "Last used ▼" in headers(app))
        assert "Name" in headers(app)
