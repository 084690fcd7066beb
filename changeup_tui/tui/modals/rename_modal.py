"""Rename a key: the core's name rules (uniqueness among the environment's active keys included,
this key excepted) checked as you type, the reason shown under the field. Dismisses with the
renamed ApiKey, or None when cancelled."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from changeup_tui.core.errors import ChangeupError, InvalidName
from changeup_tui.core.models import ApiKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.text import visible
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.paths import style
from changeup_tui.tui.widgets.name_input import NameInput


class RenameModal(ModalScreen[ApiKey | None]):
    CSS_PATH = style("lifecycle_modals.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, service: KeyService, key: ApiKey) -> None:
        super().__init__(classes="-live" if key.environment is Environment.LIVE else "")
        self.service = service
        self.key = key
        self._valid = False
        self.busy = False

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="rename-dialog"):
            yield Label(f"Rename {key.environment.label} key", id="rename-title")
            current = plain("Now: ", style="dim")
            current.append_text(plain(key.name, 56))
            yield Label(current, id="rename-current")
            yield Static(visible(key.client_id), id="rename-client-id", markup=False)
            yield Label("New name", id="rename-label")
            # Prefilled only when the name reads the same made visible (it always does for a name
            # the core accepted; a backslash would be doubled, so the field starts empty then).
            start = key.name if visible(key.name) == key.name else ""
            yield NameInput(self.service, key.environment, renaming=key, value=start,
                            id="rename-input", select_on_focus=True)
            yield Static("", id="rename-reason", markup=False)
            with Horizontal(id="rename-buttons"):
                yield Button("Rename", id="rename-ok", variant="primary", disabled=True)
                yield Button("Cancel", id="rename-cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(NameInput.Checked)
    def _checked(self, event: NameInput.Checked) -> None:
        self._show(event.check.reason, event.check.valid)

    def _show(self, reason: str, valid: bool) -> None:
        self._valid = valid
        self.query_one("#rename-reason", Static).update(reason)
        self.query_one(NameInput).mark(reason, valid)
        self.query_one("#rename-ok", Button).disabled = not valid or self.busy

    @on(Input.Submitted, "#rename-input")
    @on(Button.Pressed, "#rename-ok")
    def _submit(self) -> None:
        if not self.busy:
            self._rename(self.query_one(Input).value)

    @work(exclusive=True, group="rename-key")
    async def _rename(self, raw: str) -> None:
        check = await self.query_one(NameInput).check(raw)
        if check.name is None:
            self._show(check.reason, False)
            return
        name = check.name
        self.busy = True
        try:
            renamed = await self.service.rename(self.key.client_id, name)
        except InvalidName as exc:
            self.busy = False
            self._show(str(exc), False)
            return
        except ChangeupError as exc:  # locked database, the key revoked meanwhile...
            self.busy = False
            self._show(str(exc), True)
            return
        self.dismiss(renamed)

    @on(Button.Pressed, "#rename-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
