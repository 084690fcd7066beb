"""The API Keys table: Name, Status (with an "expires in N days" badge on a key that expires),
Client ID (in full), Last used, Secret (the hint), Created. It holds the keys loaded so far (a page
at a time, see PagedTable) and knows the selected one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text

from changeup_tui.core.models import NEVER_CONFIRMED, ApiKey, KeyCursor
from changeup_tui.tui.formatting import expiry, local_date, plain, relative
from changeup_tui.tui.paging import Page
from changeup_tui.tui.widgets.paged_table import PagedTable

STATUS_STYLES = {"active": "green", "disabled": "yellow", "revoked": "red", "expired": "red"}
SOON = timedelta(days=7)
"""A key expiring within this is flagged in a warning colour."""
KeysPage = Page[ApiKey, KeyCursor]


class KeysTable(PagedTable[ApiKey, KeyCursor]):
    COLUMNS = (
        ("Name", "name"),
        ("Status", "status"),
        ("Client ID", "client_id"),
        ("Last used", "last_used"),
        ("Secret", "secret"),
        ("Created", "created"),
    )
    """What an operator scans for first comes first: at 120 columns with long names the last
    ones are the ones cut (the table then scrolls sideways)."""
    NAME_LIMIT = 32
    ERROR_TITLE = "Cannot read the keys"

    def __init__(
        self, fetch: Callable[[KeyCursor | None], Awaitable[KeysPage]],
        clock: Callable[[], datetime], **kwargs: Any,
    ) -> None:
        super().__init__(fetch, **kwargs)
        self.clock = clock

    def row_key(self, row: ApiKey) -> str:
        return row.client_id

    def cells(self, row: ApiKey) -> tuple[Text, ...]:
        now = self.clock()
        state = row.state(now)
        return (
            plain(row.name, self.NAME_LIMIT),
            self.status_cell(row, state, now),
            Text(row.client_id),
            Text(relative(row.last_used_at, now)),
            Text(row.masked_secret),
            Text(local_date(row.created_at)),
        )

    @staticmethod
    def status_cell(key: ApiKey, state: str, now: datetime) -> Text:
        """The state in its colour; an active key that will expire shows the badge instead
        ("expires in 30 days": still active, not for ever). A key whose new secret's one
        showing was cut short (a hang-up) says "secret never confirmed" first: roll it."""
        if key.never_confirmed:
            return Text(NEVER_CONFIRMED, style="bold white on red")
        if state == "active" and key.expires_at is not None:
            soon = key.expires_at - now <= SOON
            return Text(expiry(key.expires_at, now),
                        style="bold black on yellow" if soon else "black on grey70")
        return Text(state, style=STATUS_STYLES.get(state, ""))

    @property
    def selected_key(self) -> ApiKey | None:
        return self.selected
