"""Names in the TUI's modals: a pasted Secret Key, a name that renders blank and a look-alike of an
existing name are refused beside the field, with the reason, and nothing is written."""

from __future__ import annotations

from textual.widgets import Button, Input, Static

from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.rename_modal import RenameModal
from tests.helpers.pilot import SIZE, settle, started, wait_for
from tests.ui.ui_helpers import keys_table, open_name_modal, seed_keys

SECRET_LIKE = "cu_live_sk_" + "Qx7" * 16 + "z"


async def test_name_modal_refuses_a_pasted_secret_blank_and_look_alike_names(make_app, db_path):
    await seed_keys(db_path, "billing")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        modal = await open_name_modal(pilot)
        reason = modal.query_one("#name-reason", Static)
        create = modal.query_one("#create", Button)
        field = modal.query_one(Input)
        for value, why in (
            (SECRET_LIKE, "looks like a Secret Key"),
            (f"prod {SECRET_LIKE[:25]}", "looks like a Secret Key"),
            ("\u3164", "draw nothing"),
            ("a" + "\u0301" * 20, "combining marks"),
            ("b\u0456lling", "already exists"),  # Cyrillic і: a look-alike of "billing"
        ):
            field.value = value
            await wait_for(pilot, lambda why=why: why in str(reason.content))
            assert create.disabled
            assert SECRET_LIKE[11:30] not in str(reason.content)
        # Enter on a refused name explains, never creates
        await settle(pilot, pilot.press("enter"))
        assert isinstance(app.screen, NameModal)
        assert (await app.service.list()).keys[0].name == "billing"
        assert len((await app.service.list()).keys) == 1


async def test_rename_modal_refuses_a_pasted_secret(make_app, db_path):
    await seed_keys(db_path, "billing")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: table.row_count == 1)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameModal))
        modal = app.screen
        modal.query_one("#rename-input", Input).value = SECRET_LIKE
        reason = modal.query_one("#rename-reason", Static)
        await wait_for(pilot, lambda: "looks like a Secret Key" in str(reason.content))
        assert modal.query_one("#rename-ok", Button).disabled
        await settle(pilot, pilot.press("enter"))
        assert app.screen is modal
        assert (await app.service.list()).keys[0].name == "billing"
        audit = await app.service.audit()
        assert not any(SECRET_LIKE[11:30] in (e.detail or "") for e in audit)
