"""Account Settings › Profile: display name, email and organisation, saved through the service
(which checks them and records the change in the audit log)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from changeup_tui.core.errors import InvalidName, StoreError
from changeup_tui.core.models import Account
from changeup_tui.core.text import visible
from changeup_tui.tui.paths import style
from changeup_tui.tui.typed_app import changeup_app
from changeup_tui.tui.widgets.header import AppHeader

FIELDS = (
    ("display_name", "Display name", "Shown in the Profile Menu"),
    ("email", "Email", "e.g. ops@example.com"),
    ("organisation", "Organisation", "Optional"),
)


class ProfileScreen(Screen):
    CSS_PATH = style("profile.tcss")
    BREADCRUMB = "Account Settings › Profile"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.account_settings", "Account Settings"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="profile-body"):
            yield Label("Profile", id="profile-title")
            for field, label, placeholder in FIELDS:
                with Horizontal(classes="profile-row"):
                    yield Label(label, classes="profile-label")
                    yield Input(placeholder=placeholder, id=f"profile-{field}", disabled=True)
            yield Static("", id="profile-message", markup=False)
            with Horizontal(id="profile-buttons"):
                yield Button("Save", id="profile-save", variant="primary", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, group="profile")
    async def _load(self) -> None:
        try:
            account = await changeup_app(self).service.account()
        except StoreError as exc:
            self._say(str(exc), error=True)
            return
        writable = not changeup_app(self).read_only
        for field, _, _ in FIELDS:
            field_input = self.query_one(f"#profile-{field}", Input)
            # Shown as typed text: an Input never parses markup; control characters made visible.
            field_input.value = visible(getattr(account, field))
            field_input.disabled = not writable
        self.query_one("#profile-save", Button).disabled = not writable
        if writable:
            self.query_one("#profile-display_name", Input).focus()
        else:
            self._say("This database is read-only: the profile cannot be changed here.", error=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save" and changeup_app(self).read_only:
            return None
        return True

    @on(Input.Submitted)
    @on(Button.Pressed, "#profile-save")
    def action_save(self) -> None:
        if not changeup_app(self).read_only:
            values = {f: self.query_one(f"#profile-{f}", Input).value for f, _, _ in FIELDS}
            self._save(Account(**values))

    @work(exclusive=True, group="profile")
    async def _save(self, account: Account) -> None:
        try:
            saved = await changeup_app(self).service.save_account(account)
        except (InvalidName, StoreError) as exc:
            self._say(str(exc), error=True)
            return
        changeup_app(self).account_name = saved.display_name
        self._say("Saved.", error=False)

    def _say(self, text: str, *, error: bool) -> None:
        message = self.query_one("#profile-message", Static)
        message.update(text)
        message.set_class(error, "-error")
