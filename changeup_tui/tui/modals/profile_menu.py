"""The Profile Menu, dropped down from the header's profile button: Account Settings, Activity
Log, Quit. It dismisses with the name of the app action to run, or None."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from changeup_tui.core.models import Account
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.paths import style

CHOICES = (
    ("account_settings", "Account Settings"),
    ("activity_log", "Activity Log"),
    ("quit", "Quit"),
)


class ProfileMenu(ModalScreen[str | None]):
    CSS_PATH = style("profile_menu.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_menu", "Close"),
        Binding("p", "dismiss_menu", show=False),
    ]

    def __init__(self, account: Account | None) -> None:
        super().__init__()
        self.account = account

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-menu"):
            if self.account is not None:
                yield Label(plain(self.account.display_name, 30, style="bold"), id="menu-name")
                yield Label(plain(self.account.email, 30), id="menu-email")
            yield OptionList(*(Option(label, id=action) for action, label in CHOICES), id="menu-options")
        yield Footer()  # its own keys, not the page's beneath (hidden under a modal)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_click(self, event: events.Click) -> None:
        # A click outside the menu closes it, as a drop-down does.
        if self.get_widget_at(event.screen_x, event.screen_y)[0] is self:
            self.dismiss(None)

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)
