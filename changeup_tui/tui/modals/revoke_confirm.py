"""Revoke a key: final. A Live key's name must be typed, exactly (case included, as the service
checks), before "Revoke key" is enabled; Enter on a name that does not match says so. A Test key
gets a plain confirmation, with Cancel focused, that answers `y` and `n` too (for a Live key the
letters go into the name field). Dismisses with what to pass as `confirm_name` (the typed name
for Live, "" for Test), or None when cancelled: Escape changes nothing."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from changeup_tui.core.models import ApiKey, Environment
from changeup_tui.core.text import visible
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.paths import style


class RevokeConfirm(ModalScreen[str | None]):
    CSS_PATH = style("lifecycle_modals.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "revoke", "Revoke"),
        Binding("n,escape", "cancel", "Cancel"),
    ]

    def __init__(self, key: ApiKey) -> None:
        self.live = key.environment is Environment.LIVE
        super().__init__(classes="-live" if self.live else "")
        self.key = key

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="revoke-dialog"):
            yield Label(f"Revoke this {key.environment.label} key?", id="revoke-title")
            yield Label(plain(key.name, 64, style="bold"), id="revoke-name")
            yield Static(visible(key.client_id), id="revoke-client-id", markup=False)
            yield Static(
                "Revoking is immediate and final: every request signed with this key's Secret "
                "Key is refused from now on, and the key cannot be enabled or rolled again.",
                id="revoke-warning",
            )
            if self.live:
                yield Label("Type the key's name to confirm", id="revoke-prompt")
                yield Input(placeholder="the key's name, as shown above", id="revoke-input")
                mismatch = Static("", id="revoke-mismatch", markup=False)
                mismatch.display = False  # until Enter on a name that does not match
                yield mismatch
            with Horizontal(id="revoke-buttons"):
                yield Button("Cancel", id="revoke-cancel")
                yield Button("Revoke key", id="revoke-ok", variant="error", disabled=self.live)
        yield Footer()

    def on_mount(self) -> None:
        if self.live:
            self.query_one("#revoke-input", Input).focus()
        else:
            self.query_one("#revoke-cancel").focus()

    def _matches(self, typed: str) -> bool:
        """Exactly the key's name (spaces around it aside), as KeyService.revoke checks."""
        return bool(typed.strip()) and unicodedata.normalize("NFC", typed.strip()) == self.key.name

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "revoke" and self.live:
            return False  # `y` is a letter of the name here; Enter or the button revokes
        return True

    @on(Input.Changed, "#revoke-input")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#revoke-ok", Button).disabled = not self._matches(event.value)
        self._say_mismatch("")

    @on(Input.Submitted, "#revoke-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._matches(event.value):
            self.dismiss(event.value)
        elif event.value.strip():
            self._say_mismatch(
                "That is not the key's name: type it exactly as shown above, case included."
            )

    def _say_mismatch(self, text: str) -> None:
        message = self.query_one("#revoke-mismatch", Static)
        message.update(text)
        message.display = bool(text)

    @on(Button.Pressed, "#revoke-ok")
    def action_revoke(self) -> None:
        if not self.live:
            self.dismiss("")
            return
        typed = self.query_one("#revoke-input", Input).value
        if self._matches(typed):
            self.dismiss(typed)

    @on(Button.Pressed, "#revoke-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
