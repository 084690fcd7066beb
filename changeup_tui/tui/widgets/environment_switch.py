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
    def __init__(self, environment: Environment, active: bool) -> None:
        classes = "env-segment -active" if active else "env-segment"
        super().__init__(environment.label, id=f"env-{environment.value}", classes=classes)
        self.environment = environment

    def on_click(self, event: events.Click) -> None:
        event.stop()
        changeup_app(self).environment = self.environment


class EnvironmentSwitch(Horizontal):
    """Shows and sets `app.environment`."""

    def __init__(self, *, id: str | None = None) -> None:
        # Built with the app's environment's classes, so that the first style pass has them.
        environment = changeup_app(self).environment
        super().__init__(id=id, classes="-live" if environment is Environment.LIVE else None)

    def compose(self) -> ComposeResult:
        environment = changeup_app(self).environment
        yield _Segment(Environment.TEST, active=environment is Environment.TEST)
        yield _Segment(Environment.LIVE, active=environment is Environment.LIVE)

    def on_mount(self) -> None:
        self.tooltip = "Live/Test environment (key e)"
        self.watch(self.app, "environment", self._show)

    def _show(self, environment: Environment) -> None:
        for segment in self.query(_Segment):
            segment.set_class(segment.environment is environment, "-active")
        self.set_class(environment is Environment.LIVE, "-live")
