"""Account Settings › Activity Log: the audit events, newest first, a page at a time, filtered by
key (a Client ID; set when opened with `a` from a selected key) and by action (a Select)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Select, Static

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import AuditEvent
from changeup_tui.core.text import visible
from changeup_tui.core.vocabulary import AuditAction
from changeup_tui.tui.widgets.audit_table import AuditTable
from changeup_tui.tui.widgets.header import AppHeader

PAGE_SIZE = 100
FILTER_DELAY = 0.15
ACTIONS = tuple(action.value for action in AuditAction)
"""The actions the core writes (KeyService): the choices of the action filter."""


class ActivityLogScreen(Screen):
    BREADCRUMB = "Account Settings › Activity Log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f", "focus_action", "Filter by action"),
        Binding("k", "focus_key", "Filter by key"),
        Binding("ctrl+r", "clear_filters", "All events"),
    ]

    class EventsLoaded(Message):
        def __init__(self, generation: int, events: list[AuditEvent], reset: bool, more: bool) -> None:
            super().__init__()
            self.generation = generation
            self.events = events
            self.reset = reset
            self.more = more

    def __init__(self, *, client_id: str | None = None, key_name: str | None = None) -> None:
        super().__init__()
        self._more = False
        self._loading = False
        self._generation = 0
        self._key_timer: Timer | None = None
        self.client_id = client_id or None
        self.action_filter: str | None = None
        self.key_name = key_name
        self.opened_from_key = client_id is not None

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="log-body"):
            yield Label("Activity Log", id="log-title")
            yield Static(
                "Every change to a key or to the profile, newest first. Times are local.",
                id="log-intro",
            )
            with Horizontal(id="log-filters"):
                yield Label("Key", classes="log-filter-label")
                yield Input(
                    value=self.client_id or "", placeholder="Client ID (all keys)",
                    id="log-key", select_on_focus=False,
                )
                yield Label("Action", classes="log-filter-label")
                yield Select(
                    [(action, action) for action in ACTIONS], prompt="All actions",
                    id="log-action",
                )
            yield Static("", id="log-showing", markup=False)
            yield AuditTable(id="log-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AuditTable).focus()
        self._show_filters()
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        self._loading = True
        self._load(self._generation, None, reset=True)

    @work(exclusive=True, group="load-audit")
    async def _load(self, generation: int, before_id: int | None, *, reset: bool) -> None:
        try:
            events = await self.app.service.audit(
                client_id=self.client_id, action=self.action_filter, limit=PAGE_SIZE,
                before_id=before_id,
            )
        except StoreError as exc:
            self.notify(str(exc), title="Cannot read the log", severity="error", markup=False)
            return
        finally:
            self._loading = False
        self.post_message(self.EventsLoaded(generation, events, reset, len(events) == PAGE_SIZE))

    @on(EventsLoaded)
    def _loaded(self, message: EventsLoaded) -> None:
        if message.generation != self._generation:
            return  # a filter changed meanwhile
        self._more = message.more
        table = self.query_one(AuditTable)
        # Through the table's own queue: DataTable measures its columns when *it* goes idle, and
        # rows added from here before its message pump runs left every column as narrow as its
        # header (seen in a real terminal, not under Pilot).
        table.call_later(table.show_events, message.events, reset=message.reset)

    @on(AuditTable.NearEnd)
    def _near_end(self) -> None:
        table = self.query_one(AuditTable)
        if self._more and not self._loading and table.oldest_id is not None:
            self._loading = True
            self._load(self._generation, table.oldest_id, reset=False)

    # -- filters -------------------------------------------------------------------------------

    @on(Select.Changed, "#log-action")
    def _action_chosen(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else None  # blank: all actions
        if value != self.action_filter:
            self.action_filter = value
            self._show_filters()
            self.reload()

    @on(Input.Changed, "#log-key")
    def _key_typed(self) -> None:
        if self._key_timer is not None:
            self._key_timer.stop()
        self._key_timer = self.set_timer(FILTER_DELAY, self._apply_key)

    @on(Input.Submitted, "#log-key")
    def _key_submitted(self) -> None:
        self._apply_key()
        self.query_one(AuditTable).focus()

    def _apply_key(self) -> None:
        self._key_timer = None
        value = self.query_one("#log-key", Input).value.strip() or None
        if value != self.client_id:
            self.client_id = value
            if value is None or not self.opened_from_key:
                self.key_name = None
            self._show_filters()
            self.reload()

    def _show_filters(self) -> None:
        parts = []
        if self.client_id:
            key = f"key “{visible(self.key_name, 40)}”" if self.key_name else "key"
            parts.append(f"{key} {visible(self.client_id, 40)}")
        if self.action_filter:
            parts.append(f"action {self.action_filter}")
        showing = self.query_one("#log-showing", Static)
        showing.update("Only events of " + " and ".join(parts) + "." if parts else "")
        showing.display = bool(parts)

    def action_focus_action(self) -> None:
        self.query_one("#log-action", Select).focus()

    def action_focus_key(self) -> None:
        self.query_one("#log-key", Input).focus()

    def action_clear_filters(self) -> None:
        self.query_one("#log-key", Input).value = ""
        self.query_one("#log-action", Select).clear()
        self.client_id = self.action_filter = self.key_name = None
        self._show_filters()
        self.reload()

    async def action_back(self) -> None:
        """Back where it was opened from: the API Key page for a key's log, else Account
        Settings."""
        if self.opened_from_key and len(self.app.screen_stack) > 1:
            self.dismiss()
        else:
            await self.app.run_action("app.account_settings")
