"""Account Settings › API Key: the current environment's keys, a page at a time (keyset
pagination in SQL; the next page loads as the cursor nears the end), the empty state, and the
create flow: name modal → reveal modal → the new key highlighted in the list.

The key lifecycle on the selected key: roll (grace picker → the new Secret Key in the reveal
modal), revoke (a Live key's name typed to confirm), disable/enable, rename, its Activity Log.
The view: `/` filters by name or Client ID as you type (debounced, in SQL), `o` cycles the sort,
`v` shows or hides revoked keys; a line under the title says what is in effect.

To add an action on the selected key: a Binding in BINDINGS, an `action_*` method that reads
`self.selected_key`, and a line in `check_action` if it writes (refused on a read-only
database) or needs a selected key."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Input, Label, Static
from textual.worker import Worker

from changeup_tui.core.errors import ChangeupError
from changeup_tui.core.models import ApiKey, Environment, KeyStatus, SortField
from changeup_tui.core.service import allows
from changeup_tui.core.text import visible
from changeup_tui.core.vocabulary import AuditAction, grace_words
from changeup_tui.tui.paging import Page
from changeup_tui.tui.paths import style
from changeup_tui.tui.typed_app import changeup_app
from changeup_tui.tui.widgets.action_footer import ActionFooter
from changeup_tui.tui.widgets.filter_input import FilterInput
from changeup_tui.tui.widgets.header import AppHeader
from changeup_tui.tui.widgets.keys_table import KeysPage, KeysTable
from changeup_tui.tui.widgets.paged_table import PagedTable

if TYPE_CHECKING:
    from changeup_tui.core.models import KeyCursor

PAGE_SIZE = 50
"""Rows a page reads. Each row costs before the first frame shows (read, made into cells, added
and measured by DataTable): 100 rows took about 12 ms more than 50. A taller view asks for the
next page at once (PagedTable.on_resize)."""
FILTER_DELAY = 0.15
"""Seconds of quiet typing before the filter asks the database."""
WRITE_ACTIONS = frozenset(
    {"create_key", "roll_key", "revoke_key", "disable_key", "enable_key", "rename_key"}
)
SELECTION_ACTIONS = frozenset(
    {"copy_client_id", "roll_key", "revoke_key", "disable_key", "enable_key", "rename_key",
     "key_activity", "key_details"}
)
KEY_ROW = ("create_key", "roll_key", "revoke_key", "disable_key", "enable_key", "rename_key",
           "copy_client_id", "key_activity")
"""The actions in the footer's upper row."""
KEY_CHANGES = {
    "roll_key": AuditAction.KEY_ROLLED,
    "revoke_key": AuditAction.KEY_REVOKED,
    "disable_key": AuditAction.KEY_DISABLED,
    "enable_key": AuditAction.KEY_ENABLED,
    "rename_key": AuditAction.KEY_RENAMED,
}
"""The actions that change a key; the core's rules (service.allows) say in which states."""
SORT_LABELS = {
    SortField.CREATED: "newest first",
    SortField.NAME: "by name",
    SortField.LAST_USED: "by last used",
}
SORT_CYCLE = (SortField.CREATED, SortField.NAME, SortField.LAST_USED)


class ApiKeysScreen(Screen[None]):
    CSS_PATH = style("api_keys.tcss")
    BREADCRUMB = "Account Settings › API Key"
    AUTO_FOCUS = ""
    """Nothing until the first page shows and the table takes the focus (_show_count): a key
    pressed in that instant goes to the page's bindings, not into some other field."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "create_key", "Create New API Key"),
        Binding("r", "roll_key", "Roll"),
        Binding("x,delete", "revoke_key", "Revoke"),
        Binding("d", "disable_key", "Disable"),
        Binding("d", "enable_key", "Enable"),
        Binding("R,f2", "rename_key", "Rename"),
        Binding("c", "copy_client_id", "Copy Client ID"),
        Binding("a", "key_activity", "Activity Log"),
        Binding("enter", "key_details", "Details", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("v", "show_revoked", "Show revoked"),
        Binding("v", "hide_revoked", "Hide revoked"),
        Binding("escape", "app.account_settings", "Account Settings"),
    ]

    # The query: each change reads the first page again (the watchers).
    environment: reactive[Environment] = reactive(Environment.TEST, init=False)
    """The app's, followed (see on_mount)."""
    search: reactive[str] = reactive("", init=False)
    sort: reactive[SortField] = reactive(SortField.CREATED, init=False)
    include_revoked: reactive[bool] = reactive(False, init=False, bindings=True)

    def __init__(self) -> None:
        environment = changeup_app(self).environment
        # The class is given here, not in on_mount: set there, it styles every widget on the
        # page a second time before the first frame.
        super().__init__(classes="-live" if environment is Environment.LIVE else None)
        self.set_reactive(ApiKeysScreen.environment, environment)
        self.total: int | None = None
        """Keys matching the query, once the first page is read."""
        self._filter_timer: Timer | None = None
        service = changeup_app(self).service
        self.table = KeysTable(self._fetch, service.clock, fetch_before=self._fetch_before,
                               changes=service.data_version, id="keys-table")
        self.table.display = False  # until its first page says there are keys
        self._bindings_status: KeyStatus | None = None

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="keys-body"):
            with Horizontal(id="keys-bar"):
                yield Label("API Keys", id="keys-title")
                yield Label("", id="keys-count")
                yield FilterInput(id="keys-filter")
                yield Button("Create New API Key", id="create-key", variant="primary")
            yield Static(
                "Each key is a Client ID (always shown here) and a Secret Key (shown once, when "
                "the key is created).",
                id="keys-intro",
            )
            yield Static("", id="keys-view", markup=False)
            yield self.table
            yield Static("", id="keys-empty")
        # Two rows of keys, for they do not fit in one: the key actions, then the view and the app.
        with Vertical(id="keys-footers"):
            yield ActionFooter(only=KEY_ROW, compact=True, show_command_palette=False,
                               id="keys-footer-key")
            yield ActionFooter(exclude=KEY_ROW, first=("help",), compact=True,
                               id="keys-footer-view")

    async def on_mount(self) -> None:
        app = changeup_app(self)
        if app.read_only:
            self.query_one("#create-key", Button).disabled = True
        self._show_environment()
        self.watch(app, "environment", self._follow_environment, init=False)
        # The first page is read before the page's first frame, which then shows the keys:
        # one frame instead of a frame without them and another. Keys pressed meanwhile wait
        # in this screen's queue and reach the page once it has its keys.
        await self.table.load(then=lambda page: self._first_page_shown(page, None))

    def on_screen_suspend(self) -> None:
        """A modal on top shows its own keys: this page's, which would do nothing there, are
        hidden beneath it."""
        self.query("#keys-footers").set(display=False)

    def on_screen_resume(self) -> None:
        self.query("#keys-footers").set(display=True)

    # -- the query and its pages ---------------------------------------------------------------

    def _follow_environment(self, environment: Environment) -> None:
        self.environment = environment

    def watch_environment(self) -> None:
        self._show_environment()
        self.reload()

    def _show_environment(self) -> None:
        environment = self.environment
        self.set_class(environment is Environment.LIVE, "-live")
        self.query_one("#keys-title", Label).update(f"{environment.label} API Keys")

    def watch_search(self) -> None:
        self.reload()

    def watch_sort(self) -> None:
        self.reload(select=self._selected_id())

    def watch_include_revoked(self) -> None:
        self.reload(select=self._selected_id())

    def _selected_id(self) -> str | None:
        key = self.selected_key
        return key.client_id if key is not None else None

    def reload(self, select: str | None = None) -> None:
        """Read the first page again; then move the cursor to `select`, a Client ID."""
        self.table.reload(lambda page: self._first_page_shown(page, select))

    def action_reload(self) -> None:
        """ctrl+r: read the rows again, the cursor kept on its key (as when a change made
        elsewhere is seen)."""
        self.table.refresh_rows()

    def on_paged_table_refreshed(self, event: PagedTable.Refreshed) -> None:
        if event.table is self.table:
            self._first_page_shown(event.page, None)

    async def _fetch(self, after: KeyCursor | None) -> KeysPage:
        """One page of the query, counted when it is the first."""
        service = changeup_app(self).service
        environment, search = self.environment, self.search
        include_revoked = self.include_revoked
        self.table.sort_field = self.sort
        page = await service.list(
            environment, search=search, sort=self.sort, include_revoked=include_revoked,
            limit=PAGE_SIZE, after=after,
        )
        if after is not None:
            return Page(page.keys, page.next_cursor)
        total = await service.count(environment, search=search, include_revoked=include_revoked)
        any_keys = bool(total) or search != "" or (
            not include_revoked and await service.count(environment) > 0
        )
        return Page(page.keys, page.next_cursor, total=total, any_rows=any_keys)

    async def _fetch_before(self, before: KeyCursor | None) -> KeysPage:
        """The page of the query that ends at `before`; the last page when None (`end`)."""
        page = await changeup_app(self).service.list_before(
            self.environment, search=self.search, sort=self.sort,
            include_revoked=self.include_revoked, limit=PAGE_SIZE, before=before,
        )
        return Page(page.keys, page.next_cursor)

    def _first_page_shown(self, page: KeysPage, select: str | None) -> None:
        table = self.table
        self.total = page.total
        self._show_count(page.any_rows)
        if select and table.select(select):
            table.focus()
        self._show_view()
        self._refresh_bindings()

    def _show_count(self, any_keys: bool) -> None:
        env = self.environment
        total = self.total or 0
        self.query_one("#keys-count", Label).update(
            f"{total} key" + ("" if total == 1 else "s")
        )
        empty = not any_keys  # none at all, revoked ones included: not a filter's doing
        self.table.display = total > 0
        if total and self.focused is None:
            self.table.focus()
        message = self.query_one("#keys-empty", Static)
        message.display = empty or total == 0
        if not empty and total == 0:
            if self.search:
                message.update(f"No keys match “{visible(self.search, 40)}”. "
                               "Escape in the filter clears it.")
            else:
                message.update(f"No active {env.label} keys: v shows the revoked ones.")
        elif empty:
            if changeup_app(self).read_only:
                message.update(
                    f"No {env.label} API keys yet, and this database is read-only: "
                    "keys cannot be created here."
                )
            else:
                message.update(
                    f"No {env.label} API keys yet.\n\n"
                    "Press n, or choose “Create New API Key” above, to create your first one. "
                    "You name it; its Secret Key is then shown once, for you to copy."
                )

    # -- actions -------------------------------------------------------------------------------

    @property
    def selected_key(self) -> ApiKey | None:
        return self.table.selected_key

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """False hides a binding (it does not apply to this key or view), None greys it out (it
        would apply, but the database is read-only)."""
        key = self.selected_key
        if action in SELECTION_ACTIONS:
            if key is None:
                return False
            if action in KEY_CHANGES and not allows(key.status, KEY_CHANGES[action]):
                return False
        if action == "show_revoked" and self.include_revoked:
            return False
        if action == "hide_revoked" and not self.include_revoked:
            return False
        if action in WRITE_ACTIONS and changeup_app(self).read_only:
            return None
        return True

    @on(Button.Pressed, "#create-key")
    def _create_pressed(self) -> None:
        self.action_create_key()

    def action_create_key(self) -> None:
        if not changeup_app(self).read_only:
            self._create_flow()

    @work(exclusive=True, group="create-flow")
    async def _create_flow(self) -> None:
        # The modals are imported where they are used: the first frame does not need them.
        from changeup_tui.tui.modals.name_modal import NameModal
        from changeup_tui.tui.modals.reveal_modal import RevealModal

        app = changeup_app(self)
        environment = app.environment
        created = await app.push_screen_wait(NameModal(app.service, environment))
        if created is None:
            return
        key = created.key
        await app.push_screen_wait(RevealModal(created, app.clipboard_clearer.copier))
        del created  # the Secret goes with it: nothing here holds it past the reveal modal
        if app.environment is not environment:
            app.environment = environment
        self.reload(select=key.client_id)
        self.notify(
            f"API key “{visible(key.name, 64)}” created in {environment.label}.",
            title="Key created", markup=False,
        )

    def action_copy_client_id(self) -> None:
        key = self.selected_key
        if key is not None:
            self._copy_client_id(key.client_id)

    @work(group="copy")
    async def _copy_client_id(self, client_id: str) -> None:
        app = changeup_app(self)
        result = await app.clipboard_clearer.copier.copy(app, client_id)
        self.notify(result.message, title="Client ID", markup=False,
                    severity="information" if result.ok else "error")

    def on_data_table_row_highlighted(self) -> None:  # KeysTable.RowHighlighted
        self._refresh_bindings()

    def _refresh_bindings(self) -> None:
        """Refresh the footers when the selected key's status, which all the key actions depend
        on, changed (the view's bindings follow include_revoked by themselves). Their keys are
        widgets rebuilt on each refresh: holding ↓ through the list does not rebuild them on
        every row."""
        key = self.selected_key
        status = key.status if key is not None else None
        if status is not self._bindings_status:
            self._bindings_status = status
            self.refresh_bindings()

    # -- the selected key's lifecycle ----------------------------------------------------------

    def _applies(self, action: str) -> ApiKey | None:
        """The selected key when `action` applies to it now (the palette calls actions too)."""
        if self.check_action(action, ()) is not True:
            return None
        return self.selected_key

    async def _fresh(self, key: ApiKey, action: str) -> ApiKey | None:
        """The key as the database has it now, when `action` still applies to it; else None,
        with a word on why and the rows read again (someone else changed it, the command line
        say, since the list was read)."""
        try:
            fresh = await changeup_app(self).service.get(key.client_id)
        except ChangeupError as exc:
            self.notify(str(exc), title="Changed elsewhere", severity="warning", markup=False)
            self.action_reload()
            return None
        change = KEY_CHANGES.get(action)
        if change is not None and not allows(fresh.status, change):
            self.notify(
                f"“{visible(fresh.name, 64)}” is {fresh.status.value} now (changed elsewhere): "
                "nothing done.",
                title="Changed elsewhere", severity="warning", markup=False,
            )
            self.action_reload()
            return None
        if fresh != key:
            self.table.update(fresh)
        return fresh

    def action_roll_key(self) -> None:
        key = self._applies("roll_key")
        if key is not None:
            self._roll_flow(key)

    @work(exclusive=True, group="key-flow")
    async def _roll_flow(self, key: ApiKey) -> None:
        from changeup_tui.tui.modals.grace_picker import GracePicker
        from changeup_tui.tui.modals.reveal_modal import RevealModal

        app = changeup_app(self)
        fresh = await self._fresh(key, "roll_key")
        if fresh is None:
            return
        key = fresh
        grace = await app.push_screen_wait(GracePicker(key))
        if grace is None:
            return
        self.notify("Making the new Secret Key…", title="Roll", markup=False, timeout=2)
        try:
            rolled = await app.service.roll(key.client_id, grace, confirmed=False)
        except ChangeupError as exc:
            self.notify(str(exc), title="Not rolled", severity="error", markup=False)
            return
        await app.push_screen_wait(RevealModal(rolled, app.clipboard_clearer.copier))
        del rolled  # the Secret goes with it
        self.table.refresh_rows()
        until = "now" if not grace else f"for {grace_words(grace)}"
        self.notify(
            f"“{visible(key.name, 64)}” has a new Secret Key; the old one works {until}.",
            title="Key rolled", markup=False,
        )

    def action_revoke_key(self) -> None:
        key = self._applies("revoke_key")
        if key is not None:
            self._revoke_flow(key)

    @work(exclusive=True, group="key-flow")
    async def _revoke_flow(self, key: ApiKey) -> None:
        from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm

        app = changeup_app(self)
        fresh = await self._fresh(key, "revoke_key")
        if fresh is None:
            return
        key = fresh
        typed = await app.push_screen_wait(RevokeConfirm(key))
        if typed is None:
            return
        try:
            await app.service.revoke(key.client_id, confirm_name=typed or None)
        except ChangeupError as exc:
            self.notify(str(exc), title="Not revoked", severity="error", markup=False)
            return
        self.table.refresh_rows()  # the cursor stays where the key was: on its neighbour
        hidden = "" if self.include_revoked else " (v shows revoked keys)"
        self.notify(f"“{visible(key.name, 64)}” is revoked{hidden}.", title="Key revoked",
                    markup=False)

    def action_disable_key(self) -> None:
        key = self._applies("disable_key")
        if key is not None:
            self._set_enabled(key, False)

    def action_enable_key(self) -> None:
        key = self._applies("enable_key")
        if key is not None:
            self._set_enabled(key, True)

    @work(exclusive=True, group="key-flow")
    async def _set_enabled(self, key: ApiKey, enabled: bool) -> None:
        if not enabled and key.environment is Environment.LIVE:
            from changeup_tui.tui.modals.disable_confirm import DisableConfirm

            fresh = await self._fresh(key, "disable_key")
            if fresh is None or not await self.app.push_screen_wait(DisableConfirm(fresh)):
                return
        try:
            service = changeup_app(self).service
            changed = await (service.enable if enabled else service.disable)(key.client_id)
        except ChangeupError as exc:
            self.notify(str(exc), title="Not changed", severity="error", markup=False)
            return
        self.table.update(changed)
        self._refresh_bindings()
        what = "enabled: it verifies again" if enabled else "disabled: it is refused until enabled"
        self.notify(f"“{visible(key.name, 64)}” {what}.",
                    title="Key enabled" if enabled else "Key disabled", markup=False)

    def action_rename_key(self) -> None:
        key = self._applies("rename_key")
        if key is not None:
            self._rename_flow(key)

    @work(exclusive=True, group="key-flow")
    async def _rename_flow(self, key: ApiKey) -> None:
        from changeup_tui.tui.modals.rename_modal import RenameModal

        app = changeup_app(self)
        fresh = await self._fresh(key, "rename_key")
        if fresh is None:
            return
        key = fresh
        renamed = await app.push_screen_wait(RenameModal(app.service, key))
        if renamed is None:
            return
        self.table.refresh_rows()  # the cursor stays on the key, wherever its new name sorts
        self.notify(f"Renamed to “{visible(renamed.name, 64)}”.", title="Key renamed",
                    markup=False)

    def start_flow(self, action: str, key: ApiKey) -> Worker[None] | None:
        """Start a key action's flow on `key` (the key's details screen uses the page's own
        flows: the same modals and checks); None when it does not apply."""
        change = KEY_CHANGES.get(action)
        if change is None or not allows(key.status, change) or changeup_app(self).read_only:
            return None
        if action == "roll_key":
            return self._roll_flow(key)
        if action == "revoke_key":
            return self._revoke_flow(key)
        if action == "rename_key":
            return self._rename_flow(key)
        return self._set_enabled(key, action == "enable_key")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter (or a click) on a key: its details."""
        if event.data_table is self.table:
            self.action_key_details()

    def action_key_details(self) -> None:
        key = self.selected_key
        if key is not None:
            from changeup_tui.tui.screens.key_detail import KeyDetailScreen

            self.app.push_screen(KeyDetailScreen(self, key))

    def action_key_activity(self) -> None:
        key = self._applies("key_activity")
        if key is not None:
            from changeup_tui.tui.screens.activity_log import ActivityLogScreen

            self.app.push_screen(ActivityLogScreen(client_id=key.client_id, key_name=key.name))

    # -- the view: filter, sort, revoked -------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.display = True
        field.focus()

    @on(Input.Changed, "#keys-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        self.search = self.query_one(FilterInput).value.strip()  # the same: no reload

    @on(Input.Submitted, "#keys-filter")
    def _filter_submitted(self) -> None:
        self._apply_filter()
        self.set_focus(self.table)

    @on(FilterInput.Left)
    def _filter_left(self, event: FilterInput.Left) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter()
        field = self.query_one(FilterInput)
        if event.cleared:
            field.display = False
        self.set_focus(self.table)

    def action_cycle_sort(self) -> None:
        self.sort = SORT_CYCLE[(SORT_CYCLE.index(self.sort) + 1) % len(SORT_CYCLE)]

    def action_show_revoked(self) -> None:
        self.include_revoked = True

    def action_hide_revoked(self) -> None:
        self.include_revoked = False

    def _show_view(self) -> None:
        """One line on what shapes the list, shown only when it differs from the default."""
        parts = []
        if self.search:
            parts.append(f"matching “{visible(self.search, 40)}”")
        if self.include_revoked:
            parts.append("revoked ones included")
        if self.sort is not SortField.CREATED:
            parts.append(f"sorted {SORT_LABELS[self.sort]}")
        view = self.query_one("#keys-view", Static)
        view.display = bool(parts)
        view.update("Showing keys " + ", ".join(parts) + "." if parts else "")
