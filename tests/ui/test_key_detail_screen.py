"""enter on a key opens its details: the full name, status, Client ID, created at and by, expiry,
last used, every secret that verifies (the old one during a grace period, with its end), recent
activity; "end grace now" (g) stops the old secret; the page's own flows (revoke here) run from
it and it shows their outcome; escape goes back to the list."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Static

from changeup_tui.core.models import Environment, KeyStatus
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.screens.key_detail import KeyDetailScreen
from tests.helpers.pilot import SIZE, started, wait_for

from .ui_helpers import keys_table

LONG = "Billing reconciliation nightly export job"  # cut in the table (32)


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_key_details_show_everything_and_end_grace_and_revoke(make_app, service, clock):
    made = await service.create(LONG, Environment.TEST)
    clock.advance(minutes=5)
    await service.roll(made.key.client_id, timedelta(hours=1))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert "…" in str(keys_table(app).get_row_at(0)[0])  # the table cuts the name
        keys_table(app).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.detail is not None)
        assert text(screen, "#detail-name") == LONG
        facts = text(screen, "#detail-facts")
        for expected in (made.key.client_id, "active", "by tester", "Expires", "never",
                         "Last used"):
            assert expected in facts
        secrets = text(screen, "#detail-secrets")
        assert secrets.count("cu_test_sk_…") == 2 and "old secret, works until" in secrets
        activity = screen.query_one("#detail-activity", DataTable)
        actions = [str(activity.get_row_at(i)[3]) for i in range(activity.row_count)]
        assert actions == ["key.rolled", "key.created"]

        await pilot.press("g")  # end grace now
        await wait_for(pilot, lambda: text(screen, "#detail-secrets").count("cu_test_sk_") == 1)
        assert not (await service.detail(made.key.client_id)).grace_secrets
        await wait_for(pilot, lambda: activity.row_count == 3)
        assert screen.check_action("end_grace", ()) is False  # nothing left to end

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RevokeConfirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and "revoked" in text(
            screen, "#detail-facts"))
        assert "no secret of it verifies" in text(screen, "#detail-secrets")
        assert (await service.get(made.key.client_id)).status is KeyStatus.REVOKED
        assert screen.check_action("roll_key", ()) is False

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))


async def test_key_details_say_secret_never_confirmed_until_the_secret_is_confirmed(
    make_app, service
):
    """A key whose Secret Key's one showing was cut short (the TUI hung up while the reveal
    modal showed it) says so in its details, and in the list; no longer once confirmed."""
    made = await service.create("Shown when the line dropped", Environment.TEST, confirmed=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        assert str(table.get_row_at(0)[table.get_column_index("status")]) == (
            "secret never confirmed"
        )
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.detail is not None)
        assert "secret never confirmed: roll this key" in text(screen, "#detail-facts")
        await service.confirm_secret(made.key.client_id, made.secret_id)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "never confirmed" not in text(screen, "#detail-facts"))
        assert "active" in text(screen, "#detail-facts")
