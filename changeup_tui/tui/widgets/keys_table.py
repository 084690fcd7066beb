"""The API Keys table: Name, Client ID (in full), Secret (the hint), Created, Last used, Status
(with an "expires in N days" badge on a key that expires). It holds the keys loaded so far (a page
at a time) and knows the selected one."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from changeup_tui.core.models import ApiKey
from changeup_tui.tui.formatting import expiry, local_date, plain, relative
from changeup_tui.tui.widgets.paged_table import PagedTable

STATUS_STYLES = {"active": "green", "disabled": "yellow", "revoked": "red", "expired": "red"}
SOON = timedelta(days=7)
"""A key expiring within this is flagged in a warning colour."""


class KeysTable(PagedTable):
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

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._keys: dict[str, ApiKey] = {}

    def on_mount(self) -> None:
        for label, key in self.COLUMNS:
            self.add_column(label, key=key)

    def cells(self, key: ApiKey, now: datetime) -> tuple:
        state = key.state(now)
        return (
            plain(key.name, self.NAME_LIMIT),
            self.status_cell(key, state, now),
            Text(key.client_id),
            Text(relative(key.last_used_at, now)),
            Text(key.masked_secret),
            Text(local_date(key.created_at)),
        )

    @staticmethod
    def status_cell(key: ApiKey, state: str, now: datetime) -> Text:
        """The state in its colour; an active key that will expire shows the badge instead
        ("expires in 30 days": still active, not for ever)."""
        if state == "active" and key.expires_at is not None:
            soon = key.expires_at - now <= SOON
            return Text(expiry(key.expires_at, now),
                        style="bold black on yellow" if soon else "black on grey70")
        return Text(state, style=STATUS_STYLES.get(state, ""))

    def show_keys(self, keys: tuple[ApiKey, ...], now: datetime, *, reset: bool) -> None:
        if reset:
            self.clear()
            self._keys.clear()
        for key in keys:
            if key.client_id in self._keys:
                continue
            self._keys[key.client_id] = key
            self.add_row(*self.cells(key, now), key=key.client_id)
        self.pages_reset()

    def update_key(self, key: ApiKey, now: datetime) -> None:
        """Replace one row in place (after a roll, a rename, a status change)."""
        if key.client_id not in self._keys:
            return
        self._keys[key.client_id] = key
        for (_, column), value in zip(self.COLUMNS, self.cells(key, now), strict=True):
            self.update_cell(key.client_id, column, value)

    @property
    def selected_key(self) -> ApiKey | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return self._keys.get(row_key.value)

    def select(self, client_id: str) -> bool:
        """Move the cursor to a key; False when it is not loaded."""
        if client_id not in self._keys:
            return False
        self.move_cursor(row=self.get_row_index(client_id), animate=False, scroll=True)
        return True
