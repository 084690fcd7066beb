"""Disable a Live key? Asked first, as revoking is: a disabled key is refused at once by every
service that verifies it (until enabled again). Dismisses True to disable (`y`, or the button),
False otherwise (Cancel, focused first, `n` and Escape)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from changeup_tui.core.models import ApiKey
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.paths import style


class DisableConfirm(ModalScreen[bool]):
    CSS_PATH = style("disable_confirm.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "disable", "Disable"),
        Binding("n,escape", "cancel", "Cancel"),
    ]

    def __init__(self, key: ApiKey) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="disable-dialog"):
            yield Label(f"Disable this {key.environment.label} key?", id="disable-title")
            yield Label(plain(key.name, 64, style="bold"), id="disable-name")
            yield Static(key.client_id, id="disable-client-id", markup=False)
            yield Static(
                "Every request signed with this key is refused from now on, until it is enabled "
                "again (d on the key).",
                id="disable-warning",
            )
            with Horizontal(id="disable-buttons"):
                yield Button("Cancel", id="disable-cancel")
                yield Button("Disable key", id="disable-ok", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#disable-cancel").focus()

    @on(Button.Pressed, "#disable-ok")
    def action_disable(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#disable-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
