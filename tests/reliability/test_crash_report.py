"""The crash report printed when the app dies with the reveal modal open never shows the Secret
Key. Textual prints a Rich traceback with the local variables of every frame: the secret must not
be among them, in any form. And a clipboard that raises does not crash the app at all: the
reveal modal says "Could not copy…", and the frames that called the clipboard hold the secret
only in its redacting wrapper.

The app runs in a pseudo-terminal through tests/reliability/tui_launcher.py (the real factory,
a seeded key generator, so the secret is known here without the app telling us)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator

pytestmark = pytest.mark.slow

LAUNCHER = str(Path(__file__).with_name("tui_launcher.py"))
SEED = 4242
LEAVE_ALT_SCREEN = "\x1b[?1049l"


def expected_secret() -> str:
    # create() asks the generator for the secret first, then the Client ID.
    return SeededKeyGenerator(SEED, valid_checksum=True).secret(Environment.TEST).reveal()


def pieces(secret: str) -> list[str]:
    body = secret[len("cu_test_sk_"):]
    return [secret, body, body[:16], body[16:32], body[32:48]]


def open_reveal(db_path, mode: str, *extra: str):
    """The app in a pty, a key created, the reveal modal on screen. Returns (app, the screen)."""
    from .pty_app import PtyApp

    app = PtyApp([sys.executable, LAUNCHER, str(db_path), str(SEED), mode, *extra])
    try:
        app.wait_for("API Keys")
        app.press("n", pause=0.4)
        app.wait_for("Create New API Key")
        app.type("crash report")
        app.press("enter")
        shown = app.wait_for("Copy your Secret Key", timeout=30)
    except BaseException:
        app.kill()
        raise
    return app, shown


def after_alt_screen(output: str) -> str:
    return output.rsplit(LEAVE_ALT_SCREEN, 1)[1] if LEAVE_ALT_SCREEN in output else output


def test_crash_report_with_reveal_modal_open_shows_no_secret(db_path):
    """A timer raises while the reveal modal is open: the app dies and Textual prints its crash
    report (a traceback with every frame's locals). No piece of the secret is in it."""
    secret = expected_secret()
    app, shown = open_reveal(db_path, "timer")
    try:
        code = app.wait_exit(timeout=20)
    finally:
        app.kill()
    report = after_alt_screen(app.output())
    # The test is not blind: the modal really showed this secret, and the app really crashed
    # and printed its report.
    assert secret in shown, "the seeded secret was not the one on screen"
    assert code != 0
    assert "forced crash with the reveal modal open" in report, report[-3000:]
    assert "locals" in report.lower() or "─" in report, report[-3000:]
    leaked = [p for p in pieces(secret) if p in report]
    assert not leaked, (
        f"{len(leaked)} pieces of the secret in the crash report:\n{report[-6000:]}"
    )


def test_clipboard_exception_with_reveal_modal_open_is_caught_and_leaks_nothing(db_path, tmp_path):
    """The clipboard raises an unexpected exception when Copy Secret Key is pressed: the app
    stays up and says "Could not copy…"; the secret reaches the terminal only as the modal's
    Secret Key line (not in a notification, an error or a crash report, not after the app
    left); and no frame between the modal and the clipboard holds the plain secret in a local
    variable (only the redacting Secret wrapper), so a crash there could not print it."""
    from changeup_tui.tui.clipboard import NOT_COPIED

    secret = expected_secret()
    frames_path = tmp_path / "frames.json"
    app, shown = open_reveal(db_path, "copy", str(frames_path))
    try:
        assert secret in shown, "the seeded secret was not the one on screen"
        app.press("s", pause=0.3)
        screen = app.wait_for("Could not copy", timeout=15)
        # Still up, the modal still open and the secret still there to select by hand.
        assert app.child.isalive()
        assert "Copy your Secret Key" in screen
        lines_with_secret = [line for line in screen.splitlines() if secret in line]
        assert len(lines_with_secret) == 1, screen
        assert "Could not copy" not in lines_with_secret[0]
        assert not [p for p in pieces(secret)[1:] if p in screen.replace(secret, "")], screen
        # Closing without a copy asks first; then the app quits cleanly.
        app.press("escape", pause=0.4)
        app.wait_for("Close anyway?")
        app.press("tab", "enter", pause=0.4)
        app.wait_for(lambda t: "Copy your Secret Key" not in t and "API Keys" in t)
        code = app.quit()
    finally:
        app.kill()
    assert code == 0
    output = app.output()
    assert NOT_COPIED.split(":")[0] in output
    # Every piece of the secret in the raw bytes is part of the whole secret as the modal drew
    # it, and nothing of it follows the app's exit from the alternate screen.
    body = secret[len("cu_test_sk_"):]
    assert output.count(secret) >= 1
    for piece in pieces(secret)[1:]:
        assert output.count(piece) == output.count(secret), piece
    assert output.count(body) == output.count(secret)
    assert not [p for p in pieces(secret) if p in after_alt_screen(output)]
    assert "Traceback" not in output and "forced crash" not in output
    # The frames that called the clipboard: the modal's worker is among them, holds the secret
    # only in its Secret wrapper, and no frame shows the secret, as Rich would print its locals.
    frames = json.loads(frames_path.read_text())
    copy_frames = [f for f in frames if f["function"] == "RevealModal._copy"]
    assert copy_frames, [f["function"] for f in frames]
    assert copy_frames[0]["secret_wrappers"], copy_frames[0]
    leaking = [(f["function"], f["shows_secret"]) for f in frames if f["shows_secret"]]
    assert not leaking, leaking
