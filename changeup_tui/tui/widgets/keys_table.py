"""The API Keys table: Name, Status (with an "expires in N days" badge on a key that expires),
Client ID (in full), Last used, Secret (the hint), Created. It holds the keys loaded so far (a page
at a time, see PagedTable) and knows the selected one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text

from changeup_tui.core.models import NEVER_CONFIRMED, ApiKey, KeyCursor, SortField
from changeup_tui.tui.formatting import expiry, local_date, plain, relative
from changeup_tui.tui.paging import Page
from changeup_tui.tui.widgets.paged_table import PagedTable

STATUS_STYLES = {
    "active": "green", "disabled": "yellow", "revoked": "red", "expired": "red",
    "damaged": "bold red",
}
SORTED_COLUMN = {
    SortField.CREATED: ("created", "▼"),
    SortField.NAME: ("name", "▲"),
    SortField.LAST_USED: ("last_used", "▼"),
}
"""The column each sort orders by, and its direction (newest first, A to Z, latest first)."""
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
    """What an operator scans for first comes first. As the terminal narrows (see column_layout) the
    Client ID keeps its full width, the name narrows, and Secret, then Created, then Last used
    are dropped."""
    NAME_LIMIT = 32
    CLIENT_ID_WIDTH = 35
    NAME_MIN = 16
    OPTIONAL = (("last_used", 11), ("created", 10), ("secret", 16))
    """The columns dropped as the terminal narrows, the last first, with their widths."""
    SCROLLBAR = 2
    ERROR_TITLE = "Cannot read the keys"

    def __init__(
        self, fetch: Callable[[KeyCursor | None], Awaitable[KeysPage]],
        clock: Callable[[], datetime], **kwargs: Any,
    ) -> None:
        super().__init__(fetch, **kwargs)
        self.clock = clock
        self._name_width = 0
        self._status_width = 6
        """The widest Status cell made since the rows were last read anew (len("Status"))."""
        self.sort_field = SortField.CREATED
        """The query's order, shown in the headers from the next first page read."""

    def column_label(self, label: str, key: str) -> str:
        column, arrow = SORTED_COLUMN[self.sort_field]
        return f"{label} {arrow}" if key == column else label

    def column_layout(self, width: int) -> list[tuple[str, int | None]]:
        """Client ID in full and Status first; then the name (at least NAME_MIN: a name says
        which key it is); then Last used, Created and Secret while they fit; what is left widens
        the name up to NAME_LIMIT."""
        pad = 2 * self.cell_padding
        status = self._status_width
        room = width - self.SCROLLBAR - (self.CLIENT_ID_WIDTH + pad) - (status + pad)
        wanted = max(self.NAME_MIN, min(self._name_width, self.NAME_LIMIT + 1))
        name = min(wanted, max(self.NAME_MIN, room - pad))  # the names whole, when they fit
        room -= name + pad
        optional: dict[str, int] = {}
        for key, column_width in self.OPTIONAL:
            if room >= column_width + pad:
                optional[key] = column_width
                room -= column_width + pad
        name += max(0, min(room, self.NAME_LIMIT + 1 - name))
        widths: dict[str, int] = {
            "name": name, "status": status, "client_id": self.CLIENT_ID_WIDTH, **optional,
        }
        return [(key, widths[key]) for _, key in self.COLUMNS if key in widths]

    def forget_rows(self) -> None:
        self._status_width = 6
        self._name_width = 0

    def row_key(self, row: ApiKey) -> str:
        return row.client_id

    def cells(self, row: ApiKey) -> tuple[Text, ...]:
        """Every cell of text from the database goes through `plain` (core.text.visible); a
        column a damaged row could not read shows "—"."""
        now = self.clock()
        state = row.state(now)
        unreadable = row.unreadable
        status = self.status_cell(row, state, now)
        self._status_width = max(self._status_width, status.cell_len)
        name = plain(row.name, self.NAME_LIMIT)
        self._name_width = max(self._name_width, name.cell_len)
        return (
            name,
            status,
            plain(row.client_id),
            Text("—" if "last_used_at" in unreadable else relative(row.last_used_at, now)),
            Text("—") if "hint" in unreadable else plain(row.masked_secret),
            Text("—" if "created_at" in unreadable else local_date(row.created_at)),
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
