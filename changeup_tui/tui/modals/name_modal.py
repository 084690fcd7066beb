"""Create New API Key: the name, checked by the core's rules as it is typed (the reason shows under
the field), then the key created in a worker while a loading indicator shows. Dismisses with the
CreatedKey (its Secret is shown next, once) or None when cancelled."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Static

from changeup_tui.core.errors import InvalidName, StoreError
from changeup_tui.core.models import CreatedKey, Environment
from changeup_tui.core.service import KeyService


class NameModal(ModalScreen[CreatedKey | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, service: KeyService, environment: Environment) -> None:
        super().__init__(classes="-live" if environment is Environment.LIVE else "")
        self.service = service
        self.environment = environment
        self.busy = False
        self._valid = False

    def compose(self) -> ComposeResult:
        env = self.environment.label
        with Vertical(id="name-dialog"):
            yield Label("Create New API Key", id="name-title")
            yield Label(
                f"The key will belong to the {env} environment"
                + (": it will guard real traffic." if self.environment is Environment.LIVE else "."),
                id="name-environment",
            )
            yield Label("Name", id="name-label")
            yield Input(placeholder="e.g. Billing service", id="name-input")
            yield Static("", id="name-reason", markup=False)
            yield LoadingIndicator(id="name-busy")
            with Horizontal(id="name-buttons"):
                yield Button("Create API Key", id="create", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#name-busy").display = False
        self.query_one(Input).focus()

    # -- checking as you type ------------------------------------------------------------------

    @on(Input.Changed, "#name-input")
    def _changed(self, event: Input.Changed) -> None:
        self._check(event.value)

    @work(exclusive=True, group="check-name")
    async def _check(self, value: str) -> None:
        try:
            await self.service.check_name(value, self.environment)
        except InvalidName as exc:
            reason, valid = str(exc), False
        except StoreError as exc:
            reason, valid = str(exc), False
        else:
            reason, valid = "", True
        if self.query_one(Input).value != value:
            return  # a newer keystroke is being checked
        if not value and not valid:
            reason = ""  # nothing typed yet: no reproach, just a disabled button
        self._show(reason, valid)

    def _show(self, reason: str, valid: bool) -> None:
        self._valid = valid
        self.query_one("#name-reason", Static).update(reason)
        self.query_one("#name-input", Input).set_class(not valid and bool(reason), "-invalid")
        self.query_one("#create", Button).disabled = not valid or self.busy

    # -- creating ------------------------------------------------------------------------------

    @on(Input.Submitted, "#name-input")
    @on(Button.Pressed, "#create")
    def _submit(self) -> None:
        if not self.busy:
            self._create(self.query_one(Input).value)

    @work(exclusive=True, group="create-key")
    async def _create(self, raw: str) -> None:
        try:
            name = await self.service.check_name(raw, self.environment)
        except (InvalidName, StoreError) as exc:
            self._show(str(exc), False)
            return
        self._set_busy(True)
        try:
            created = await self.service.create(name, self.environment)
        except InvalidName as exc:  # say, the same name created meanwhile by someone else
            self._set_busy(False)
            self._show(str(exc), False)
            return
        except StoreError as exc:  # the name is fine, the database was not: leave retry open
            self._set_busy(False)
            self._show(str(exc), True)
            return
        self.dismiss(created)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#name-busy").display = busy
        self.query_one(Input).disabled = busy
        self.query_one("#cancel", Button).disabled = busy
        self.query_one("#create", Button).disabled = busy or not self._valid
        if busy:
            self.query_one("#name-reason", Static).update("Creating the key…")
        else:
            self.query_one(Input).focus()  # disabling the field took its focus: give it back

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.busy:  # once hashing started, the key is being written: see it through
            self.dismiss(None)
