"""The one time a Secret Key is shown: the warning, the Client ID and the Secret Key in full, Copy
Secret Key, Copy Client ID, Done. Closing before the secret was copied asks first. On close the
secret is dropped: from this screen, and from `app.clipboard` when it holds it."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from changeup_tui.core.errors import ChangeupError
from changeup_tui.core.models import NEVER_CONFIRMED, CreatedKey, Environment, Secret
from changeup_tui.core.text import visible
from changeup_tui.tui.clipboard import (
    NOT_COPIED,
    Copier,
    CopyResult,
    fingerprint,
    forget_app_clipboard,
)
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
from changeup_tui.tui.paths import style
from changeup_tui.tui.typed_app import changeup_app

WARNING = (
    "This is your only chance to copy the Secret Key. It is not stored anywhere, "
    "so it cannot be shown or retrieved again: copy it now and keep it somewhere safe. "
    "The Client ID stays visible on the API Keys page."
)


class RevealModal(ModalScreen[None]):
    CSS_PATH = style("reveal_modal.tcss")
    SHOWS_SECRET: ClassVar[bool] = True
    """While this screen is on the stack the app refuses screenshots."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "done", "Done"),
        Binding("s", "copy_secret", "Copy Secret Key"),
        Binding("i", "copy_client_id", "Copy Client ID"),
    ]

    def __init__(self, created: CreatedKey, copier: Copier) -> None:
        live = created.key.environment is Environment.LIVE
        super().__init__(classes="-live" if live else "")
        self.key = created.key
        self.secret_id = created.secret_id
        """Which stored secret this modal shows: the one its closing confirms."""
        self._secret: Secret | None = created.secret
        self.copier = copier
        self.secret_copied = False

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="reveal-dialog"):
            yield Label("Copy your Secret Key", id="reveal-title")
            yield Static(WARNING, id="reveal-warning")
            yield Label("Name", classes="reveal-label")
            yield Label(plain(key.name, 64), id="reveal-name")
            yield Label(f"Client ID ({key.environment.label})", classes="reveal-label")
            yield Static(visible(key.client_id), id="reveal-client-id", markup=False)
            yield Label("Secret Key", classes="reveal-label")
            yield Static(self._secret.reveal() if self._secret else "", id="reveal-secret", markup=False)
            with Horizontal(id="reveal-buttons"):
                yield Button("Copy Secret Key", id="copy-secret", variant="primary")
                yield Button("Copy Client ID", id="copy-client-id")
                yield Button("Done", id="done")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#copy-secret").focus()

    # -- copying -------------------------------------------------------------------------------

    @on(Button.Pressed, "#copy-secret")
    def action_copy_secret(self) -> None:
        if self._secret is not None:
            self._copy(self._secret, "Secret Key")

    @on(Button.Pressed, "#copy-client-id")
    def action_copy_client_id(self) -> None:
        self._copy(self.key.client_id, "Client ID")

    @work(group="copy", exit_on_error=False)
    async def _copy(self, value: Secret | str, what: str) -> None:
        # The secret stays in its redacting wrapper in this frame, and no exception leaves it:
        # a crash report (which prints locals) must never be the way a secret gets out.
        secret = isinstance(value, Secret)
        try:
            result = await self.copier.copy(
                self.app, value.reveal() if isinstance(value, Secret) else value
            )
        except Exception:
            result = CopyResult(False, False, NOT_COPIED)
        message = result.message
        if secret and result.ok:
            self.secret_copied = True
            message += self._clear_later(value, result)
        self.notify(message, title=what, severity="information" if result.ok else "error",
                    markup=False)

    def _clear_later(self, value: Secret | str, result: CopyResult) -> str:
        """Ask the app to clear the clipboard after its delay (it outlives this modal); the
        app keeps a fingerprint, never the secret. Returns what to add to the message."""
        if not isinstance(value, Secret):
            return ""
        try:
            seconds = changeup_app(self).clear_clipboard_later(
                fingerprint(value.reveal()), local=result.local
            )
        except Exception:
            return ""
        return f"; it will be cleared in {seconds} s" if seconds else ""

    # -- closing -------------------------------------------------------------------------------

    @on(Button.Pressed, "#done")
    def _done_pressed(self) -> None:
        self.action_done()

    @work(exclusive=True, group="close")
    async def action_done(self) -> None:
        if await self.may_close():
            self.dismiss(None)

    async def may_close(self) -> bool:
        """Whether this modal may go (Escape, Done, or quitting the app): at once when the secret
        was copied; otherwise only when the operator, asked, chooses to close anyway. Run from a
        worker (it waits for the answer). When True the secret is already dropped."""
        if not self.secret_copied:
            if isinstance(self.app.screen, ConfirmCloseModal):
                return False  # the question is already on screen: it is answered there
            if not await self.app.push_screen_wait(ConfirmCloseModal()):
                return False
        self._drop_secret()
        await self._confirm()
        return True

    async def _confirm(self) -> None:
        """The showing ended as it should: the key loses its "secret never confirmed" mark (the
        one a hang-up while this modal shows leaves behind)."""
        try:
            await changeup_app(self).service.confirm_secret(self.key.client_id, self.secret_id)
        except ChangeupError as exc:
            self.notify(f"{exc}. The key stays marked \"{NEVER_CONFIRMED}\".",
                        title="Not recorded", severity="warning", markup=False)

    def _drop_secret(self) -> None:
        secret, self._secret = self._secret, None
        if secret is not None and self.app.clipboard == secret.reveal():
            forget_app_clipboard(self.app)
        self.query_one("#reveal-secret", Static).update("")
