"""The real app, in a pseudo-terminal, over a database full of hostile names (escape sequences,
C1 controls, markup, bidi and zero-width characters, a 10,000-character name): every byte it
writes is kept, and none of the injected sequences reaches the terminal; the names show escaped
on the screen (mirrored with pyte), in the API Key table, the Profile Menu and the Activity Log;
the app quits cleanly."""

from __future__ import annotations

import pytest

from .hostile import FORBIDDEN_STR, insert_hostile
from .support import raw_db

pytestmark = pytest.mark.slow

HOSTILE_ACCOUNT = ("\x1b]52;c;cHduZWQ=\x07boss", "\x1b]0;pwned\x07@example.com", "\u202eorg")

SHOWN_IN_TABLE = [
    r"title \x1b]0;pwned\x07 end",
    r"clip \x1b]52;c;cHduZWQ=\x07 end",
    r"clear \x1b[2J\x1b[H end",
    r"c1 \x9b2J end",
    r"bidi \u202eevil.exe\u202c end",
    r"zero\u200bwidth",
    r"carriage\x0dreturn",
    "[@click=app.quit]x[/]",
    "markup [/] end",
    "[bold red]loud[/bold red]",
]


def assert_nothing_injected(output: str) -> None:
    found = [seq for seq in FORBIDDEN_STR if seq in output]
    found += [label for label, seq in (("8-bit 0x9b byte", "\udc9b"), ("DCS", "\x1bP"),
                                       ("OSC 52", "\x1b]52;")) if seq in output]
    assert not found, f"injected sequences reached the terminal: {found!r}"
    assert "Traceback" not in output


@pytest.fixture
def hostile_db(db_path):
    insert_hostile(db_path)
    with raw_db(db_path) as db, db:
        db.execute(
            "INSERT INTO account (id, display_name, email, organisation, updated_at) "
            "VALUES (1, ?, ?, ?, '2026-03-14T09:26:53.000000Z')",
            HOSTILE_ACCOUNT,
        )
    return db_path


def test_hostile_names_reach_the_terminal_inert(hostile_db):
    from .pty_app import PtyApp

    app = PtyApp.module("--db", str(hostile_db))
    try:
        # The API Key table.
        screen = app.wait_for(lambda t: "pwned" in t and "zero" in t)
        for shown in SHOWN_IN_TABLE:
            assert shown in screen, (shown, screen)
        assert "LLLLLLLLLLLLLLLLLLLL" in screen  # the long name, cut to its column
        # Walk the rows (highlighting each one) and back.
        app.press(*["down"] * 20, pause=0.05)
        app.press(*["up"] * 20, pause=0.05)
        # The header's account name, then the Profile Menu that shows the account.
        header = app.text().splitlines()[0]
        assert r"\x1b]52;c;cHdu" in header, header
        app.press("p")
        app.wait_for("Account Settings")
        app.pump(0.3)
        app.press("escape")
        # The Activity Log: hostile actor, origin and detail.
        app.press("escape", "down", "enter", pause=0.4)
        log = app.wait_for("Activity Log")
        app.wait_for(lambda t: r"\x1b]52;c;" in t and "key.created" in t)
        log = app.text()
        assert r"title \x1b]0;pwned\x07 end" in log, log
        assert r"bidi \u202eevil.exe\u202c end" in log, log
        # The command palette, searched with hostile-looking text.
        app.press("ctrl+p", pause=0.5)
        app.type("[@click=app.quit]")
        app.press("escape", pause=0.4)
        assert_nothing_injected(app.output())
        code = app.quit()
    finally:
        app.kill()
    assert code == 0, (code, app.output()[-3000:])
    assert_nothing_injected(app.output())


def test_hostile_names_in_live_environment_and_a_new_key_beside_them(hostile_db):
    """Switch to Live (empty), back to Test, and create a key while hostile rows are listed: the
    new key's reveal and notification render without anything leaking from the other rows."""
    from .pty_app import PtyApp

    app = PtyApp.module("--db", str(hostile_db))
    try:
        app.wait_for("pwned")
        app.press("e", pause=0.5)
        app.wait_for("Live API Keys")
        app.press("e", pause=0.5)
        app.wait_for("pwned")
        app.press("n", pause=0.5)
        app.wait_for("Create New API Key")
        app.type("beside the hostile rows")
        app.press("enter")
        app.wait_for("Copy your Secret Key", timeout=30)
        app.press("escape", pause=0.5)  # asks: the secret was not copied
        app.wait_for("never be shown again")
        app.press("tab", "enter", pause=0.4)  # "Go back" has the focus; Tab to "Close anyway"
        app.wait_for(lambda t: "beside the hostile rows" in t and "Copy your Secret" not in t,
                     timeout=15)
        assert_nothing_injected(app.output())
        code = app.quit()
    finally:
        app.kill()
    assert code == 0, (code, app.output()[-3000:])
    assert_nothing_injected(app.output())
