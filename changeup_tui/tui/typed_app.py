"""The one typed way from a screen, modal or widget to the app (posting's `cast("Posting",
self.app)`): `changeup_app(self).service`, never `getattr(self.app, ...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from changeup_tui.tui.app import ChangeupApp


def changeup_app(node: MessagePump) -> ChangeupApp:
    """The running app, typed: every screen, modal and widget here runs inside a ChangeupApp."""
    return cast("ChangeupApp", node.app)
