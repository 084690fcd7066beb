"""The key lifecycle in the TUI by keyboard (Pilot): roll with a grace period, revoke (a Live key
needs its name typed), disable/enable, rename, expiry at creation, the filter, the sort, revoked
keys shown or hidden, the Activity Log's filters and the help screen."""

from __future__ import annotations

from datetime import time

from textual.widgets import Button, Input, Select, Static

from changeup_tui.core.models import Environment, KeyStatus, SortField
from changeup_tui.core.vocabulary import expiry_at
from changeup_tui.tui.modals.grace_picker import GracePicker
from changeup_tui.tui.modals.rename_modal import RenameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens.activity_log import ActivityLogScreen
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.screens.help import HelpScreen
from changeup_tui.tui.widgets.audit_table import AuditTable
from changeup_tui.tui.widgets.filter_input import FilterInput
from tests.helpers.pilot import SIZE, notifications, settle, started, wait_for

from .ui_helpers import cell, keys_table, open_name_modal


async def seeded(pilot, *names: str, environment: Environment = Environment.TEST) -> dict:
    """Create keys through the app's own service, reload the page, wait for the rows; return
    {name: CreatedKey}."""
    app = pilot.app
    screen = await started(pilot)
    created = {}
    for name in names:
        created[name] = await app.service.create(name, environment)
        app.service.clock.advance(minutes=1)
    screen.reload()
    await wait_for(pilot, lambda: keys_table(app).row_count == len(names))
    return created


def row_names(app) -> list[str]:
    table = keys_table(app)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def select(pilot, name: str) -> None:
    app = pilot.app
    table = keys_table(app)
    table.focus()
    table.move_cursor(row=row_names(app).index(name))
    await wait_for(pilot, lambda: table.selected_key is not None
                   and table.selected_key.name == name)


async def test_roll_with_one_hour_grace_shows_new_secret_and_both_verify(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        old = (await seeded(pilot, "Billing service"))["Billing service"]
        await select(pilot, "Billing service")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, GracePicker))
        await pilot.press("up", "enter")  # from the default "24 hours" up to "1 hour"
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
        reveal = app.screen
        new_secret = str(reveal.query_one("#reveal-secret", Static).content)
        assert reveal.key.client_id == old.key.client_id
        assert new_secret.startswith("cu_test_sk_") and len(new_secret) == 60
        assert new_secret != old.secret.reveal()
        client_id = old.key.client_id
        assert await app.service.verify(client_id, old.secret)
        assert await app.service.verify(client_id, new_secret)
        events = await app.service.audit(client_id=client_id, action="key.rolled")
        assert [e.detail for e in events] == ["grace 1h"]

        await pilot.press("s")
        await wait_for(pilot, lambda: reveal.secret_copied)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: keys_table(app).selected_key is not None
                       and keys_table(app).selected_key.client_id == client_id)
        assert keys_table(app).selected_key.hint == new_secret[-4:]

        app.service.clock.advance(hours=1, seconds=1)
        assert not await app.service.verify(client_id, old.secret)
        assert await app.service.verify(client_id, new_secret)


async def test_roll_cancelled_changes_nothing(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        old = (await seeded(pilot, "Billing service"))["Billing service"]
        await select(pilot, "Billing service")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, GracePicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert await app.service.audit(action="key.rolled") == []
        assert (await app.service.get(old.key.client_id)).secrets_count == 1


async def test_live_revoke_needs_the_typed_name(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.environment is Environment.LIVE)
        live = (await seeded(pilot, "Production API", environment=Environment.LIVE))[
            "Production API"]
        client_id = live.key.client_id
        await select(pilot, "Production API")

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        confirm = app.screen
        button = confirm.query_one("#revoke-ok", Button)
        assert button.disabled
        await pilot.press("enter")  # nothing typed: Enter does nothing
        await pilot.press(*"Production")  # not the whole name
        await settle(pilot, pilot.press("enter"))
        assert app.screen is confirm and button.disabled
        await settle(pilot, pilot.click(button))
        assert app.screen is confirm
        assert (await app.service.get(client_id)).status is KeyStatus.ACTIVE
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert (await app.service.get(client_id)).status is KeyStatus.ACTIVE
        assert await app.service.verify(client_id, live.secret)
        assert await app.service.audit(action="key.revoked") == []

        await pilot.press("delete")  # the other key for revoke
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        await pilot.press(*"Production API")  # exactly, case included, as in the core
        assert not app.screen.query_one("#revoke-ok", Button).disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: any("revoked" in m for m in notifications(app)))
        assert (await app.service.get(client_id)).status is KeyStatus.REVOKED
        result = await app.service.verify(client_id, live.secret)
        assert not result and result.reason == "revoked"
        # hidden by default now; shown with v, and then nothing but copy applies to it
        await wait_for(pilot, lambda: keys_table(app).row_count == 0)
        await pilot.press("v")
        await wait_for(pilot, lambda: keys_table(app).row_count == 1)
        await select(pilot, "Production API")
        screen = app.screen
        for action in ("roll_key", "revoke_key", "disable_key", "enable_key", "rename_key"):
            assert screen.check_action(action, ()) is False, action
        assert screen.check_action("copy_client_id", ()) is True


async def test_test_key_revoke_is_a_plain_confirmation(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        key = (await seeded(pilot, "CI pipeline"))["CI pipeline"]
        await select(pilot, "CI pipeline")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        assert not app.screen.query(Input)
        assert app.focused.id == "revoke-cancel"  # the safe default
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert (await app.service.get(key.key.client_id)).status is KeyStatus.ACTIVE
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        await pilot.click("#revoke-ok")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: keys_table(app).row_count == 0)
        assert (await app.service.get(key.key.client_id)).status is KeyStatus.REVOKED


async def test_disable_enable_round_trip(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        key = (await seeded(pilot, "Billing service"))["Billing service"]
        client_id = key.key.client_id
        await select(pilot, "Billing service")
        screen = app.screen
        assert screen.check_action("disable_key", ()) is True
        assert screen.check_action("enable_key", ()) is False
        await pilot.press("d")
        await wait_for(pilot, lambda: keys_table(app).selected_key.status is KeyStatus.DISABLED)
        assert (await app.service.get(client_id)).status is KeyStatus.DISABLED
        assert cell(app, 0, "status") == "disabled"
        assert (await app.service.verify(client_id, key.secret)).reason == "disabled"
        assert screen.check_action("disable_key", ()) is False
        assert screen.check_action("enable_key", ()) is True
        await pilot.press("d")
        await wait_for(pilot, lambda: keys_table(app).selected_key.status is KeyStatus.ACTIVE)
        assert await app.service.verify(client_id, key.secret)
        actions = [e.action for e in await app.service.audit(client_id=client_id)]
        assert actions[:2] == ["key.enabled", "key.disabled"]


def footer_keys(screen) -> list[str]:
    return [key.description for key in screen.query("#keys-footer-key FooterKey")]


async def test_footer_follows_the_selected_keys_status_and_is_not_rebuilt_on_every_row(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Alpha", "Bravo", "Charlie", "Delta")
        await app.service.disable(keys["Alpha"].key.client_id)  # the oldest: the last row
        screen = app.screen
        screen.reload()
        await wait_for(pilot, lambda: cell(app, 3, "status") == "disabled")
        await select(pilot, "Delta")
        await wait_for(pilot, lambda: "Disable" in footer_keys(screen))
        refreshes = []
        screen.bindings_updated_signal.subscribe(screen, lambda _: refreshes.append(1))

        await pilot.press("down", "down")  # Charlie, Bravo: active like Delta
        await wait_for(pilot, lambda: keys_table(app).selected_key.name == "Bravo")
        assert refreshes == []
        assert "Disable" in footer_keys(screen)

        await pilot.press("down")  # Alpha: disabled
        await wait_for(pilot, lambda: "Enable" in footer_keys(screen))
        assert "Disable" not in footer_keys(screen)
        assert refreshes == [1]


async def test_rename_checks_as_you_type_and_renames(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Billing service", "CI pipeline")
        await select(pilot, "CI pipeline")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameModal))
        modal = app.screen
        field = modal.query_one("#rename-input", Input)
        assert field.value == "CI pipeline"
        field.value = ""
        await pilot.press(*"billing SERVICE")
        await wait_for(pilot, lambda: "already exists" in str(
            modal.query_one("#rename-reason", Static).content))
        assert modal.query_one("#rename-ok", Button).disabled
        await settle(pilot, pilot.press("enter"))
        assert app.screen is modal
        field.value = ""
        await pilot.press(*"Build pipeline", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        client_id = keys["CI pipeline"].key.client_id
        assert (await app.service.get(client_id)).name == "Build pipeline"
        await wait_for(pilot, lambda: "Build pipeline" in row_names(app))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameModal))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))


async def test_expiry_chosen_at_creation_shows_the_badge(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        modal = await open_name_modal(pilot)
        await pilot.press(*"Nightly export")
        await pilot.press("tab")  # to the expiry choice
        assert isinstance(app.focused, Select)
        modal.query_one("#name-expiry", Select).value = "30d"
        await pilot.pause()  # one turn: the Select.Changed message reaches the modal
        modal.query_one("#name-input", Input).focus()
        await wait_for(pilot, lambda: not modal.query_one("#create", Button).disabled)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
        client_id = app.screen.key.client_id
        secret = str(app.screen.query_one("#reveal-secret", Static).content)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.secret_copied)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen)
                       and keys_table(app).row_count == 1)
        key = await app.service.get(client_id)
        assert key.expires_at == expiry_at("30d", app.service.clock())  # 00:00 UTC, as a date
        assert key.expires_at.time() == time(0)
        assert cell(app, 0, "status") == "expires in 30 days"
        assert await app.service.verify(client_id, secret)
        app.service.clock.advance(days=31)
        assert (await app.service.verify(client_id, secret)).reason == "expired"
        screen = app.screen
        screen.reload()
        await wait_for(pilot, lambda: cell(app, 0, "status") == "expired")


async def test_expiry_date_must_be_valid_and_future(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        modal = await open_name_modal(pilot)
        await pilot.press(*"Dated key")
        modal.query_one("#name-expiry", Select).value = "date"
        await wait_for(pilot, lambda: modal.query_one("#name-expiry-date").display)
        date_field = modal.query_one("#name-expiry-date", Input)
        date_field.focus()
        await pilot.press(*"2020-01-01")
        await wait_for(pilot, lambda: "future" in str(
            modal.query_one("#name-expiry-note", Static).content))
        await pilot.press("enter")  # refused: the note says why, the modal and the name stay
        await wait_for(pilot, lambda: modal.query_one("#name-expiry-note").has_class("-error"))
        assert app.screen is modal and app.focused is date_field
        date_field.value = ""
        await pilot.press(*"2026-06-01", "enter")  # FixedClock is 2026-03-14
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
        key = await app.service.get(app.screen.key.client_id)
        assert key.expires_at.isoformat() == "2026-06-01T00:00:00+00:00"


async def test_filter_narrows_as_you_type_and_escape_clears(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Billing service", "Billing backup", "CI pipeline")
        screen = app.screen
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.focused, FilterInput))
        await pilot.press(*"bill")
        await wait_for(pilot, lambda: keys_table(app).row_count == 2)
        assert screen.total == 2
        await pilot.press(*"ing s")
        await wait_for(pilot, lambda: row_names(app) == ["Billing service"])
        assert "matching" in str(screen.query_one("#keys-view", Static).content)
        # by Client ID too
        await pilot.press("escape")
        await wait_for(pilot, lambda: keys_table(app).row_count == 3)
        assert app.focused is keys_table(app)
        assert not screen.query_one(FilterInput).display
        ci = keys["CI pipeline"].key.client_id
        await pilot.press("slash", *ci[-10:])
        await wait_for(pilot, lambda: row_names(app) == ["CI pipeline"])


async def test_sort_cycles_created_name_last_used(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Bravo", "Alpha", "Charlie")
        screen = app.screen
        assert row_names(app) == ["Charlie", "Alpha", "Bravo"]  # newest first
        app.service.clock.advance(minutes=5)
        assert await app.service.verify(keys["Bravo"].key.client_id, keys["Bravo"].secret)
        await pilot.press("o")
        await wait_for(pilot, lambda: row_names(app) == ["Alpha", "Bravo", "Charlie"])
        assert screen.sort is SortField.NAME
        await pilot.press("o")
        await wait_for(pilot, lambda: row_names(app)[0] == "Bravo")
        assert screen.sort is SortField.LAST_USED
        assert cell(app, 0, "last_used") == "just now"
        await pilot.press("o")
        await wait_for(pilot, lambda: row_names(app) == ["Charlie", "Alpha", "Bravo"])


async def test_show_and_hide_revoked(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Keep", "Gone")
        await app.service.revoke(keys["Gone"].key.client_id)
        screen = app.screen
        screen.reload()
        await wait_for(pilot, lambda: row_names(app) == ["Keep"])
        assert screen.check_action("show_revoked", ()) is True
        assert screen.check_action("hide_revoked", ()) is False
        await pilot.press("v")
        await wait_for(pilot, lambda: row_names(app) == ["Gone", "Keep"])
        assert cell(app, 0, "status") == "revoked"
        assert screen.check_action("hide_revoked", ()) is True
        await pilot.press("v")
        await wait_for(pilot, lambda: row_names(app) == ["Keep"])


async def test_activity_log_filters_by_key_and_action(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = await seeded(pilot, "Billing service", "CI pipeline")
        billing = keys["Billing service"].key.client_id
        await app.service.disable(billing)
        await app.service.enable(billing)
        screen = app.screen
        screen.reload()
        await wait_for(pilot, lambda: keys_table(app).row_count == 2)
        await select(pilot, "Billing service")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityLogScreen))
        log = app.screen
        table = log.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        client = table.get_column_index("key")
        assert {str(table.get_row_at(i)[client]) for i in range(3)} == {billing}
        log.query_one("#log-action", Select).value = "key.disabled"
        await wait_for(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[table.get_column_index("action")]) == "key.disabled"
        await pilot.press("ctrl+l")  # all events again
        await wait_for(pilot, lambda: table.row_count == 5)  # 2 created, disabled, enabled, account
        await pilot.press("escape")  # back to the API Key page it was opened from
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))


async def test_help_lists_the_bindings(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        pairs = {row for _, rows in app.screen.sections() for row in rows}
        for expected in [("r", "Roll"), ("x / del", "Revoke"), ("d", "Disable"),
                         ("d", "Enable"), ("R / f2", "Rename"), ("/", "Filter"), ("o", "Sort"),
                         ("v", "Show revoked"), ("?", "Help"), ("e", "Live/Test"),
                         ("^q", "Quit")]:
            assert expected in pairs, (expected, sorted(pairs))
        # generated: every described binding of the API Key page is there
        for binding in ApiKeysScreen.BINDINGS:
            assert any(what == binding.description for _, what in pairs), binding
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
