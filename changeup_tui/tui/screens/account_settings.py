"""Account Settings: the page that lists its sections (Profile, API Key, Activity Log). Escape on a
section comes back here; Enter or a click opens one."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from changeup_tui.tui.paths import style
from changeup_tui.tui.widgets.header import AppHeader

SECTIONS = (
    ("profile", "Profile", "Your display name, email and organisation"),
    ("api_keys", "API Key", "Create Live and Test keys; see their Client IDs and status"),
    ("activity_log", "Activity Log", "Who did what to which key, and from where"),
)


def _option(action: str, title: str, description: str) -> Option:
    prompt = Text(title, style="bold")
    prompt.append(f"\n{description}", style="dim")
    return Option(prompt, id=action)


class AccountSettingsScreen(Screen):
    CSS_PATH = style("account_settings.tcss")
    BREADCRUMB = "Account Settings"

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="settings-body"):
            yield Label("Account Settings", id="settings-title")
            options: list[Option | None] = []
            for section in SECTIONS:
                options += [_option(*section), None]
            yield OptionList(*options[:-1], id="settings-sections")
        yield Footer()

    def on_mount(self) -> None:
        sections = self.query_one(OptionList)
        sections.highlighted = 1  # API Key, the page operators come for (separators are not options)
        sections.focus()

    @on(OptionList.OptionSelected, "#settings-sections")
    async def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # each section's id is the app action that opens it
            await self.app.run_action(event.option.id)
