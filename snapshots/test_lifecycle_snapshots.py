"""The key lifecycle screens (issue 4), over the same seeded database as the walkthrough. Each
test's docstring says what the SVG should show. Regenerate with
`python -m pytest snapshots/test_lifecycle_snapshots.py --snapshot-update` and look at every
changed SVG before committing."""

from __future__ import annotations

from datetime import timedelta

from changeup_tui.core.models import Environment
from changeup_tui.testing import FIXED_NOW
from changeup_tui.tui.modals.grace_picker import GracePicker
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens.help import HelpScreen
from changeup_tui.tui.widgets.filter_input import FilterInput
from changeup_tui.tui.widgets.keys_table import KeysTable
from tests.helpers.pilot import SIZE

from .test_walkthrough import idle, keys_loaded, until


def test_10_roll_grace_picker(snap_compare, make_app):
    """`r` on the highlighted Test key "CI pipeline": the "Roll the Secret Key" modal with the
    key's name and Client ID, a line on what rolling does, and the four grace periods
    (Immediately, 1 hour, 24 hours, 7 days) with "24 hours" highlighted; "Roll Secret Key" and
    "Cancel" below, the footer says esc Cancel."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, GracePicker))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_11_live_revoke_confirmation(snap_compare, make_app):
    """In Live, `x` on "Partner feed": a red-bordered "Revoke this Live key?" with the name, the
    Client ID, the warning that revoking is immediate and final, "Type the key's name to confirm"
    with "Partner" typed (not the whole name), and "Revoke key" still disabled beside "Cancel"."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("e")
        await keys_loaded(pilot)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(pilot.app.screen, RevokeConfirm))
        field = pilot.app.screen.query_one("#revoke-input")
        field.cursor_blink = False
        await pilot.press(*"Partner")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_12_filtered_table(snap_compare, make_app):
    """`/` then "bill": the filter field at the top right holds "bill", the count says "1 key",
    a line says "Showing keys matching “bill”." and the table has the one row "Billing service";
    the two-row footer lists the key actions above and the view and app keys below."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(pilot.app.focused, FilterInput))
        pilot.app.focused.cursor_blink = False
        await pilot.press(*"bill")
        await until(pilot, lambda: pilot.app.screen.query_one(KeysTable).row_count == 1
                    and idle(pilot.app, "page"))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_13_expiring_badges(snap_compare, make_app):
    """Two more Test keys, made with an expiry: "Nightly export" shows a yellow "expires in 5
    days" badge in the Status column and "Quarterly report" a grey "expires in 90 days"; the
    others say "active"."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        service = pilot.app.service
        await service.create("Quarterly report", Environment.TEST,
                             expires_at=FIXED_NOW + timedelta(days=90))
        await service.create("Nightly export", Environment.TEST,
                             expires_at=FIXED_NOW + timedelta(days=5))
        pilot.app.screen.reload()
        await until(pilot, lambda: pilot.app.screen.query_one(KeysTable).row_count == 5
                    and idle(pilot.app, "page"))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_14_help_screen(snap_compare, make_app):
    """`?`: the "Keyboard" help over the API Key page: by where they apply (headings), each key
    and what it does (wrapping), read from the bindings: Everywhere (p Profile Menu, e
    Live/Test, ? Help, ^q Quit), then the API Key page (n, r, x / del, d Disable and d Enable,
    R / f2, c, a, /, o, v, esc) and the rest below the fold; esc Close in the footer."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
