"""The one typed way from a screen, modal or widget to the app (posting's `cast("Posting",
self.app)`): `changeup_app(self).service`, never `getattr(self.app, ...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from changeup_tui.tui.app import ChangeupApp


class InApp(Protocol):
    """A screen, a modal, a widget or a palette provider: anything with `.app`."""

    @property
    def app(self) -> App[Any]: ...


def changeup_app(node: InApp) -> ChangeupApp:
    """The running app, typed: every screen, modal and widget here runs inside a ChangeupApp."""
    return cast("ChangeupApp", node.app)
