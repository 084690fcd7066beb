"""The clipboard cleared some seconds after a Secret Key was copied (`--clear-clipboard SECONDS`),
only where it still holds that secret. It belongs to the app, not to the reveal modal: the delay
outlives the modal, and quitting before it clears at once.

Only the secret's fingerprint is kept (`clipboard.fingerprint`), never the secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from changeup_tui.tui.clipboard import Copier


class ClipboardClearer:
    """One pending clear at a time: a newer copy replaces the older one's. Holds the app's
    Copier (`copier`), made on first use: the clipboard's module is not needed before the keys
    show (1.7 ms of CPU to import)."""

    def __init__(self, app: App[Any], copier: Copier | None, seconds: int) -> None:
        self.app = app
        self._copier = copier
        self.seconds = seconds
        """0: never clear."""
        self._pending: tuple[bytes, bool] | None = None
        self._timer: Timer | None = None

    @property
    def copier(self) -> Copier:
        if self._copier is None:
            from changeup_tui.tui.clipboard import Copier

            self._copier = Copier()
        return self._copier

    def schedule(self, mark: bytes, *, local: bool) -> int:
        """Clear in `seconds` what the copy with fingerprint `mark` put in a clipboard (`local`:
        the machine's, else the terminal's by OSC 52). Returns the delay, 0 when clearing is off."""
        if self.seconds <= 0:
            return 0
        if self._timer is not None:
            self._timer.stop()
        self._pending = (mark, local)
        self._timer = self.app.set_timer(self.seconds, self._due)
        return self.seconds

    def _due(self) -> None:
        self._timer = None
        self.app.run_worker(self._clear_and_say(), exclusive=True, group="clipboard-clear")

    async def _clear_and_say(self) -> None:
        message = await self.clear_now()
        if message is not None:
            self.app.notify(message, title="Clipboard", markup=False)

    async def clear_now(self) -> str | None:
        """Clear what is pending, if anything (also on quitting before the delay). Returns the
        message to show, None when nothing was pending."""
        pending, self._pending = self._pending, None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if pending is None:
            return None
        return await self.copier.clear_if_unchanged(self.app, pending[0], local=pending[1])
