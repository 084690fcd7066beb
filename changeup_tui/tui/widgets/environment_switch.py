"""The Live/Test switch in the header: two segments, the active one lit. A click on a segment
picks that environment; the key `e` (an app binding) toggles it."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from changeup_tui.core.models import Environment
from changeup_tui.tui.typed_app import changeup_app


class _Segment(Label):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment.label, id=f"env-{environment.value}", classes="env-segment")
        self.environment = environment

    def on_click(self, event: events.Click) -> None:
        event.stop()
        changeup_app(self).environment = self.environment


class EnvironmentSwitch(Horizontal):
    """Shows and sets `app.environment`."""

    def compose(self) -> ComposeResult:
        yield _Segment(Environment.TEST)
        yield _Segment(Environment.LIVE)

    def on_mount(self) -> None:
        self.tooltip = "Live/Test environment (key e)"
        self.watch(self.app, "environment", self._show)

    def _show(self, environment: Environment) -> None:
        for segment in self.query(_Segment):
            segment.set_class(segment.environment is environment, "-active")
        self.set_class(environment is Environment.LIVE, "-live")
