"""Account Settings › Activity Log: the audit events, newest first, a page at a time, filtered by
key (a part of its name or of its Client ID, as typed; exactly one Client ID when opened with `a`
from a selected key) and by action (a Select). A filter that matches nothing says so."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Select, Static

from changeup_tui.core.models import AuditEvent
from changeup_tui.core.text import visible
from changeup_tui.core.vocabulary import AuditAction
from changeup_tui.tui.paging import Page
from changeup_tui.tui.paths import style
from changeup_tui.tui.typed_app import changeup_app
from changeup_tui.tui.widgets.audit_table import AuditTable
from changeup_tui.tui.widgets.header import AppHeader

PAGE_SIZE = 100
FILTER_DELAY = 0.15
ACTIONS = tuple(action.value for action in AuditAction)
"""The actions the core writes (KeyService): the choices of the action filter."""


class ActivityLogScreen(Screen[None]):
    CSS_PATH = style("activity_log.tcss")
    BREADCRUMB = "Account Settings › Activity Log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f", "focus_action", "Filter by action"),
        Binding("k", "focus_key", "Filter by key"),
        Binding("ctrl+l", "clear_filters", "All events"),
    ]

    # The query: each change reads the first page again (the watchers).
    client_id: reactive[str | None] = reactive(None, init=False)
    key_search: reactive[str] = reactive("", init=False)
    event_action: reactive[str | None] = reactive(None, init=False)

    def __init__(self, *, client_id: str | None = None, key_name: str | None = None) -> None:
        super().__init__()
        self._key_timer: Timer | None = None
        self.set_reactive(ActivityLogScreen.client_id, client_id or None)
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
                    value=self.client_id or "",
                    placeholder="Name or part of a Client ID",
                    id="log-key", select_on_focus=False,
                )
                yield Label("Action", classes="log-filter-label")
                yield Select(
                    [(action, action) for action in ACTIONS], prompt="All actions",
                    id="log-action",
                )
            yield Static("", id="log-showing", markup=False)
            yield AuditTable(self._fetch, changes=changeup_app(self).service.data_version,
                             id="log-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AuditTable).focus()
        self._query_changed()

    # -- the query and its pages ---------------------------------------------------------------

    def watch_client_id(self, client_id: str | None) -> None:
        if client_id is None or not self.opened_from_key:
            self.key_name = None
        self._query_changed()

    def watch_key_search(self) -> None:
        self._query_changed()

    def watch_event_action(self) -> None:
        self._query_changed()

    def _query_changed(self) -> None:
        self._show_filters()
        self.query_one(AuditTable).reload(then=self._loaded)

    def _loaded(self, page: Page[AuditEvent, int]) -> None:
        self._show_filters(matched=bool(page.rows))

    async def _fetch(self, before_id: int | None) -> Page[AuditEvent, int]:
        events = await changeup_app(self).service.audit(
            client_id=self.client_id, action=self.event_action, limit=PAGE_SIZE,
            before_id=before_id, key_search=self.key_search,
        )
        more = len(events) == PAGE_SIZE and events[-1].id is not None
        return Page(events, events[-1].id if more else None)

    # -- filters -------------------------------------------------------------------------------

    @on(Select.Changed, "#log-action")
    def _action_chosen(self, event: Select.Changed) -> None:
        self.event_action = event.value if isinstance(event.value, str) else None  # blank: all

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
        """The typed text: the key opened with (its Client ID, untouched) or a search."""
        self._key_timer = None
        text = self.query_one("#log-key", Input).value.strip()
        if self.client_id is not None and text == self.client_id:
            return
        self.client_id = None
        self.key_search = text

    def _show_filters(self, *, matched: bool = True) -> None:
        parts = []
        if self.client_id:
            key = f"key “{visible(self.key_name, 40)}”" if self.key_name else "key"
            parts.append(f"{key} {visible(self.client_id, 40)}")
        if self.key_search:
            parts.append(f"keys matching “{visible(self.key_search, 40)}”")
        if self.event_action:
            parts.append(f"action {self.event_action}")
        showing = self.query_one("#log-showing", Static)
        if not parts:
            text = ""
        elif matched:
            text = "Only events of " + " and ".join(parts) + "."
        else:
            text = "No events of " + " and ".join(parts) + "."
        showing.update(text)
        showing.set_class(not matched, "-none")
        showing.display = bool(parts)

    def action_reload(self) -> None:
        self.query_one(AuditTable).refresh_rows()

    def action_focus_action(self) -> None:
        self.query_one("#log-action", Select).focus()

    def action_focus_key(self) -> None:
        self.query_one("#log-key", Input).focus()

    def action_clear_filters(self) -> None:
        self.query_one("#log-key", Input).value = ""
        self.query_one("#log-action", Select).clear()
        self.key_name = None
        self.client_id = self.event_action = None
        self.key_search = ""

    async def action_back(self) -> None:
        """Back where it was opened from: the API Key page for a key's log, else Account
        Settings."""
        if self.opened_from_key and len(self.app.screen_stack) > 1:
            self.dismiss()
        else:
            await self.app.run_action("app.account_settings")
