"""Confirmation dialogs answer y and n; a Live revoke with a name that does not match says so
(the match is exact, case included); disabling a Live key asks first; a modal shows its own keys
in the footer, not the page's beneath it."""

from __future__ import annotations

from textual.widgets import Button, Footer, Input, Static
from textual.widgets._footer import FooterKey  # the footer's key widgets (see ActionFooter)

from changeup_tui.core.models import Environment, KeyStatus
from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
from changeup_tui.tui.modals.disable_confirm import DisableConfirm
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from tests.helpers.pilot import SIZE, started, wait_for

from .ui_helpers import keys_table, open_reveal


def footer_keys(screen) -> list[str]:
    """The keys shown in the screen's own footer(s) that are displayed."""
    return [key.key_display for footer in screen.query(Footer) if footer.display
            for key in footer.query(FooterKey)]


async def live_page(pilot, service, name: str):
    app = pilot.app
    app.environment = Environment.LIVE
    await started(pilot)
    made = await service.create(name, Environment.LIVE)
    await wait_for(pilot, lambda: keys_table(app).row_count == 1)  # seen by the poll
    keys_table(app).focus()
    return made.key


async def test_test_revoke_answers_n_then_y(make_app, service):
    made = await service.create("Alpha", Environment.TEST)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        page = await started(pilot)
        keys_table(app).focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        assert "y" in footer_keys(app.screen) and "n" in footer_keys(app.screen)
        assert not any(footer.display for footer in page.query("#keys-footers"))  # hidden
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert any(footer.display for footer in page.query("#keys-footers"))
        assert (await service.get(made.key.client_id)).status is KeyStatus.ACTIVE
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: page.total == 0)
        assert (await service.get(made.key.client_id)).status is KeyStatus.REVOKED


async def test_live_revoke_name_must_match_exactly_and_says_so(make_app, service):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        key = await live_page(pilot, service, "Payments Prod")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        modal = app.screen
        assert isinstance(app.focused, Input)
        await pilot.press(*"payments prod")  # y and n are letters here, not answers
        assert modal.query_one(Input).value == "payments prod"
        assert modal.query_one("#revoke-ok", Button).disabled
        await pilot.press("enter")
        mismatch = modal.query_one("#revoke-mismatch", Static)
        await wait_for(pilot, lambda: mismatch.display)
        assert "case included" in str(mismatch.render())
        assert app.screen is modal
        for _ in range(len("payments prod")):
            await pilot.press("backspace")
        await pilot.press(*"Payments Prod")
        assert not mismatch.display
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: app.screen.total == 0)
        assert (await service.get(key.client_id)).status is KeyStatus.REVOKED


async def test_disabling_a_live_key_asks_first(make_app, service):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        key = await live_page(pilot, service, "Payments Prod")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DisableConfirm))
        assert set(footer_keys(app.screen)) >= {"y", "n"}
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert (await service.get(key.client_id)).status is KeyStatus.ACTIVE
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DisableConfirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: keys_table(app).selected_key.status is KeyStatus.DISABLED)
        assert (await service.get(key.client_id)).status is KeyStatus.DISABLED


async def test_secret_not_copied_dialog_answers_y_n_with_its_own_footer(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await open_reveal(pilot, "Alpha")
        reveal = app.screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        keys = footer_keys(app.screen)
        assert "y" in keys and "n" in keys and "s" not in keys
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is reveal)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert not any(isinstance(s, RevealModal) for s in app.screen_stack)
