"""Account Settings › API Key: the current environment's keys, a page at a time (keyset
pagination in SQL; the next page loads as the cursor nears the end), the empty state, and the
create flow: name modal → reveal modal → the new key highlighted in the list.

To add an action on the selected key: a Binding in BINDINGS, an `action_*` method that reads
`self.selected_key`, and a line in `check_action` if it writes (refused on a read-only
database) or needs a selected key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Static

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import ApiKey, Environment, SortField
from changeup_tui.core.text import visible
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.widgets.header import AppHeader
from changeup_tui.tui.widgets.keys_table import KeysTable

PAGE_SIZE = 100
WRITE_ACTIONS = frozenset({"create_key"})
SELECTION_ACTIONS = frozenset({"copy_client_id"})


@dataclass
class _Query:
    environment: Environment
    search: str = ""
    sort: SortField = SortField.CREATED


class ApiKeysScreen(Screen):
    BREADCRUMB = "Account Settings › API Key"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "create_key", "Create New API Key"),
        Binding("c", "copy_client_id", "Copy Client ID"),
        Binding("escape", "app.account_settings", "Account Settings"),
    ]

    class KeysLoaded(Message):
        def __init__(
            self, generation: int, keys: tuple[ApiKey, ...], next_cursor: tuple | None,
            total: int | None, reset: bool, select: str | None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.keys = keys
            self.next_cursor = next_cursor
            self.total = total
            self.reset = reset
            self.select = select

    def __init__(self) -> None:
        super().__init__()
        self.query_state = _Query(Environment.TEST)
        self.total: int | None = None
        self._generation = 0
        self._next_cursor: tuple | None = None
        self._loading_more = False

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with Vertical(id="keys-body"):
            with Horizontal(id="keys-bar"):
                yield Label("API Keys", id="keys-title")
                yield Label("", id="keys-count")
                yield Button("Create New API Key", id="create-key", variant="primary")
            yield Static(
                "Each key is a Client ID (always shown here) and a Secret Key (shown once, when "
                "the key is created).",
                id="keys-intro",
            )
            yield KeysTable(id="keys-table")
            yield Static("", id="keys-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#keys-table").display = False
        self.query_one("#keys-empty").display = False
        if self.app.read_only:
            self.query_one("#create-key", Button).disabled = True
        self.query_one(KeysTable).focus()
        self.watch(self.app, "environment", self._environment_changed)

    # -- loading, a page at a time -------------------------------------------------------------

    def _environment_changed(self, environment: Environment) -> None:
        self.query_state.environment = environment
        self.set_class(environment is Environment.LIVE, "-live")
        self.query_one("#keys-title", Label).update(f"{environment.label} API Keys")
        self.reload()

    def reload(self, select: str | None = None) -> None:
        self._generation += 1
        self._next_cursor = None
        self._load(self._generation, None, reset=True, select=select)

    @work(exclusive=True, group="load-keys")
    async def _load(
        self, generation: int, after: tuple | None, *, reset: bool, select: str | None = None
    ) -> None:
        q = self.query_state
        service = self.app.service
        try:
            page = await service.list(
                q.environment, search=q.search, sort=q.sort, limit=PAGE_SIZE, after=after
            )
            total = await service.count(q.environment, search=q.search) if reset else None
        except StoreError as exc:
            self.notify(str(exc), title="Cannot read the keys", severity="error", markup=False)
            return
        finally:
            self._loading_more = False
        self.post_message(
            self.KeysLoaded(generation, page.keys, page.next_cursor, total, reset, select)
        )

    @on(KeysLoaded)
    def _loaded(self, message: KeysLoaded) -> None:
        if message.generation != self._generation:
            return  # the environment or the query changed meanwhile
        table = self.query_one(KeysTable)
        table.show_keys(message.keys, self.app.service.clock(), reset=message.reset)
        self._next_cursor = message.next_cursor
        if message.total is not None:
            self.total = message.total
            self._show_count()
        if message.select and table.select(message.select):
            table.focus()
        self.refresh_bindings()

    @on(KeysTable.NearEnd)
    def _near_end(self) -> None:
        if self._next_cursor is not None and not self._loading_more:
            self._loading_more = True
            self._load(self._generation, self._next_cursor, reset=False)

    def _show_count(self) -> None:
        env = self.query_state.environment
        total = self.total or 0
        self.query_one("#keys-count", Label).update(
            f"{total} key" + ("" if total == 1 else "s")
        )
        empty = total == 0 and not self.query_state.search
        table = self.query_one(KeysTable)
        table.display = not empty
        message = self.query_one("#keys-empty", Static)
        message.display = empty
        if empty:
            if self.app.read_only:
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
        return self.query_one(KeysTable).selected_key

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self.app.read_only:
            return None
        if action in SELECTION_ACTIONS and self.selected_key is None:
            return None
        return True

    @on(Button.Pressed, "#create-key")
    def _create_pressed(self) -> None:
        self.action_create_key()

    def action_create_key(self) -> None:
        if not self.app.read_only:
            self._create_flow()

    @work(exclusive=True, group="create-flow")
    async def _create_flow(self) -> None:
        app = self.app
        environment = app.environment
        created = await app.push_screen_wait(NameModal(app.service, environment))
        if created is None:
            return
        key = created.key
        await app.push_screen_wait(RevealModal(created, app.copier))
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
        result = await self.app.copier.copy(self.app, client_id)
        self.notify(result.message, title="Client ID", markup=False,
                    severity="information" if result.ok else "error")

    @on(KeysTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()
