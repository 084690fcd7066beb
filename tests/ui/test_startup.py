"""Starting up: a database that cannot be opened ends the app with one line on stderr and exit
code 2; a read-only one opens, says so in the header, and refuses writes. Keys typed while the app
starts go to the page and do what they do there: a key pressed as the page appears reaches the
page's bindings; `/` then typing before the first page shows types into the filter; a screen asked for
during start-up ends on top of the page, styled."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from textual import events
from textual.widgets import Input

from changeup_tui.core.models import Environment
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.widgets.filter_input import FilterInput
from changeup_tui.tui.widgets.header import AppHeader
from changeup_tui.tui.widgets.keys_table import KeysTable
from tests.helpers.pilot import as_soon_as, settle

from .ui_helpers import SIZE, seed_keys, started, wait_for

CLI = Path(sys.executable).with_name("changeup-tui")
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[=>()][0-9A-Za-z]?)")


def run_in_terminal(*args: str) -> tuple[int, list[str]]:
    child = pexpect.spawn(str(CLI), list(args), dimensions=(35, 120), timeout=30,
                          env={**os.environ, "TERM": "xterm-256color"})
    child.expect(pexpect.EOF)
    child.close()
    text = ANSI.sub("", child.before.decode("utf-8", "replace"))
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    return child.exitstatus, lines


def test_not_a_database_exits_2_with_one_line(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(os.urandom(4096))
    before = bogus.read_bytes()
    code, lines = run_in_terminal("--db", str(bogus))
    assert code == 2
    errors = [line for line in lines if "changeup-tui:" in line]
    assert errors == [f"changeup-tui: {bogus} is not a changeup-tui database (or it is damaged)"]
    assert not any("Traceback" in line for line in lines)
    assert bogus.read_bytes() == before


def test_folder_path_exits_2_with_one_line(tmp_path):
    code, lines = run_in_terminal("--db", str(tmp_path))
    assert code == 2
    assert [line for line in lines if "changeup-tui:" in line] == [
        f"changeup-tui: {tmp_path} is a folder, not a database file"
    ]


def _chattr(flag: str, path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


async def test_read_only_database_opens_and_refuses_writes(make_app, db_path):
    await seed_keys(db_path, "Existing")
    if not _chattr("+i", db_path):
        pytest.skip("needs root and chattr +i to make the file read-only for root")
    try:
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await started(pilot)
            assert app.read_only
            assert app.sub_title == "read-only"
            assert screen.query_one(AppHeader).query_one("#header-read-only").display
            assert screen.total == 1
            assert screen.query_one("#create-key").disabled
            assert screen.check_action("create_key", ()) is None
            await settle(pilot, pilot.press("n"))
            assert app.screen is screen
            await pilot.press("e")  # viewing Live is fine; it is just not remembered
            await wait_for(pilot, lambda: app.environment is Environment.LIVE)
            await app.workers.wait_for_complete()
    finally:
        _chattr("-i", db_path)


async def test_a_key_pressed_as_the_page_appears_goes_to_the_page(make_app):
    """The table takes the focus once its first page shows; a key pressed before that reaches
    the page's bindings and never a hidden field (the filter)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await as_soon_as(lambda: isinstance(app.screen, ApiKeysScreen))  # press at once
        page = app.screen
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NameModal)
                       and isinstance(app.focused, Input))
        assert page.query_one(FilterInput).value == ""
        assert not page.query_one(FilterInput).display


async def test_the_filter_keeps_the_focus_it_took_before_the_first_page_showed(make_app, db_path):
    """`/` pressed as the page appears opens the filter; the table, shown with its first page
    just after, must not take the focus back, or the search typed next would run the page's
    keys (d, e...)."""
    await seed_keys(db_path, "Billing")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await as_soon_as(lambda: isinstance(app.screen, ApiKeysScreen))  # press at once
        page = app.screen
        app.post_message(events.Key("slash", "/"))
        await wait_for(pilot, lambda: page.query(KeysTable) and page.total is not None)
        await pilot.press(*"dev")
        field = page.query_one(FilterInput)
        await wait_for(pilot, lambda: field.value == "dev")
        assert app.focused is field
        assert app.environment is Environment.TEST
        (key,) = (await app.service.list(Environment.TEST)).keys
        assert key.status.value == "active"


OPENS = {"question_mark": "HelpScreen", "p": "ProfileMenu", "ctrl+p": "CommandPalette"}


@pytest.mark.parametrize("key", [("question_mark", "?"), ("p", "p"), ("ctrl+p", None)])
@pytest.mark.parametrize("when", ["database opening", "page composed, not drawn"])
async def test_a_screen_asked_for_during_start_up_opens_on_top_with_its_styles(make_app, key, when):
    """Keys typed during start-up are kept: the screen they open ends on top of the page, never
    under it, and styled (its CSS_PATH read when it was pushed)."""
    app = make_app()
    opening = app.service.store.open

    async def open_with_keys_typed():
        if when == "database opening":
            app.post_message(events.Key(*key))
        await opening()

    app.service.store.open = open_with_keys_typed
    async with app.run_test(size=SIZE) as pilot:
        if when == "page composed, not drawn":
            # The page is the app's first screen, there before its first frame.
            await as_soon_as(lambda: isinstance(app.screen, ApiKeysScreen))
            app.post_message(events.Key(*key))
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
        kinds = [type(screen).__name__ for screen in app.screen_stack]
        assert kinds == ["ApiKeysScreen", OPENS[key[0]]], kinds
        assert all(app.stylesheet.has_source(str(path), "") for path in app.screen.css_path)
        if key[0] == "question_mark":
            assert app.screen.css_path, "HelpScreen names its styles"
