"""The header of every screen: title and where you are, the Live/Test switch, a LIVE label when
Live (the whole header changes colour through the `-live` class), READ-ONLY when the database is,
and the Profile Menu button with the account name."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label

from changeup_tui.core.models import Environment
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.typed_app import changeup_app
from changeup_tui.tui.widgets.environment_switch import EnvironmentSwitch


class AppHeader(Horizontal):
    def __init__(self, breadcrumb: str = "") -> None:
        # Built with the app's environment's class, so that the first style pass already has it.
        live = changeup_app(self).environment is Environment.LIVE
        super().__init__(id="app-header", classes="-live" if live else None)
        self.breadcrumb = breadcrumb

    def compose(self) -> ComposeResult:
        yield Label("ChangeUp", id="header-title")
        yield Label(self.breadcrumb, id="header-crumb", markup=False)
        yield Label("READ-ONLY", id="header-read-only")
        yield Label("● LIVE", id="header-live-label")
        yield EnvironmentSwitch(id="header-switch")
        profile = Button("", id="profile-button", compact=True)
        profile.can_focus = False
        profile.tooltip = "Profile Menu (key p)"
        yield profile

    def on_mount(self) -> None:
        self.query_one("#header-read-only").display = changeup_app(self).read_only
        self.watch(self.app, "environment", self._show_environment)
        self.watch(self.app, "account_name", self._show_account)

    def _show_environment(self, environment: Environment) -> None:
        live = environment is Environment.LIVE
        self.set_class(live, "-live")
        self.query_one("#header-live-label").display = live

    def _show_account(self, name: str) -> None:
        label = plain(name or "Profile", 24)
        label.append(" ▾")
        self.query_one("#profile-button", Button).label = label

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "profile-button":
            event.stop()
            await self.app.run_action("profile_menu")
