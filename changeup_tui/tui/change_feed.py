"""Changes made by other operators, shown at once: where the store announces them (PostgreSQL's
LISTEN/NOTIFY, `store.listen`), an open API Key page or Activity Log reloads within about a second
of another process's commit, keeping the selected key where it still exists.

Conservative by design: a change heard while a modal or another screen is on top, or while the
app is busy (a load or a flow in progress), waits; it is shown at the next tick when the page is
on top and idle. The app's own writes are announced too: the flows already reload after them, so
the page simply reloads once more, selecting what is selected then."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from changeup_tui.core.errors import StoreError

if TYPE_CHECKING:
    from textual.app import App

TICK_S = 0.25
RETRY_S = 2.0


class ChangeFeed:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.pending = False
        self.heard = 0

    @classmethod
    def start(cls, app: App[Any], store: object) -> ChangeFeed | None:
        """Follow `store`'s announcements in a worker of `app`; None when the store has none
        (SQLite)."""
        if getattr(store, "listen", None) is None:
            return None
        feed = cls(app)
        app.run_worker(feed._follow(store), name="change-feed", group="change-feed", exit_on_error=False)
        return feed

    def _heard(self, client_id: str) -> None:
        self.heard += 1
        self.pending = True

    async def _follow(self, store: Any) -> None:
        first = True
        while True:
            try:
                async with store.listen(self._heard) as lost:
                    if not first:
                        self.pending = True  # what changed while the server was away
                    first = False
                    while not lost.is_set():
                        await asyncio.sleep(TICK_S)
                        self._show_if_idle()
            except StoreError:  # the server is away; the pages show their own errors
                pass
            await asyncio.sleep(RETRY_S)

    def _busy(self) -> bool:
        return any(
            worker.group != "change-feed" and not worker.is_finished for worker in self.app.workers
        )

    def _show_if_idle(self) -> None:
        if not self.pending or self._busy():
            return
        from changeup_tui.tui.screens.activity_log import ActivityLogScreen
        from changeup_tui.tui.screens.api_keys import ApiKeysScreen

        screen = self.app.screen
        if isinstance(screen, ApiKeysScreen):
            self.pending = False
            selected = screen.selected_key
            screen.reload(select=selected.client_id if selected is not None else None)
        elif isinstance(screen, ActivityLogScreen):
            from changeup_tui.tui.widgets.audit_table import AuditTable

            self.pending = False
            screen.query_one(AuditTable).reload()
