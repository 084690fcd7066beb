"""Text from the database is shown as plain text: markup is not parsed, control characters are
made visible; and the styles folder resolves in a checkout and in a built wheel."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Button

from changeup_tui.core.models import Account, ApiKey, AuditEvent, Environment
from changeup_tui.core.names import name_key
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FIXED_NOW, SeededKeyGenerator
from changeup_tui.tui import paths
from changeup_tui.tui.widgets.header import AppHeader
from tests.helpers.pilot import SIZE, started

from .ui_helpers import keys_table

MARKUP = "[bold red]x[/] [link=a]y[/link]"
ESCAPE = "bad\x1b]52;c;aGk=\x07name\u202e"  # OSC 52 clipboard write + a right-to-left override


async def test_names_and_profile_are_plain_text(make_app, db_path):
    """Rows written straight into the store (as another program could): the TUI shows them
    literally, escape sequences made visible."""
    store = SQLiteStore(db_path)
    await store.open()
    keygen = SeededKeyGenerator(5, valid_checksum=True)
    try:
        for i, name in enumerate((MARKUP, ESCAPE)):
            key = ApiKey(client_id=keygen.client_id(Environment.TEST),
                         environment=Environment.TEST, name=name,
                         created_at=FIXED_NOW - timedelta(minutes=i), created_by="x", hint="abcd")
            event = AuditEvent(at=key.created_at, actor="x", origin="local", action="key.created",
                               environment=Environment.TEST, client_id=key.client_id)
            await store.insert_key(key, name_key(name), "$argon2id$placeholder", event)
        await store.save_account(Account("[b]Eve[/b]\x1b[2J", "e@example.com", ""),
                                 AuditEvent(at=FIXED_NOW, actor="x", origin="local",
                                            action="account.updated"))
    finally:
        await store.close()

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        table = keys_table(app)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names[0] == MARKUP
        assert names[1] == "bad\\x1b]52;c;aGk=\\x07name\\u202e"
        label = str(screen.query_one(AppHeader).query_one("#profile-button", Button).label)
        assert label.startswith("[b]Eve[/b]\\x1b[2J")


def test_styles_folder_resolves(tmp_path, monkeypatch):
    assert paths.style("api_keys.tcss").is_file()  # the checkout's styles/
    bundled = tmp_path / "changeup_tui" / "_styles"
    bundled.mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", tmp_path / "changeup_tui")
    assert paths.styles_dir() == bundled  # a wheel's changeup_tui/_styles wins
