"""The name modal checks the core's rules as you type and shows the reason; the Profile section
edits and saves the account, showing the service's message when a field is refused."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Input, Static

from changeup_tui.core import hashing
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.profile import ProfileScreen
from changeup_tui.tui.widgets.header import AppHeader
from tests.helpers.pilot import SIZE, settle, started, wait_for

from .ui_helpers import open_name_modal, seed_keys


async def test_name_is_checked_as_you_type(make_app, db_path):
    await seed_keys(db_path, "Billing")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        modal = await open_name_modal(pilot)
        reason = modal.query_one("#name-reason", Static)
        create = modal.query_one("#create", Button)
        assert create.disabled and str(reason.content) == ""

        await pilot.press(*"billing")  # the same name, other case
        await wait_for(pilot, lambda: "already exists" in str(reason.content))
        assert create.disabled
        await settle(pilot, pilot.press("enter"))  # Enter on a bad name explains, never crashes
        assert app.screen is modal and "already exists" in str(reason.content)

        modal.query_one(Input).value = "bad\x1b[31mname"
        await wait_for(pilot, lambda: "control characters" in str(reason.content))

        modal.query_one(Input).value = "x" * 65
        await wait_for(pilot, lambda: "too long" in str(reason.content))

        modal.query_one(Input).value = "Billing v2"
        await wait_for(pilot, lambda: not create.disabled)
        assert str(reason.content) == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NameModal))


async def test_while_the_key_is_hashed_nothing_in_the_modal_can_change(make_app, monkeypatch):
    """Once Enter starts hashing, the key is being written: the name, the expiry and Cancel are
    disabled until it is done, so what is stored is what the modal showed."""
    release = asyncio.Event()
    hash_secret = hashing.hash_secret

    async def held_hash(secret):
        await release.wait()
        return await hash_secret(secret)

    monkeypatch.setattr(hashing, "hash_secret", held_hash)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        modal = await open_name_modal(pilot)
        await pilot.press(*"Billing", "enter")
        await wait_for(pilot, lambda: modal.busy)
        for selector in ("#name-input", "#name-expiry", "#cancel", "#create"):
            assert modal.query_one(selector).disabled, selector
        await settle(pilot, pilot.press("escape"))
        assert app.screen is modal
        release.set()
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
        assert app.screen.key.name == "Billing"


async def test_profile_is_edited_and_saved(make_app, db_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("escape", "up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        screen = app.screen
        name = screen.query_one("#profile-display_name", Input)
        await wait_for(pilot, lambda: not name.disabled and name.value != "")
        email = screen.query_one("#profile-email", Input)
        message = screen.query_one("#profile-message", Static)

        email.value = "not an address"
        email.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: str(message.content).startswith("Email:"))
        assert message.has_class("-error")

        name.value = "Dana Whitfield"
        email.value = "dana@example.com"
        screen.query_one("#profile-organisation", Input).value = "Example Ltd"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: str(message.content) == "Saved.")
        assert app.account_name == "Dana Whitfield"
        label = str(screen.query_one(AppHeader).query_one("#profile-button", Button).label)
        assert label.startswith("Dana Whitfield")

    store = SQLiteStore(db_path)
    await store.open()
    account = await KeyService(store).account()
    await store.close()
    assert (account.display_name, account.email, account.organisation) == (
        "Dana Whitfield", "dana@example.com", "Example Ltd")
