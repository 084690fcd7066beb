"""The copy paths: a local clipboard confirmed by reading it back, else OSC 52 with an honest
message; never a crash, never a backend that puts the text in argv."""

from __future__ import annotations

import pytest

from changeup_tui.tui import clipboard
from changeup_tui.tui.clipboard import COPIED, NOT_COPIED, SENT_OSC52, Copier
from tests.helpers.clipboard import FakeClipboard


class FakeApp:
    def __init__(self, *, broken: bool = False) -> None:
        self.sent: list[str] = []
        self.broken = broken

    def copy_to_clipboard(self, text: str) -> None:
        if self.broken:
            raise OSError("terminal gone")
        self.sent.append(text)


async def test_local_clipboard_that_reads_back_is_used():
    local, app = FakeClipboard(), FakeApp()
    result = await Copier(local.copy, local.paste, environ={}).copy(app, "abc")
    assert result.ok and result.local and result.message == COPIED
    assert local.text == "abc" and app.sent == []


@pytest.mark.parametrize("local", [FakeClipboard(broken=True), FakeClipboard(lossy=True)])
async def test_failing_or_lossy_local_clipboard_falls_back_to_osc52(local):
    app = FakeApp()
    result = await Copier(local.copy, local.paste, environ={}).copy(app, "abc")
    assert result.ok and not result.local and result.message == SENT_OSC52
    assert app.sent == ["abc"]


@pytest.mark.parametrize("variable", ["SSH_CONNECTION", "SSH_TTY"])
async def test_ssh_session_never_touches_the_local_clipboard(variable):
    local, app = FakeClipboard(), FakeApp()
    result = await Copier(local.copy, local.paste, environ={variable: "x"}).copy(app, "abc")
    assert result.message == SENT_OSC52 and not result.local
    assert local.copies == [] and app.sent == ["abc"]


async def test_nothing_works_says_so_and_does_not_crash():
    local, app = FakeClipboard(broken=True), FakeApp(broken=True)
    result = await Copier(local.copy, local.paste, environ={}).copy(app, "abc")
    assert not result.ok and result.message == NOT_COPIED


def _named(name):
    def fn(*args):
        return ""

    fn.__name__ = name
    return fn


def test_argv_backends_are_refused(monkeypatch):
    import pyperclip

    monkeypatch.setattr(pyperclip, "determine_clipboard",
                        lambda: (_named("copy_klipper"), _named("paste_klipper")))
    monkeypatch.setattr(clipboard.shutil, "which", lambda name: None)
    assert clipboard._safe_pyperclip() is None


def test_stdin_backend_is_found_when_pyperclip_picks_an_argv_one(monkeypatch):
    import pyperclip

    monkeypatch.setattr(pyperclip, "determine_clipboard",
                        lambda: (_named("copy_klipper"), _named("paste_klipper")))
    monkeypatch.setattr(clipboard.shutil, "which",
                        lambda name: "/usr/bin/xclip" if name == "xclip" else None)
    copy, _paste = clipboard._safe_pyperclip()
    assert copy.__name__ == "copy_xclip"


def test_safe_backend_chosen_by_pyperclip_is_kept(monkeypatch):
    import pyperclip

    monkeypatch.setattr(pyperclip, "determine_clipboard",
                        lambda: (_named("copy_xsel"), _named("paste_xsel")))
    copy, _paste = clipboard._safe_pyperclip()
    assert copy.__name__ == "copy_xsel"


async def test_no_backend_means_osc52(monkeypatch):
    monkeypatch.setattr(clipboard, "_safe_pyperclip", lambda: None)
    app = FakeApp()
    result = await Copier(environ={}).copy(app, "abc")
    assert result.message == SENT_OSC52 and app.sent == ["abc"]
