"""The name modal checks the core's rules as you type and shows the reason; the Profile section
edits and saves the account, showing the service's message when a field is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from textual.widgets import Button, Input, Label, Select, Static

from changeup_tui.core import hashing
from changeup_tui.core.models import Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.core.vocabulary import expiry_at
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


async def test_live_warning_and_the_date_are_whole_and_tab_does_not_lose_the_name(make_app):
    """At 80 and 60 columns: the Live warning wraps, never cut; the date field shows the whole
    date; with the date empty, Tab from it reaches Create (not Cancel), and Enter there keeps
    the modal and the name, says what is missing and goes back to the date."""
    for width in (80, 60):
        await _live_modal_at(make_app(), width)


async def _live_modal_at(app, width: int) -> None:
    async with app.run_test(size=(width, 30)) as pilot:
        await started(pilot)
        app.environment = Environment.LIVE
        modal = await open_name_modal(pilot)
        warning = modal.query_one("#name-environment", Label)
        text = str(warning.render())
        assert text.endswith("it will guard real traffic.")
        dialog = modal.query_one("#name-dialog").content_region
        region = warning.content_region
        assert region.right <= dialog.right and region.width * region.height >= len(text)
        assert region.height >= 2  # wrapped, not cut

        await pilot.press(*"Keeps its name")
        modal.query_one("#name-expiry", Select).value = "date"
        date_field = modal.query_one("#name-expiry-date", Input)
        await wait_for(pilot, lambda: app.focused is date_field)
        await pilot.press("tab")
        assert app.focused is modal.query_one("#create", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is date_field)
        assert app.screen is modal
        assert modal.query_one("#name-input", Input).value == "Keeps its name"
        note = modal.query_one("#name-expiry-note", Static)
        assert note.has_class("-error") and "YYYY-MM-DD" in str(note.content)

        await pilot.press(*"2026-06-01")
        await wait_for(pilot, lambda: date_field.value == "2026-06-01")
        assert date_field.content_region.width > len(date_field.value)  # and the cursor
        assert date_field.scroll_offset.x == 0  # nothing scrolled out of sight


def test_a_preset_and_a_date_end_at_the_same_time_of_day():
    now = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
    dated = expiry_at("2026-06-01", now)
    for code, days in (("30d", 30), ("90d", 90), ("365d", 365)):
        at = expiry_at(code, now)
        assert at is not None and dated is not None
        assert at.timetz() == dated.timetz() == time(0, tzinfo=UTC)
        assert abs(at - (now + timedelta(days=days))) <= timedelta(hours=12)
    midnight = datetime(2026, 3, 14, tzinfo=UTC)
    assert expiry_at("30d", midnight) == midnight + timedelta(days=30)
    evening = datetime(2026, 3, 14, 18, tzinfo=UTC)
    assert expiry_at("30d", evening) == midnight + timedelta(days=31)
