"""Clearing a copied Secret Key from the clipboard after N seconds (`--clear-clipboard SECONDS`,
or CHANGEUP_TUI_CLEAR_CLIPBOARD), proven on the real command line in a pseudo-terminal:

- a local clipboard (a fake `xclip` first on PATH, reached through pyperclip) is emptied when it
  still holds the secret, and left alone when something else was copied since; the message says
  which;
- over SSH the secret went to the terminal by OSC 52, which cannot be read back: an empty OSC 52
  copy is sent, and the message says so (and that it may empty something copied since);
- quitting before the delay clears at once, on the same terms;
- a bad value is a one-line usage error, exit 2.

The Copier's own decisions are tested directly too (fakes, no terminal)."""

from __future__ import annotations

import base64
import re
import time

import pytest

from tests.helpers.processes import run_cli

from .test_clipboard_argv import FAKE_XCLIP, fake_bin

pytestmark = pytest.mark.slow

SECRET_RE = re.compile(r"cu_test_sk_[0-9A-Za-z]{49}")
SSH = {"SSH_CONNECTION": "203.0.113.7 50522 10.0.0.2 22"}
EMPTY_OSC52 = "\x1b]52;c;\x07"


def osc52(text: str) -> str:
    return "\x1b]52;c;" + base64.b64encode(text.encode()).decode() + "\x07"


def start_and_copy(args: list[str], env: dict[str, str]):
    """The real CLI in a pty: create a key, press Copy Secret Key. Returns (app, secret)."""
    from .pty_app import PtyApp

    app = PtyApp.module(*args, env=env)
    try:
        app.wait_for("API Keys")
        app.press("n", pause=0.4)
        app.wait_for("Create New API Key")
        app.type("clear me")
        app.press("enter")
        screen = app.wait_for(lambda t: SECRET_RE.search(t) is not None, timeout=30)
        secret = SECRET_RE.search(screen).group(0)
        app.press("s", pause=0.3)
        app.wait_for(lambda t: "Copied to clipboard" in t or "OSC 52" in t, timeout=15)
    except BaseException:
        app.kill()
        raise
    return app, secret


def local_env(tmp_path, **extra: str) -> dict[str, str]:
    folder = fake_bin(tmp_path, {"xclip": FAKE_XCLIP})
    return {
        "PATH": f"{folder}:/usr/bin:/bin",
        "DISPLAY": ":99",
        "WAYLAND_DISPLAY": "",
        "FAKE_LOG": str(tmp_path / "argv.log"),
        "FAKE_STORE": str(tmp_path / "clipboard.txt"),
        **extra,
    }


def test_local_clipboard_cleared_after_the_delay(tmp_path, db_path):
    store = tmp_path / "clipboard.txt"
    app, secret = start_and_copy(["--db", str(db_path), "--clear-clipboard", "1"],
                                 local_env(tmp_path))
    try:
        assert store.read_text() == secret  # copied, through the fake xclip
        assert "it will be cleared in 1 s" in app.text()
        app.wait_for("Clipboard cleared", timeout=10)
        assert store.read_text() == ""
        app.press("escape", pause=0.4)
        code = app.quit()
    finally:
        app.kill()
    assert code == 0
    log = (tmp_path / "argv.log").read_text()
    assert secret not in log and secret[11:40] not in log  # never in argv, clearing included


def test_local_clipboard_holding_something_else_is_left_alone(tmp_path, db_path):
    store = tmp_path / "clipboard.txt"
    env = local_env(tmp_path, CHANGEUP_TUI_CLEAR_CLIPBOARD="2")  # the environment variable
    app, secret = start_and_copy(["--db", str(db_path)], env)
    try:
        assert store.read_text() == secret
        store.write_text("the operator copied this since")
        app.wait_for("Clipboard left alone", timeout=10)
        assert store.read_text() == "the operator copied this since"
        code = app.quit()
    finally:
        app.kill()
    assert code == 0


def test_osc52_clipboard_gets_an_empty_osc52_copy_and_an_honest_message(db_path):
    app, secret = start_and_copy(["--db", str(db_path), "--clear-clipboard", "1"], SSH)
    try:
        output = app.output()
        assert osc52(secret) in output and EMPTY_OSC52 not in output
        app.wait_for("empty its clipboard (OSC 52)", timeout=10)
        output = app.output()
        assert output.index(EMPTY_OSC52) > output.index(osc52(secret))
        code = app.quit()
    finally:
        app.kill()
    assert code == 0


def test_quitting_before_the_delay_clears_at_once(db_path):
    app, secret = start_and_copy(["--db", str(db_path), "--clear-clipboard", "300"], SSH)
    try:
        assert EMPTY_OSC52 not in app.output()
        app.press("escape", pause=0.4)  # copied: Done closes without asking
        app.wait_for(lambda t: "API Keys" in t and "Copy your Secret Key" not in t)
        t0 = time.monotonic()
        code = app.quit()
        assert time.monotonic() - t0 < 10
    finally:
        app.kill()
    assert code == 0
    output = app.output()
    assert output.index(EMPTY_OSC52) > output.index(osc52(secret))


def test_no_delay_no_clearing(db_path):
    app, secret = start_and_copy(["--db", str(db_path)], SSH)
    try:
        time.sleep(1.0)
        app.pump(0.2)
        code = app.quit()
    finally:
        app.kill()
    assert code == 0
    assert osc52(secret) in app.output() and EMPTY_OSC52 not in app.output()


@pytest.mark.parametrize(("args", "env"), [
    (["--clear-clipboard", "soon"], {}),
    (["--clear-clipboard", "-5"], {}),
    (["--clear-clipboard", "999999"], {}),
    ([], {"CHANGEUP_TUI_CLEAR_CLIPBOARD": "ten"}),
])
def test_bad_delay_is_a_one_line_usage_error(db_path, monkeypatch, args, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli(*args, db=db_path)
    line = result.assert_one_line_error(2)
    assert "seconds" in line
    assert not db_path.exists()  # refused before anything was opened


# -- the Copier's decisions, without a terminal ---------------------------------------------


class FakeApp:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self._clipboard = ""

    @property
    def clipboard(self) -> str:
        return self._clipboard

    def copy_to_clipboard(self, text: str) -> None:
        self._clipboard = text
        self.sent.append(text)


class FakeClipboard:
    def __init__(self, *, broken_paste: bool = False) -> None:
        self.text = ""
        self.broken_paste = broken_paste

    def copy(self, text: str) -> None:
        self.text = text

    def paste(self) -> str:
        if self.broken_paste and self.text == "":
            raise OSError("clipboard gone")
        return self.text


async def test_copier_osc52_clear_only_when_the_secret_was_the_last_thing_sent():
    from changeup_tui.tui.clipboard import CLEAR_SENT_OSC52, LEFT_ALONE, Copier, fingerprint

    app, copier = FakeApp(), Copier(environ=SSH)
    await copier.copy(app, "s3cret")
    assert await copier.clear_if_unchanged(app, fingerprint("s3cret"), local=False) == (
        CLEAR_SENT_OSC52
    )
    assert app.sent == ["s3cret", ""] and app.clipboard == ""
    # The app sent something else since (say, a Client ID): the terminal no longer holds it.
    await copier.copy(app, "s3cret")
    await copier.copy(app, "cu_test_ci_x")
    assert await copier.clear_if_unchanged(app, fingerprint("s3cret"), local=False) == LEFT_ALONE
    assert app.sent[-1] == "cu_test_ci_x" and app.clipboard == "cu_test_ci_x"


async def test_copier_local_clear_cleared_left_alone_or_failed():
    from changeup_tui.tui.clipboard import CLEARED, LEFT_ALONE, NOT_CLEARED, Copier, fingerprint

    app = FakeApp()
    local = FakeClipboard()
    copier = Copier(local.copy, local.paste, environ={})
    assert (await copier.copy(app, "s3cret")).local
    assert await copier.clear_if_unchanged(app, fingerprint("s3cret"), local=True) == CLEARED
    assert local.text == "" and app.sent == []
    await copier.copy(app, "s3cret")
    local.copy("other")
    assert await copier.clear_if_unchanged(app, fingerprint("s3cret"), local=True) == LEFT_ALONE
    assert local.text == "other"
    broken = FakeClipboard(broken_paste=True)
    copier = Copier(broken.copy, broken.paste, environ={})
    await copier.copy(app, "s3cret")
    assert await copier.clear_if_unchanged(app, fingerprint("s3cret"), local=True) == NOT_CLEARED


def test_fingerprint_is_keyed_and_holds_no_text():
    from changeup_tui.tui.clipboard import fingerprint

    mark = fingerprint("cu_test_sk_" + "A" * 49)
    assert len(mark) == 32 and b"AAAA" not in mark
    assert fingerprint("a") == fingerprint("a") != fingerprint("b")
