"""The seed page's figures, screen by screen (DESIGN.md's table), plus the states around them.
Each test's docstring says what the SVG should show. Regenerate with
`python -m pytest snapshots --snapshot-update` and look at every changed SVG before committing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.profile_menu import ProfileMenu
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
from changeup_tui.tui.screens.activity_log import ActivityLogScreen
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from tests.helpers.pilot import SIZE, wait_for

LIMIT_S = 15.0


async def until(pilot: Pilot[Any], predicate: Callable[[], object]) -> None:
    await wait_for(pilot, predicate, LIMIT_S, what="the app to get there")


def idle(app: App[Any], *groups: str) -> bool:
    """No worker of these groups is running (the create flow's worker waits on its modals, so
    `workers.wait_for_complete()` would wait for ever). "page" is the tables' loader
    (widgets/paged_table.py)."""
    return not any(w.group in groups and w.is_running for w in app.workers)


async def keys_loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ApiKeysScreen) and app.screen.total is not None
                and idle(app, "page", "remember-environment"))
    await pilot.pause()


async def name_modal(pilot: Pilot[Any], text: str = "") -> None:
    await keys_loaded(pilot)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, NameModal))
    field = pilot.app.screen.query_one(Input)
    field.cursor_blink = False
    if text:
        await pilot.press(*text)
    await until(pilot, lambda: idle(pilot.app, "check-name"))


async def reveal(pilot: Pilot[Any]) -> None:
    await name_modal(pilot, "Reporting job")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, RevealModal))
    await pilot.pause()


def test_01_profile_menu(snap_compare, make_app):
    """The API Key page with the Profile Menu dropped down under "Dana Whitfield ▾" at the top
    right: the name and email, then Account Settings (highlighted), Activity Log, Quit."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProfileMenu))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_01b_account_settings(snap_compare, make_app):
    """Account Settings after Profile Menu › Account Settings: its three sections (Profile, API
    Key, Activity Log) each with a line of description, API Key highlighted; the header's
    breadcrumb says "Account Settings"."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProfileMenu))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, AccountSettingsScreen))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_02_env_test(snap_compare, make_app):
    """The header's Live/Test switch in Test: "Test" lit in the switch, the header in the normal
    colours, no LIVE label; below, the three Test keys."""

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=keys_loaded)


def test_02_env_live(snap_compare, make_app):
    """After `e`: the whole header turns red with a "● LIVE" label and "Live" lit in the switch;
    the page title says "Live API Keys" in red and the table shows the two Live keys."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("e")
        await keys_loaded(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_03_api_keys_list(snap_compare, make_app):
    """Account Settings › API Key in Test: "Test API Keys 3 keys", the "Create New API Key"
    button focused, and the table: Name, the full Client ID, the Secret hint (cu_test_sk_…xxxx),
    Created, Last used ("2 h ago", "never") and Status, newest first."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("shift+tab")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_04_name_modal(snap_compare, make_app):
    """The "Create New API Key" modal, empty, over the list: the environment it will belong to
    (Test), the Name field focused with its placeholder, "Create API Key" disabled, "Cancel"."""

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=name_modal)


def test_05_name_filled(snap_compare, make_app):
    """The name modal with "Reporting job" typed, no complaint under the field, and "Create API
    Key" enabled: Enter creates the key."""

    async def run_before(pilot):
        await name_modal(pilot, "Reporting job")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_05b_name_rejected(snap_compare, make_app):
    """The name modal with "billing service" typed: the field outlined in red and, under it, "A
    Test key with this name already exists."; "Create API Key" stays disabled."""

    async def run_before(pilot):
        await name_modal(pilot, "billing service")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_06_reveal_secret(snap_compare, make_app):
    """The reveal modal: "Copy your Secret Key", the warning that this is the only chance (not
    stored, cannot be retrieved, the Client ID stays on the API Keys page), the name, the Client
    ID and the 60-character Secret Key in full, and "Copy Secret Key" (focused), "Copy Client ID",
    "Done". The secret comes from the seeded test generator and guards nothing."""

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=reveal)


def test_06b_copied_over_ssh(snap_compare, make_app):
    """The reveal modal in an SSH session after "Copy Secret Key": the notification says "Sent to
    your terminal's clipboard (OSC 52)", not that it was copied."""

    async def run_before(pilot):
        await reveal(pilot)
        await pilot.press("s")
        await until(pilot, lambda: pilot.app.screen.secret_copied)

    assert snap_compare(make_app(ssh=True), terminal_size=SIZE, run_before=run_before)


def test_06c_confirm_early_close(snap_compare, make_app):
    """Escape before the secret was copied: the confirmation "The Secret Key will never be shown
    again. Close anyway?" with "Go back" focused and "Close anyway" in red."""

    async def run_before(pilot):
        await reveal(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmCloseModal))

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_07_key_in_list(snap_compare, make_app):
    """Back on the list after copy and Done: "Reporting job" is the first row and highlighted
    (the cursor is on it, the table focused), "4 keys", and the notifications "Copied to
    clipboard" and "API key “Reporting job” created in Test."."""

    async def run_before(pilot):
        await reveal(pilot)
        await pilot.press("s")
        await until(pilot, lambda: pilot.app.screen.secret_copied)
        await pilot.press("escape")
        await keys_loaded(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_08_empty_state(snap_compare, make_app):
    """A database without keys: "Test API Keys 0 keys" and, instead of the table, a box saying
    there are no Test keys yet and that n or "Create New API Key" creates the first one."""

    assert snap_compare(make_app(empty=True), terminal_size=SIZE, run_before=keys_loaded)


def test_09_activity_log(snap_compare, make_app):
    """Profile Menu › Activity Log: the audit events newest first, times in local time (UTC
    here): Time, Action (key.created, account.updated), Detail, Key (the key's name), Env (Live in
    bold, Test), Actor (dana), Origin (203.0.113.7), every column whole at 120 columns; the
    Client ID, which needs 35 more cells, shows at 200."""

    async def run_before(pilot):
        await keys_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProfileMenu))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ActivityLogScreen))
        await until(pilot, lambda: idle(pilot.app, "page")
                    and pilot.app.screen.query_one("#log-table").row_count > 0)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
