"""Faults inside the TUI (Pilot): the database locked by another process past the timeout while
a key is created (a clear message, the name kept, the action retried, no crash); a read-only
database (opens, says READ-ONLY, the create action is disabled everywhere, nothing written); the
clipboard cleared after N seconds when it still holds the secret."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store import sqlite as sqlite_store
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.clipboard import CLEARED, LEFT_ALONE
from tests.helpers.pilot import SIZE, notifications, search_palette, settle, started, wait_for

from .support import client_ids, integrity, no_orphans

pytestmark = pytest.mark.slow

@contextlib.contextmanager
def write_lock(db_path):
    """Another process's write transaction (a second connection: SQLite locks the same way)."""
    blocker = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def reason_text(modal) -> str:
    from textual.widgets import Static

    return str(modal.query_one("#name-reason", Static).content)


async def test_locked_database_during_create_says_so_and_retry_works(make_app, db_path, monkeypatch):
    from textual.widgets import Button, Input

    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal

    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        before = client_ids(db_path)
        with write_lock(db_path):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal), what="name modal")
            modal = app.screen
            await pilot.press(*"locked out")
            await wait_for(pilot, lambda: not modal.query_one("#create", Button).disabled,
                           what="the name accepted")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "locked" in reason_text(modal), limit=15,
                           what="the locked message")
            # A clear message, the modal still open with the name kept, nothing created.
            assert app.screen is modal
            assert "another process" in reason_text(modal)
            assert modal.query_one(Input).value == "locked out"
            assert not modal.busy
            assert client_ids(db_path) == before
            # While the lock holds, a second try fails the same clean way.
            await settle(pilot, pilot.press("enter"), limit=15)  # the second create has ended
            await wait_for(pilot, lambda: not modal.busy and "locked" in reason_text(modal),
                           what="the second locked message")
        # The lock is gone: the same action, retried (Enter, the focus is back in the field),
        # creates the key.
        assert isinstance(app.focused, Input)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RevealModal), limit=15,
                       what="the reveal modal after the retry")
        created = app.screen.key
        assert created.name == "locked out"
    assert client_ids(db_path) == before | {created.client_id}
    assert integrity(db_path) == "ok" and no_orphans(db_path)


async def test_locked_database_create_button_stays_usable_for_a_retry(make_app, db_path, monkeypatch):
    from textual.widgets import Button

    from changeup_tui.tui.modals.name_modal import NameModal

    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        with write_lock(db_path):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal))
            modal = app.screen
            await pilot.press(*"button retry")
            await wait_for(pilot, lambda: not modal.query_one("#create", Button).disabled)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "locked" in reason_text(modal), limit=15)
        assert not modal.query_one("#create", Button).disabled


async def test_locked_database_keeps_focus_in_the_name_field(make_app, db_path, monkeypatch):
    from textual.widgets import Button, Input

    from changeup_tui.tui.modals.name_modal import NameModal

    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        with write_lock(db_path):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal))
            modal = app.screen
            await pilot.press(*"focus retry")
            await wait_for(pilot, lambda: not modal.query_one("#create", Button).disabled)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "locked" in reason_text(modal), limit=15)
        assert isinstance(app.focused, Input)


def _chattr(flag: str, path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


async def _seed_one_key(db_path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    service = KeyService(store, keygen=SeededKeyGenerator(3, valid_checksum=True),
                         actor=Actor("tester", "local"))
    await service.create("Existing", Environment.TEST)
    await service.account()
    await store.close()


async def palette_titles(pilot, query: str) -> list[str]:
    from textual.command import CommandPalette

    app = pilot.app
    titles = await search_palette(pilot, query)
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
    return titles


async def test_read_only_database_opens_says_so_and_disables_create(make_app, db_path):
    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.widgets.header import AppHeader

    await _seed_one_key(db_path)
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    if not _chattr("+i", db_path):
        pytest.skip("needs root and chattr +i to make the file read-only for root")
    try:
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await started(pilot)
            assert app.read_only
            assert screen.query_one(AppHeader).query_one("#header-read-only").display
            assert screen.total == 1
            # Disabled everywhere: the button, the binding, the palette, the action itself.
            assert screen.query_one("#create-key").disabled
            assert screen.check_action("create_key", ()) is None
            await settle(pilot, pilot.press("n"))
            assert app.screen is screen
            await settle(pilot, pilot.click("#create-key"))
            assert app.screen is screen
            await settle(pilot, app.run_action("create_key"))
            assert not isinstance(app.screen, NameModal)
            titles = await palette_titles(pilot, "create")
            assert not any("Create" in t for t in titles), titles
            # Reading and moving around still work.
            await pilot.press("e")
            await wait_for(pilot, lambda: app.environment is Environment.LIVE)
            await app.workers.wait_for_complete()
        assert app.return_code in (0, None)
    finally:
        _chattr("-i", db_path)
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest


async def test_palette_offers_create_on_a_writable_database(make_app):
    """The other side of the read-only palette check: the search does find the command."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        titles = await palette_titles(pilot, "create")
    assert any("Create New API Key" in t for t in titles), titles


async def test_clipboard_cleared_after_n_seconds_only_if_it_still_holds_the_secret(
    make_app, fake_clipboard
):
    from textual.widgets import Input

    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal

    clipboard = fake_clipboard
    app = make_app(clipboard_clear_seconds=1)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        for round_, replace in enumerate((False, True)):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal))
            assert isinstance(app.focused, Input)
            await pilot.press(*f"clear {round_}", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RevealModal), limit=15)
            secret = str(app.screen.query_one("#reveal-secret").content)
            await pilot.press("s")
            await wait_for(pilot, lambda s=secret: clipboard.text == s, what="the copy")
            if replace:
                clipboard.copy("something the operator copied since")
            # the delay is up when the app says what it did with the clipboard
            said = LEFT_ALONE if replace else CLEARED
            await wait_for(pilot, lambda said=said: any(said in m for m in notifications(app)),
                           limit=15,
                           what="the clipboard cleared or left alone")
            if replace:
                assert clipboard.text == "something the operator copied since"
            else:
                assert clipboard.text == "", "the secret is still in the clipboard"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, RevealModal))
