"""The bytes the operator's terminal receives from the real app in a pseudo-terminal: a Client
ID and a Secret hint holding escape sequences, a name that is not UTF-8 (SQLite's "could not
decode" error quoted its bytes), and the start-up error printed on stderr. None of the injected
sequences gets through; each shows made visible."""

from __future__ import annotations

import pytest

from .damaged import NOT_UTF8_NAME, damage
from .hostile import insert_hostile

pytestmark = pytest.mark.slow

TITLE = "\x1b]0;pwned"
CLIPBOARD = "\x1b]52;"


def assert_inert(output: str) -> None:
    found = [seq for seq in (TITLE, CLIPBOARD, "\x1b]0;title", "\udcff") if seq in output]
    assert not found, f"injected sequences reached the terminal: {found!r}"
    assert "Traceback" not in output


def test_client_id_hint_and_a_name_not_in_utf8_reach_the_terminal_inert(db_path):
    from .pty_app import PtyApp

    _, (hostile_id, _), (bad_id, _) = insert_hostile(
        db_path, ["fine", "hostile columns", "not utf8"], audit=False
    )
    damage(db_path, hostile_id, "client_id = 'cu_test_ci_' || char(27) || ']0;pwned' || char(7), "
                                "hint = char(27) || ']52'")
    damage(db_path, bad_id, f"name = {NOT_UTF8_NAME}")
    app = PtyApp.module("--db", str(db_path))
    try:
        screen = app.wait_for(lambda t: "fine" in t and "damaged" in t)
        assert r"cu_test_ci_\x1b]0;pwned\x07" in screen, screen
        assert r"cu_test_sk_…\x1b]52" in screen, screen
        assert r"\x1b]0;pwned\x07_name" in screen, screen  # the name, read with U+FFFD
        assert "decode" not in screen.lower()
        app.press("down", "down", "up", pause=0.1)
        assert_inert(app.output())
        code = app.quit()
    finally:
        app.kill()
    assert code == 0, (code, app.output()[-3000:])
    assert_inert(app.output())


def test_the_start_up_error_on_stderr_is_made_visible(tmp_path):
    """The TUI cannot open the database: its one line on stderr quotes the path, whose folder
    name another user chose."""
    from .pty_app import PtyApp

    folder = tmp_path / "x\x1b]0;title\x07y"
    folder.mkdir()
    db = folder / "changeup.db"
    db.write_bytes(b"not a database, just bytes " * 10)
    app = PtyApp.module("--db", str(db))
    try:
        code = app.wait_exit(timeout=30)
    finally:
        app.kill()
    output = app.output()
    assert code == 2, (code, output[-2000:])
    assert r"x\x1b]0;title\x07y" in output, output[-2000:]
    assert_inert(output)
