"""Asked when the reveal modal is closed before the Secret Key was copied. Dismisses True to
close anyway (`y`, or the button); "Go back" (the default, `n` and Escape) returns to the secret.
Its own footer: the reveal modal's keys beneath do nothing here."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from changeup_tui.tui.paths import style

QUESTION = "The Secret Key will never be shown again. Close anyway?"


class ConfirmCloseModal(ModalScreen[bool]):
    CSS_PATH = style("reveal_modal.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "close_anyway", "Close anyway"),
        Binding("n,escape", "go_back", "Go back"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label("Secret Key not copied", id="confirm-title")
            yield Label(QUESTION, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Go back", id="go-back", variant="primary")
                yield Button("Close anyway", id="close-anyway", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#go-back").focus()

    @on(Button.Pressed, "#close-anyway")
    def action_close_anyway(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#go-back")
    def action_go_back(self) -> None:
        self.dismiss(False)
