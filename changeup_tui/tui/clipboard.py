"""Copying text, honestly.

A local clipboard (pyperclip) is used only where it can be trusted: not in an SSH session (it would
be the server's clipboard), only through a backend that passes the text on stdin (xclip, xsel,
wl-copy, pbcopy; never klipper/qdbus, which put it in argv for `ps` to show), and only when reading
it back returns the same text. Otherwise the text goes to the terminal by OSC 52 through
`App.copy_to_clipboard`, and the message says exactly that: the terminal gives no acknowledgement.

The pyperclip functions are injectable, so tests pass fakes."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from changeup_tui.core.context import in_ssh_session

COPIED = "Copied to clipboard"
SENT_OSC52 = "Sent to your terminal's clipboard (OSC 52)"
NOT_COPIED = "Could not copy: select the text on screen and copy it with your terminal"

# pyperclip's copy functions that take the text on stdin (or in-process), never in argv.
SAFE_BACKENDS = frozenset({"copy_xclip", "copy_xsel", "copy_wl", "copy_osx_pbcopy", "copy_windows"})

CopyFn = Callable[[str], Any]
PasteFn = Callable[[], str]


@dataclass(frozen=True, slots=True)
class CopyResult:
    ok: bool
    """True when the text went somewhere (the local clipboard, or the terminal by OSC 52)."""
    local: bool
    """True only when the local clipboard was written and read back equal."""
    message: str


def _safe_pyperclip() -> tuple[CopyFn, PasteFn] | None:
    """pyperclip's chosen backend if it is a safe one, else a safe one we can find, else None."""
    import pyperclip

    try:
        copy, paste = pyperclip.determine_clipboard()
    except Exception:
        copy = paste = None
    if copy is not None and getattr(copy, "__name__", "") in SAFE_BACKENDS:
        return copy, paste
    candidates: list[Callable[[], tuple[CopyFn, PasteFn]]] = []
    if sys.platform == "darwin" and shutil.which("pbcopy"):
        candidates.append(pyperclip.init_osx_pbcopy_clipboard)
    if shutil.which("wl-copy"):
        candidates.append(pyperclip.init_wl_clipboard)
    if shutil.which("xclip"):
        candidates.append(pyperclip.init_xclip_clipboard)
    if shutil.which("xsel"):
        candidates.append(pyperclip.init_xsel_clipboard)
    for init in candidates:
        try:
            return init()
        except Exception:
            continue
    return None


class Copier:
    """Copies text for the app. `copy`/`paste` replace pyperclip's functions (tests); `environ`
    replaces os.environ for the SSH check."""

    def __init__(
        self,
        copy: CopyFn | None = None,
        paste: PasteFn | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._backend: tuple[CopyFn, PasteFn] | None = (copy, paste) if copy and paste else None
        self._resolved = self._backend is not None
        self._environ = environ

    def _local_copy(self, text: str) -> bool:
        """Blocking (runs in a thread): write the local clipboard and read it back."""
        if not self._resolved:
            self._resolved = True
            try:
                self._backend = _safe_pyperclip()
            except Exception:
                self._backend = None
        if self._backend is None:
            return False
        copy, paste = self._backend
        try:
            copy(text)
            return paste() == text
        except Exception:
            return False

    async def copy(self, app: Any, text: str) -> CopyResult:
        if not in_ssh_session(self._environ):
            if await asyncio.to_thread(self._local_copy, text):
                return CopyResult(True, True, COPIED)
        try:
            app.copy_to_clipboard(text)
        except Exception:
            return CopyResult(False, False, NOT_COPIED)
        return CopyResult(True, False, SENT_OSC52)
