"""Create New API Key: the name, checked by the core's rules as it is typed (the reason shows under
the field), an optional expiry (never, 30, 90 or 365 days, or a date: the key stops verifying at
00:00 UTC that day, as `keys create --expires DATE` does), then the key created in a worker while a
loading indicator shows. Dismisses with the CreatedKey (its Secret is shown next, once) or None when
cancelled."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Select, Static

from changeup_tui.core.errors import InvalidName, StoreError
from changeup_tui.core.models import CreatedKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.vocabulary import EXPIRY_PRESETS, expires_on, expiry_at
from changeup_tui.tui.paths import style
from changeup_tui.tui.widgets.name_input import NameInput

EXPIRY_CHOICES = (
    *((choice.label, choice.code) for choice in EXPIRY_PRESETS),
    ("On a date…", "date"),
)


class NameModal(ModalScreen[CreatedKey | None]):
    CSS_PATH = style("name_modal.tcss")
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
            yield NameInput(self.service, self.environment, placeholder="e.g. Billing service",
                            id="name-input")
            yield Static("", id="name-reason", markup=False)
            with Horizontal(id="name-expiry-row"):
                yield Label("Expires", id="name-expiry-label")
                yield Select(EXPIRY_CHOICES, value="never", allow_blank=False, id="name-expiry")
                yield Input(placeholder="YYYY-MM-DD", id="name-expiry-date", max_length=10)
            yield Static("", id="name-expiry-note", markup=False)
            yield LoadingIndicator(id="name-busy")
            with Horizontal(id="name-buttons"):
                yield Button("Create API Key", id="create", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#name-busy").display = False
        self.query_one("#name-expiry-date").display = False
        self.query_one("#name-expiry-note").display = False
        self.query_one("#name-input", Input).focus()

    # -- checking as you type ------------------------------------------------------------------

    @on(NameInput.Checked)
    def _checked(self, event: NameInput.Checked) -> None:
        self._show(event.check.reason, event.check.valid)

    def _show(self, reason: str, valid: bool) -> None:
        self._valid = valid
        self.query_one("#name-reason", Static).update(reason)
        self.query_one(NameInput).mark(reason, valid)
        self._refresh_create()

    def _refresh_create(self) -> None:
        # A date not (yet) usable does not disable Create: Tab from the date field then reaches
        # Create, not Cancel (where Enter would close the modal and lose the name); pressing
        # Create says what is wrong with the date and goes back to it.
        self.query_one("#create", Button).disabled = not self._valid or self.busy

    # -- expiry --------------------------------------------------------------------------------

    def expiry(self) -> tuple[datetime | None, str | None]:
        """(expires_at, None), or (None, the reason the chosen expiry cannot be used)."""
        choice = self.query_one("#name-expiry", Select).value
        now = self.service.clock()
        if choice == "date":
            text = self.query_one("#name-expiry-date", Input).value.strip()
            try:
                day = date.fromisoformat(text) if len(text) == 10 else None
            except ValueError:
                day = None
            if day is None:
                return None, "Enter the date as YYYY-MM-DD."
            expires_at = expires_on(day)
            if expires_at <= now:
                return None, "The date must be in the future."
            return expires_at, None
        return expiry_at(str(choice), now), None

    @on(Select.Changed, "#name-expiry")
    def _expiry_chosen(self, event: Select.Changed) -> None:
        on_date = event.value == "date"
        field = self.query_one("#name-expiry-date", Input)
        field.display = on_date
        if on_date:
            field.focus()
        self._show_expiry()

    @on(Input.Changed, "#name-expiry-date")
    def _expiry_typed(self) -> None:
        self._show_expiry()

    def _show_expiry(self, *, insist: bool = False) -> None:
        """The expiry note under the choice; `insist` (Create pressed): a missing date is an
        error too, not a hint."""
        expires_at, error = self.expiry()
        note = self.query_one("#name-expiry-note", Static)
        typed = insist or bool(self.query_one("#name-expiry-date", Input).value)
        if error and not typed:
            text = "The key stops working at 00:00 UTC on that date."
        elif error:
            text = error
        elif expires_at is not None:
            text = f"The key stops working on {expires_at:%Y-%m-%d %H:%M} UTC."
        else:
            text = ""
        note.update(text)
        note.display = bool(text)
        note.set_class(error is not None and typed, "-error")
        self._refresh_create()

    # -- creating ------------------------------------------------------------------------------

    @on(Input.Submitted, "#name-input")
    @on(Input.Submitted, "#name-expiry-date")
    @on(Button.Pressed, "#create")
    def _submit(self) -> None:
        if not self.busy:
            self._create(self.query_one("#name-input", Input).value)

    @work(exclusive=True, group="create-key")
    async def _create(self, raw: str) -> None:
        check = await self.query_one(NameInput).check(raw)
        if check.name is None:
            self._show(check.reason, False)
            return
        name = check.name
        expires_at, expiry_error = self.expiry()
        if expiry_error is not None:
            self._show_expiry(insist=True)
            self.query_one("#name-expiry-date", Input).focus()
            return
        self._set_busy(True)
        # Let the busy state be laid out and drawn before argon2 starts, so that work does not
        # stall the loop while hashing (bench/loop_lag.py): one refresh draws it; the field's
        # lost focus then makes the Footer recompose after it, which the second one lets settle.
        await self._refreshed()
        await self._refreshed()
        try:
            # Never confirmed until the reveal modal closes normally (a hang-up leaves the mark).
            created = await self.service.create(
                name, self.environment, expires_at=expires_at, confirmed=False
            )
        except InvalidName as exc:  # say, the same name created meanwhile by someone else
            self._set_busy(False)
            self._show(str(exc), False)
            return
        except StoreError as exc:  # the name is fine, the database was not: leave retry open
            self._set_busy(False)
            self._show(str(exc), True)
            return
        self.dismiss(created)

    async def _refreshed(self) -> None:
        """Wait until the screen has been laid out and drawn once more."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def refreshed() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(refreshed)
        await done

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#name-busy").display = busy
        for field in self.query("#name-input, #name-expiry, #name-expiry-date, #cancel"):
            field.disabled = busy  # what is being stored stays what the modal shows
        self._refresh_create()
        if busy:
            self.query_one("#name-reason", Static).update("Creating the key…")
        else:
            self.query_one("#name-input", Input).focus()  # disabling it took its focus: give it back

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.busy:  # once hashing started, the key is being written: see it through
            self.dismiss(None)
