"""One key's details (enter on a key), and the API Key page at the smallest and a large size.
Each test's docstring says what the SVG should show. Regenerate with
`python -m pytest snapshots/test_key_detail_snapshots.py --snapshot-update` and look at every
changed SVG before committing."""

from __future__ import annotations

from datetime import timedelta

from changeup_tui.tui.screens.key_detail import KeyDetailScreen
from changeup_tui.tui.widgets.keys_table import KeysTable
from tests.helpers.pilot import SIZE

from .test_walkthrough import keys_loaded, until


def test_15_key_details(snap_compare, make_app):
    """"Billing service" rolled with a 24-hour grace, then `enter` on it: its details. The name
    in bold; Status active, Environment Test, its Client ID, Created (20 days before the fixed
    time, by dana), Expires never, Last used (2 h ago); under "Secrets that verify now" the new
    secret (works until the key is rolled, disabled or revoked) and the old one (works until
    24 h after the roll, in yellow); "Recent activity": key.rolled (grace 24h), then key.created.
    Footer: r Roll, x Revoke, d Disable, R Rename, g End grace now, esc Back."""

    async def run_before(pilot):
        app = pilot.app
        await keys_loaded(pilot)
        table = app.screen.query_one(KeysTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        key = table.get_row_at(names.index("Billing service"))
        client_id = str(key[2])
        await app.service.roll(client_id, timedelta(hours=24))
        table.move_cursor(row=names.index("Billing service"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, KeyDetailScreen)
                    and app.screen.detail is not None)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_16_api_keys_80x24(snap_compare, make_app):
    """The API Key page at 80x24: Name (the names whole), Status and the Client ID in full (35
    characters, nothing cut); Last used, Created and Secret dropped for want of room. Footer: the
    key actions above ("a Activ…" cut at the edge); "? Help" first in the row below, then what
    fits."""

    async def run_before(pilot):
        await keys_loaded(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_17_api_keys_200x50(snap_compare, make_app):
    """The API Key page at 200x50: every column (Name, Status, Client ID, Last used, Secret,
    Created ▼) at its width, the names whole; both footer rows in full."""

    async def run_before(pilot):
        await keys_loaded(pilot)

    assert snap_compare(make_app(), terminal_size=(200, 50), run_before=run_before)
