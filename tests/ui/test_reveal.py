"""The reveal modal: the early-close confirmation, the secret dropped on close (app.clipboard
included), the SSH copy path, and no screenshot command while the secret is on screen."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import Static

from changeup_tui.core.models import Environment
from changeup_tui.tui.clipboard import SENT_OSC52
from changeup_tui.tui.modals.confirm_close import QUESTION, ConfirmCloseModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from tests.helpers.pilot import SIZE, notifications, settle, started, wait_for

from .ui_helpers import open_reveal


async def test_escape_before_copying_asks_and_go_back_keeps_the_secret(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        secret = await open_reveal(pilot, "Early close")
        reveal = app.screen
        client_id = reveal.key.client_id
        assert (await app.service.get(client_id)).never_confirmed  # a hang-up now would show it
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        assert str(app.screen.query_one("#confirm-question", Static).content) == QUESTION
        await pilot.press("escape")  # Go back
        await wait_for(pilot, lambda: app.screen is reveal)
        assert str(reveal.query_one("#reveal-secret", Static).content) == secret

        await pilot.click("#done")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        await pilot.press("tab", "enter")  # Close anyway
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert reveal._secret is None
        assert (await app.service.get(client_id)).secret_confirmed  # the question was answered


async def test_ssh_copy_uses_osc52_and_the_secret_leaves_app_clipboard(make_app, fake_clipboard):
    app = make_app(environ={"SSH_CONNECTION": "203.0.113.7 50000 10.0.0.2 22"})
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        secret = await open_reveal(pilot, "Over SSH")
        await pilot.press("enter")  # Copy Secret Key
        await wait_for(pilot, lambda: app.clipboard == secret)
        assert SENT_OSC52 in notifications(app)
        assert fake_clipboard.copies == []  # the server's clipboard is not the operator's
        await pilot.press("escape")  # copied: closes without asking
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert app.clipboard == ""


async def test_copy_client_id_keeps_app_clipboard(make_app):
    app = make_app(environ={"SSH_TTY": "/dev/pts/1"})
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await open_reveal(pilot, "Client ID only")
        client_id = app.screen.key.client_id
        await pilot.press("i")
        await wait_for(pilot, lambda: app.clipboard == client_id)
        await pilot.press("escape")  # the secret was not copied: asks
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert app.clipboard == client_id  # not a secret: left alone


async def test_no_screenshot_and_no_environment_switch_while_the_secret_shows(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" in titles
        await open_reveal(pilot, "No screenshots")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles
        assert app.check_action("screenshot", ()) is False
        await settle(pilot, pilot.press("e", "p"))
        assert app.environment is Environment.TEST
        assert isinstance(app.screen, RevealModal)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.secret_copied)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert "Screenshot" in [c.title for c in app.get_system_commands(app.screen)]


async def test_ctrl_q_with_an_uncopied_secret_asks_and_quits_only_on_yes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        secret = await open_reveal(pilot, "Quit asks")
        reveal = app.screen
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        assert str(app.screen.query_one("#confirm-question", Static).content) == QUESTION
        await pilot.press("ctrl+q")  # asked again while the question shows: still one question
        await pilot.press("escape")  # Go back
        await wait_for(pilot, lambda: app.screen is reveal)
        assert app.return_code is None
        assert str(reveal.query_one("#reveal-secret", Static).content) == secret

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        await pilot.press("tab", "enter")  # Close anyway
        await wait_for(pilot, lambda: app.return_code == 0)
        assert reveal._secret is None


async def test_palette_quit_with_an_uncopied_secret_asks_first(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await open_reveal(pilot, "Palette quit")
        reveal = app.screen
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"quit")
        await wait_for(pilot, lambda: "Quit" in palette_options(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCloseModal))
        assert app.return_code is None
        await pilot.press("enter")  # Go back, the default
        await wait_for(pilot, lambda: app.screen is reveal)
        assert app.return_code is None
        assert isinstance(app.screen, RevealModal)


async def test_ctrl_q_after_copying_quits_at_once(make_app, fake_clipboard):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await open_reveal(pilot, "Copied then quit")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.secret_copied)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app.return_code == 0)


def palette_options(app) -> list[str]:
    options = app.screen.query_one(CommandList)
    prompts = (str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
    return [prompt.split("\n")[0] for prompt in prompts]  # the title, without its help line


async def test_a_rolled_key_is_marked_while_its_secret_shows_and_not_once_copied(
    make_app, service, fake_clipboard
):
    """The list beneath the reveal modal, read again meanwhile (another process's change), shows
    the rolled key as "secret never confirmed"; once the secret is copied and the modal closed,
    the list no longer does."""
    from changeup_tui.tui.modals.grace_picker import GracePicker

    from .ui_helpers import cell, keys_table

    made = await service.create("Rolled here", Environment.TEST)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        page = await started(pilot)
        keys_table(app).focus()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, GracePicker))
        await pilot.press("enter")  # the default grace period
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal))
        await service.create("Made elsewhere", Environment.TEST)  # the page reads its rows again
        await wait_for(pilot, lambda: page.total == 2)

        def status_of_rolled() -> str:
            table = page.table
            row = table.get_row_index(made.key.client_id)
            return str(table.get_row_at(row)[table.get_column_index("status")])

        await wait_for(pilot, lambda: status_of_rolled() == "secret never confirmed")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.secret_copied)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await wait_for(pilot, lambda: status_of_rolled() == "active")
        assert not (await service.get(made.key.client_id)).never_confirmed
        assert cell(app, 0, "name") == "Made elsewhere"


async def test_closing_the_modal_confirms_the_secret_it_showed_not_a_later_one_with_its_hint(
    db_path, store, clock, fake_clipboard
):
    """The modal shows a new key's secret; meanwhile another process rolls the key and its new
    secret (same hint) is never delivered, so the key stays "secret never confirmed". Copying
    and closing the modal confirms the secret it showed, which is no longer the newest: the
    mark stays."""
    from changeup_tui.core.models import Actor
    from changeup_tui.core.service import KeyService
    from tests.helpers.apps import build_test_app
    from tests.helpers.keys import ScriptedKeys, shared_hint_secrets

    first, second = shared_hint_secrets()
    app = build_test_app(db_path, clipboard=fake_clipboard, clock=clock, keygen=ScriptedKeys([first]))
    elsewhere = KeyService(store, clock=clock, keygen=ScriptedKeys([second], seed=99),
                           actor=Actor("other", "cli"))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        shown = await open_reveal(pilot, "Shared hint")
        assert shown == first.reveal()
        reveal = app.screen
        assert isinstance(reveal, RevealModal)
        client_id = reveal.key.client_id
        rolled = await elsewhere.roll(client_id, confirmed=False)
        assert rolled.key.hint == reveal.key.hint and rolled.secret_id != reveal.secret_id
        await pilot.press("s")
        await wait_for(pilot, lambda: reveal.secret_copied)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        await app.workers.wait_for_complete()
        assert (await elsewhere.get(client_id)).never_confirmed
