"""The Activity Log table: time (local), action, detail, then the key (its name now, and its Client
ID beside it, which also says Live or Test), actor and origin (where from, and TUI or CLI), a page
at a time (see PagedTable). Detail comes before the wide Client ID so that it is never off screen
at 120 columns."""

from __future__ import annotations

from rich.text import Text

from changeup_tui.core.models import AuditEvent
from changeup_tui.tui.formatting import local_time, plain
from changeup_tui.tui.widgets.paged_table import PagedTable


class AuditTable(PagedTable[AuditEvent, int]):
    COLUMNS = (
        ("Time", "time"),
        ("Action", "action"),
        ("Detail", "detail"),
        ("Key", "key_name"),
        ("Client ID", "key"),
        ("Actor", "actor"),
        ("Origin", "origin"),
    )
    ERROR_TITLE = "Cannot read the log"

    def row_key(self, row: AuditEvent) -> str:
        return str(row.id)

    def cells(self, row: AuditEvent) -> tuple[Text, ...]:
        return (
            Text("damaged", style="bold red") if "at" in row.unreadable else Text(local_time(row.at)),
            plain(row.action, 24),
            plain(row.detail, 40),
            plain(row.key_name, 24) if row.key_name else Text("—"),
            plain(row.client_id or "—", 40),
            plain(row.actor, 20),
            plain(row.origin, 40),
        )
