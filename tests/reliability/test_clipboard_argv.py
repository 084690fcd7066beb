"""The secret never travels in the argv of a process the app starts. The real app runs in a
pseudo-terminal with fake clipboard programs first on PATH that log every command line they get:

- `xclip` (takes the text on stdin): used, the text read back, "Copied to clipboard"; its command
  lines hold no secret, and the fake clipboard really received it;
- only `klipper` + `qdbus` (pyperclip's KDE backend puts the text in qdbus's argv, for `ps` to
  show): refused; the app falls back to OSC 52 and says so; qdbus never sees the secret."""

from __future__ import annotations

import re
import stat

import pytest

pytestmark = pytest.mark.slow

SECRET_RE = re.compile(r"cu_test_sk_[0-9A-Za-z]{49}")

FAKE_XCLIP = """#!/bin/sh
printf '%s\\n' "xclip $*" >> "$FAKE_LOG"
for a in "$@"; do
  if [ "$a" = "-o" ]; then cat "$FAKE_STORE" 2>/dev/null; exit 0; fi
done
cat > "$FAKE_STORE"
"""
FAKE_LOGGER = """#!/bin/sh
printf '%s\\n' "{name} $*" >> "$FAKE_LOG"
"""


def fake_bin(tmp_path, programs: dict[str, str]):
    folder = tmp_path / "fakebin"
    folder.mkdir()
    for name, script in programs.items():
        path = folder / name
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def copy_secret_in_app(tmp_path, db_path, folder) -> tuple[str, str, str]:
    """Create a key in the real app, press Copy Secret Key; return (secret shown, screen after
    the copy, the app's whole output)."""
    from .pty_app import PtyApp

    env = {
        "PATH": f"{folder}:/usr/bin:/bin",
        "DISPLAY": ":99",
        "WAYLAND_DISPLAY": "",
        "FAKE_LOG": str(tmp_path / "argv.log"),
        "FAKE_STORE": str(tmp_path / "clipboard.txt"),
    }
    app = PtyApp.module("--db", str(db_path), env=env)
    try:
        app.wait_for("API Keys")
        app.press("n", pause=0.4)
        app.wait_for("Create New API Key")
        app.type("argv check")
        app.press("enter")
        screen = app.wait_for(lambda t: SECRET_RE.search(t) is not None, timeout=30)
        secret = SECRET_RE.search(screen).group(0)
        app.press("s", pause=0.3)
        after = app.wait_for(lambda t: "Copied to clipboard" in t or "OSC 52" in t
                             or "Could not copy" in t, timeout=15)
        app.press("escape", pause=0.4)
        code = app.quit()
    finally:
        app.kill()
    assert code == 0, app.output()[-3000:]
    return secret, after, app.output()


def test_stdin_backend_is_used_and_argv_holds_no_secret(tmp_path, db_path):
    folder = fake_bin(tmp_path, {"xclip": FAKE_XCLIP})
    secret, screen, _ = copy_secret_in_app(tmp_path, db_path, folder)
    assert "Copied to clipboard" in screen, screen
    log = (tmp_path / "argv.log").read_text()
    assert "xclip" in log  # the fake really ran
    assert secret not in log and secret[11:40] not in log, log
    assert (tmp_path / "clipboard.txt").read_text() == secret  # on stdin, where it belongs


def test_argv_backend_is_refused_and_osc52_used(tmp_path, db_path):
    folder = fake_bin(tmp_path, {
        "klipper": FAKE_LOGGER.format(name="klipper"),
        "qdbus": FAKE_LOGGER.format(name="qdbus"),
    })
    secret, screen, output = copy_secret_in_app(tmp_path, db_path, folder)
    assert "Sent to your terminal's clipboard (OSC 52)" in screen, screen
    log_path = tmp_path / "argv.log"
    log = log_path.read_text() if log_path.exists() else ""
    assert secret not in log and secret[11:40] not in log, log
    assert "setClipboardContents" not in log, log
    assert "\x1b]52;c;" in output  # the OSC 52 write itself went to the terminal
