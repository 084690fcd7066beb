"""Roll a key: how long the old Secret Key keeps working (immediately, 1 hour, 24 hours, 7 days).
Dismisses with the chosen grace period (a timedelta) or None when cancelled; the screen then rolls
and shows the new Secret Key in the reveal modal."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from changeup_tui.core.models import ApiKey, Environment
from changeup_tui.core.text import visible
from changeup_tui.core.vocabulary import DEFAULT_GRACE, GRACE_PERIODS, grace_period
from changeup_tui.tui.formatting import plain
from changeup_tui.tui.paths import style

CHOICES = tuple((period.code, period.label, period.description) for period in GRACE_PERIODS)
DEFAULT = DEFAULT_GRACE


def _option(code: str, title: str, description: str) -> Option:
    prompt = Text(f"{title:<12}", style="bold")
    prompt.append(description, style="dim")
    return Option(prompt, id=code)


class GracePicker(ModalScreen[timedelta | None]):
    CSS_PATH = style("lifecycle_modals.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, key: ApiKey) -> None:
        live = key.environment is Environment.LIVE
        super().__init__(classes="-live" if live else "")
        self.key = key

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="grace-dialog"):
            yield Label("Roll the Secret Key", id="grace-title")
            title = plain(key.name, 48, style="bold")
            title.append(f"  {visible(key.client_id)} ({key.environment.label})", style="")
            yield Label(title, id="grace-key")
            yield Static(
                "A new Secret Key is made for the same Client ID and shown once. How long should "
                "the current Secret Key keep working, so you can deploy the new one?",
                id="grace-intro",
            )
            yield OptionList(*(_option(*choice) for choice in CHOICES), id="grace-options")
            with Horizontal(id="grace-buttons"):
                yield Button("Roll Secret Key", id="grace-roll", variant="primary")
                yield Button("Cancel", id="grace-cancel")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = [code for code, *_ in CHOICES].index(DEFAULT)
        options.focus()

    @property
    def chosen(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    @on(OptionList.OptionSelected, "#grace-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # each option's id is its grace period's code
            self.dismiss(grace_period(event.option.id))

    @on(Button.Pressed, "#grace-roll")
    def _roll(self) -> None:
        if self.chosen is not None:
            self.dismiss(grace_period(self.chosen))

    @on(Button.Pressed, "#grace-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
