"""The documented flow by keyboard alone, in Test and in Live: Profile Menu › Account Settings ›
API Key › Create New API Key › name › reveal › copy › Done › the key in the list, in
`keys list --json`, and verifiable with the secret the modal showed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.modals.profile_menu import ProfileMenu
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.widgets.header import AppHeader
from changeup_tui.tui.widgets.keys_table import KeysTable
from tests.helpers.pilot import SIZE, notifications, started, wait_for

from .ui_helpers import keys_table, open_reveal

CLI = Path(sys.executable).with_name("changeup-tui")


def cli_keys(db_path: Path) -> list[dict]:
    done = subprocess.run(
        [str(CLI), "--db", str(db_path), "keys", "list", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(done.stdout)


async def verify(db_path: Path, client_id: str, secret: str) -> bool:
    store = SQLiteStore(db_path)
    await store.open()
    try:
        return bool(await KeyService(store, actor=Actor("tester", "local")).verify(client_id, secret))
    finally:
        await store.close()


@pytest.mark.parametrize("environment", [Environment.TEST, Environment.LIVE])
async def test_the_whole_flow_by_keyboard(make_app, fake_clipboard, db_path, environment):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.environment is Environment.TEST
        if environment is Environment.LIVE:
            await pilot.press("e")
            await wait_for(pilot, lambda: app.environment is Environment.LIVE)
            assert app.screen.query_one(AppHeader).has_class("-live")

        # Profile Menu › Account Settings
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileMenu))
        await pilot.press("enter")  # "Account Settings" is the first entry
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        # › API Key (highlighted on arrival)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await started(pilot)

        secret = await open_reveal(pilot, "Billing service")
        reveal = app.screen
        assert isinstance(reveal, RevealModal)
        client_id = reveal.key.client_id
        assert secret.startswith(f"cu_{environment.value}_sk_") and len(secret) == 60
        assert client_id.startswith(f"cu_{environment.value}_ci_")

        await pilot.press("enter")  # "Copy Secret Key" has the focus
        await wait_for(pilot, lambda: fake_clipboard.text == secret)
        assert "Copied to clipboard" in notifications(app)
        await pilot.press("tab", "tab", "enter")  # Copy Client ID, Done
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))

        table = app.screen.query_one(KeysTable)
        await wait_for(pilot, lambda: table.selected_key is not None
                       and table.selected_key.client_id == client_id)
        assert app.focused is table
        assert table.selected_key.name == "Billing service"
        assert table.selected_key.environment is environment
        assert f"API key “Billing service” created in {environment.label}." in notifications(app)
        assert app.clipboard != secret
        assert not any(isinstance(s, RevealModal) for s in app.screen_stack)

    listed = {k["client_id"]: k for k in cli_keys(db_path)}
    assert listed[client_id]["name"] == "Billing service"
    assert listed[client_id]["environment"] == environment.value
    assert secret not in json.dumps(listed)
    assert await verify(db_path, client_id, secret)


async def test_create_button_and_escape_cancel(make_app, db_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        assert screen.query_one("#keys-empty").display
        await pilot.click("#create-key")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NameModal")
        await pilot.press(*"Nope")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert keys_table(app).row_count == 0
    assert cli_keys(db_path) == []


async def test_escape_goes_up_to_account_settings_and_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        await pilot.press("up", "enter")  # Profile
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ProfileScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        await pilot.press("down", "down", "enter")  # Activity Log
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ActivityLogScreen")
        # the documented path works from here too
        await pilot.press("p", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        assert len(app.screen_stack) == 2
