"""Account Settings › API Key › one key (enter on a key): everything a person may see about it
(KeyService.detail): the full name (the table cuts names), status, Client ID, created at and by,
the exact expiry, last used, every secret that still verifies with its hint and until when (after
a roll with grace, the old one too), and the key's recent activity. The actions that apply to it:
roll, revoke, disable or enable and rename run the API Key page's own flows (the same modals and
checks); "end grace now" stops the old secret at once (KeyService.end_grace).

It follows changes made elsewhere as the list does (the store's data_version, polled), and ctrl+r
reads it again."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from changeup_tui.core.errors import ChangeupError, StoreError
from changeup_tui.core.models import NEVER_CONFIRMED, ApiKey, KeyDetail, KeyStatus
from changeup_tui.core.service import allows
from changeup_tui.core.text import visible
from changeup_tui.tui.formatting import local_time, plain, relative
from changeup_tui.tui.paths import style
from changeup_tui.tui.typed_app import changeup_app
from changeup_tui.tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

POLL_SECONDS = 0.25
WRITES = frozenset({"roll_key", "revoke_key", "disable_key", "enable_key", "rename_key",
                    "end_grace"})


class KeyDetailScreen(Screen[None]):
    CSS_PATH = style("key_detail.tcss")
    BREADCRUMB = "Account Settings › API Key › Key details"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "roll_key", "Roll"),
        Binding("x,delete", "revoke_key", "Revoke"),
        Binding("d", "disable_key", "Disable"),
        Binding("d", "enable_key", "Enable"),
        Binding("R,f2", "rename_key", "Rename"),
        Binding("g", "end_grace", "End grace now"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, page: ApiKeysScreen, key: ApiKey) -> None:
        super().__init__()
        self.page = page
        self.key = key
        """As the list had it; replaced by what the database says once read."""
        self.detail: KeyDetail | None = None
        self._version: int | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader(self.BREADCRUMB)
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail-name", markup=False)
            yield Static("", id="detail-facts")
            yield Label("Secrets that verify now", classes="detail-section")
            yield Static("", id="detail-secrets")
            yield Label("Recent activity", classes="detail-section")
            with Vertical(id="detail-activity-box"):
                yield DataTable(id="detail-activity", cursor_type="row", zebra_stripes=True,
                                show_cursor=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#detail-activity", DataTable)
        for label in ("Time", "Actor", "Origin", "Action", "Detail"):
            table.add_column(label, key=label.lower())
        self.set_interval(POLL_SECONDS, self._poll, name="follow-changes")
        self.reload()

    # -- reading -------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True, group="detail")
    async def reload(self) -> None:
        service = changeup_app(self).service
        try:
            self._version = await service.data_version()
            detail = await service.detail(self.key.client_id)
        except ChangeupError as exc:
            self.notify(str(exc), title="Cannot read the key", severity="error", markup=False)
            return
        self.detail = detail
        self.key = detail.key
        self._show(detail)
        self.refresh_bindings()

    async def _poll(self) -> None:
        try:
            version = await changeup_app(self).service.data_version()
        except StoreError:
            return
        if self._version is not None and version != self._version:
            self.reload()
        self._version = version

    def _show(self, detail: KeyDetail) -> None:
        key = detail.key
        now = changeup_app(self).service.clock()
        state = key.state(now)
        self.set_class(key.environment.value == "live", "-live")
        self.query_one("#detail-name", Static).update(plain(key.name, style="bold"))
        facts = Text()
        for label, value, value_style in (
            ("Status", state, f"detail-{state}"),
            # The reveal modal that showed the newest secret never closed normally (a hang-up).
            *((("Secret Key", f"{NEVER_CONFIRMED}: roll this key", "bold white on red"),)
              if key.never_confirmed else ()),
            ("Environment", key.environment.label, ""),
            ("Client ID", key.client_id, "bold"),
            ("Created", f"{local_time(key.created_at)} by {visible(key.created_by, 40)}", ""),
            ("Expires", local_time(key.expires_at) if key.expires_at else "never", ""),
            ("Last used", self._last_used(key, now), ""),
            *((("Revoked" if key.status is KeyStatus.REVOKED else "Status changed",
                local_time(key.status_changed_at), ""),) if key.status_changed_at else ()),
        ):
            facts.append(f"{label:<16}", style="dim")
            facts.append(value, style=_STATE_STYLES.get(value_style, value_style))
            facts.append("\n")
        facts.rstrip()
        self.query_one("#detail-facts", Static).update(facts)
        self.query_one("#detail-secrets", Static).update(self._secrets(detail))
        table = self.query_one("#detail-activity", DataTable)
        table.clear()
        for event in detail.activity:
            table.add_row(
                Text(local_time(event.at)), plain(event.actor, 20), plain(event.origin, 30),
                plain(event.action, 24), plain(event.detail, 60),
            )

    @staticmethod
    def _last_used(key: ApiKey, now: datetime) -> str:
        if key.last_used_at is None:
            return "never"
        return f"{local_time(key.last_used_at)} ({relative(key.last_used_at, now)})"

    @staticmethod
    def _secrets(detail: KeyDetail) -> Text:
        text = Text()
        if not detail.secrets:
            text.append("None: this key is revoked, no secret of it verifies.", style="dim")
            return text
        for secret in detail.secrets:
            text.append(secret.masked(detail.key.environment), style="bold")
            text.append(f"   made {local_time(secret.created_at)}   ", style="dim")
            if secret.expires_at is None:
                text.append("works until the key is rolled, disabled or revoked")
            else:
                text.append(f"old secret, works until {local_time(secret.expires_at)}",
                            style="yellow")
            text.append("\n")
        text.rstrip()
        return text

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        detail = self.detail
        if action in WRITES:
            if detail is None:
                return False
            if action == "end_grace":
                if not detail.grace_secrets or detail.key.status is KeyStatus.REVOKED:
                    return False
            else:
                from changeup_tui.tui.screens.api_keys import KEY_CHANGES

                if not allows(detail.key.status, KEY_CHANGES[action]):
                    return False
            if changeup_app(self).read_only:
                return None
        return True

    def _run_page_flow(self, action: str) -> None:
        if self.check_action(action, ()) is True:
            worker = self.page.start_flow(action, self.key)
            if worker is not None:
                self._after(worker)

    @work(group="detail-after")
    async def _after(self, worker: Worker[None]) -> None:
        """Read the key again once the page's flow (modals, then the write) is over."""
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()
        self.reload()

    def action_roll_key(self) -> None:
        self._run_page_flow("roll_key")

    def action_revoke_key(self) -> None:
        self._run_page_flow("revoke_key")

    def action_disable_key(self) -> None:
        self._run_page_flow("disable_key")

    def action_enable_key(self) -> None:
        self._run_page_flow("enable_key")

    def action_rename_key(self) -> None:
        self._run_page_flow("rename_key")

    def action_end_grace(self) -> None:
        if self.check_action("end_grace", ()) is True:
            self._end_grace()

    @work(exclusive=True, group="end-grace")
    async def _end_grace(self) -> None:
        try:
            key = await changeup_app(self).service.end_grace(self.key.client_id)
        except ChangeupError as exc:
            self.notify(str(exc), title="Grace not ended", severity="error", markup=False)
            return
        self.notify(f"The old secret of “{visible(key.name, 64)}” stops now.",
                    title="Grace period ended", markup=False)
        self.reload()

    def action_back(self) -> None:
        self.dismiss()


_STATE_STYLES = {
    "detail-active": "bold green",
    "detail-disabled": "bold yellow",
    "detail-revoked": "bold red",
    "detail-expired": "bold red",
}
