"""Copying text, honestly.

A local clipboard (pyperclip) is used only where it can be trusted: not in an SSH session (it would
be the server's clipboard), only through a backend that passes the text on stdin (xclip, xsel,
wl-copy, pbcopy; never klipper/qdbus, which put it in argv for `ps` to show), and only when reading
it back returns the same text. Otherwise the text goes to the terminal by OSC 52 through
`App.copy_to_clipboard`, and the message says exactly that: the terminal gives no acknowledgement.

A copied Secret Key can be cleared after N seconds (`--clear-clipboard`): the local clipboard only
if it still holds the secret (read back, compared by a keyed fingerprint, so nothing keeps the
secret meanwhile); the terminal's clipboard, which cannot be read, by an empty OSC 52 copy, unless
the app has sent something else there since; and the app's own copy (`app.clipboard`).

The pyperclip functions are injectable, so tests pass fakes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import shutil
import sys
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from changeup_tui.core.context import in_ssh_session

COPIED = "Copied to clipboard"
SENT_OSC52 = "Sent to your terminal's clipboard (OSC 52)"
NOT_COPIED = "Could not copy: select the text on screen and copy it with your terminal"
CLEARED = "Clipboard cleared: it still held the Secret Key"
LEFT_ALONE = "Clipboard left alone: it holds something else now"
CLEAR_SENT_OSC52 = (
    "Asked your terminal to empty its clipboard (OSC 52). A terminal cannot be read back: "
    "anything you copied there since was emptied too"
)
NOT_CLEARED = "Could not clear the clipboard: clear it by hand"

_FINGERPRINT_KEY = secrets.token_bytes(32)


def fingerprint(text: str) -> bytes:
    """A keyed digest of `text` (the key is random per process): enough to tell later whether
    a clipboard still holds a secret, without keeping the secret."""
    return hmac.new(_FINGERPRINT_KEY, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

# pyperclip's copy functions that take the text on stdin (or in-process), never in argv.
SAFE_BACKENDS = frozenset({"copy_xclip", "copy_xsel", "copy_wl", "copy_osx_pbcopy", "copy_windows"})

CopyFn = Callable[[str], Any]
PasteFn = Callable[[], str]


class CopyResult(msgspec.Struct, frozen=True):
    """Where a copy went, and what to tell the operator about it."""

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
        pass
    else:
        if paste is not None and getattr(copy, "__name__", "") in SAFE_BACKENDS:
            return copy, paste
    inits: Any = pyperclip  # types-pyperclip leaves out these init_*_clipboard functions
    candidates: list[Callable[[], tuple[CopyFn, PasteFn]]] = []
    if sys.platform == "darwin" and shutil.which("pbcopy"):
        candidates.append(inits.init_osx_pbcopy_clipboard)
    if shutil.which("wl-copy"):
        candidates.append(inits.init_wl_clipboard)
    if shutil.which("xclip"):
        candidates.append(inits.init_xclip_clipboard)
    if shutil.which("xsel"):
        candidates.append(inits.init_xsel_clipboard)
    for init in candidates:
        try:
            return init()
        except Exception:
            continue
    return None


def forget_app_clipboard(app: Any) -> None:
    """Empty the app's own copy of what it last copied (`App.clipboard`), and nothing else.

    The one private Textual use here: `App.copy_to_clipboard` keeps the text in `App._clipboard`,
    and Textual 8.2 has no public way to empty it without sending an empty OSC 52 copy to the
    terminal too (which would empty the terminal's clipboard, maybe holding something else now)."""
    app._clipboard = ""


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
        self._last_osc52: bytes | None = None
        """The fingerprint of the last text sent to the terminal by OSC 52."""

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
        self._last_osc52 = fingerprint(text)
        return CopyResult(True, False, SENT_OSC52)

    # -- clearing ------------------------------------------------------------------------------

    def _local_clear(self, mark: bytes) -> bool | None:
        """Blocking (runs in a thread): empty the local clipboard if it still holds the text
        whose fingerprint is `mark`. True: cleared; False: it holds something else; None: the
        clipboard could not be read or written."""
        if self._backend is None:
            return None
        copy, paste = self._backend
        try:
            if not hmac.compare_digest(fingerprint(paste() or ""), mark):
                return False
            copy("")
            return paste() == ""
        except Exception:
            return None

    async def clear_if_unchanged(self, app: Any, mark: bytes, *, local: bool) -> str:
        """Clear what a copy of the text with fingerprint `mark` put in a clipboard (`local`:
        the local one, else the terminal's by OSC 52), and the app's own copy; never anything
        else. Returns the message to show. Never raises."""
        with contextlib.suppress(Exception):
            if hmac.compare_digest(fingerprint(app.clipboard or ""), mark):
                forget_app_clipboard(app)
        if local:
            cleared = await asyncio.to_thread(self._local_clear, mark)
            return {True: CLEARED, False: LEFT_ALONE, None: NOT_CLEARED}[cleared]
        if self._last_osc52 is None or not hmac.compare_digest(self._last_osc52, mark):
            return LEFT_ALONE  # the app has sent something else to the terminal since
        try:
            app.copy_to_clipboard("")
        except Exception:
            return NOT_CLEARED
        self._last_osc52 = None
        return CLEAR_SENT_OSC52
