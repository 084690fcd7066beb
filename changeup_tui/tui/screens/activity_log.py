"""Account Settings › Activity Log: the audit events, newest first, a page at a time."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import AuditEvent
from changeup_tui.tui.widgets.audit_table import AuditTable
from changeup_tui.tui.widgets.header import AppHeader

PAGE_SIZE = 100


class ActivityLogScreen(Screen):
    BREADCRUMB = "Account Settings › Activity Log"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.account_settings", "Account Settings")]

    class EventsLoaded(Message):
        def __init__(self, events: list[AuditEvent], reset: bool, more: bool) -> None:
            super().__init__()
            self.events = events
            self.reset = reset
            self.more = more

    def __init__(self) -> None:
        super().__init__()
        self._more = False
        self._loading = False

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="log-body"):
            yield Label("Activity Log", id="log-title")
            yield Static(
                "Every change to a key or to the profile, newest first. Times are local.",
                id="log-intro",
            )
            yield AuditTable(id="log-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AuditTable).focus()
        self._loading = True
        self._load(None, reset=True)

    @work(exclusive=True, group="load-audit")
    async def _load(self, before_id: int | None, *, reset: bool) -> None:
        try:
            events = await self.app.service.audit(limit=PAGE_SIZE, before_id=before_id)
        except StoreError as exc:
            self.notify(str(exc), title="Cannot read the log", severity="error", markup=False)
            return
        finally:
            self._loading = False
        self.post_message(self.EventsLoaded(events, reset, len(events) == PAGE_SIZE))

    @on(EventsLoaded)
    def _loaded(self, message: EventsLoaded) -> None:
        self._more = message.more
        self.query_one(AuditTable).show_events(message.events, reset=message.reset)

    @on(AuditTable.NearEnd)
    def _near_end(self) -> None:
        table = self.query_one(AuditTable)
        if self._more and not self._loading and table.oldest_id is not None:
            self._loading = True
            self._load(table.oldest_id, reset=False)
