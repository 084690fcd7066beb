"""The keys table at every size: at 80 columns the Client ID is shown in full (lower-value
columns dropped first), at 120 a 20-character name does not push Secret and Created off screen;
the page's footer always shows `?`."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from changeup_tui.core.models import Environment
from tests.helpers.pilot import started, wait_for

from .ui_helpers import keys_table

TWENTY = "Nightly export batch"  # 20 characters
assert len(TWENTY) == 20


def fits(table) -> bool:
    """Every column lies within the table's visible width (nothing to scroll sideways to)."""
    used = sum(column.get_render_width(table) for column in table.ordered_columns)
    return used <= table.scrollable_content_region.width


async def test_80_columns_client_id_in_full_and_help_in_the_footer(make_app, service):
    made = await service.create(TWENTY, Environment.TEST)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: table.row_count == 1 and fits(table))
        keys = [column.key.value for column in table.ordered_columns]
        assert keys[:3] == ["name", "status", "client_id"]
        client = table.columns[table.ordered_columns[2].key]
        assert client.width >= len(made.key.client_id)
        assert str(table.get_row_at(0)[2]) == made.key.client_id
        footer = screen.query_one("#keys-footer-view")
        first = footer.query(FooterKey).first()
        assert first.action.endswith("help")
        assert first.region.right <= 80 and first.region.width > 0


async def test_120_columns_a_20_character_name_keeps_secret_and_created_on_screen(
    make_app, service
):
    await service.create(TWENTY, Environment.TEST)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: table.row_count == 1 and fits(table))
        keys = [column.key.value for column in table.ordered_columns]
        assert keys == ["name", "status", "client_id", "last_used", "secret", "created"]
        assert str(table.get_row_at(0)[0]) == TWENTY  # whole
        name = table.ordered_columns[0]
        assert name.width >= 20


async def test_columns_follow_a_resize(make_app, service):
    await service.create(TWENTY, Environment.TEST)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: len(table.ordered_columns) == 6)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: len(table.ordered_columns) < 6 and fits(table))
        assert table.row_count == 1 and table.selected_key is not None


async def test_status_column_is_as_wide_as_an_expiry_badge(make_app, service, clock):
    from datetime import timedelta

    await service.create("Quarterly", Environment.TEST, expires_at=clock() + timedelta(days=90))
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: table.row_count == 1)
        status = next(c for c in table.ordered_columns if c.key.value == "status")
        assert status.width >= len("expires in 90 days")
