"""The Activity Log table: time (local), actor, origin, action, environment, key, detail, a page
at a time (see PagedTable)."""

from __future__ import annotations

from rich.text import Text

from changeup_tui.core.models import AuditEvent
from changeup_tui.tui.formatting import local_time, plain
from changeup_tui.tui.widgets.paged_table import PagedTable


class AuditTable(PagedTable[AuditEvent, int]):
    COLUMNS = (
        ("Time", "time"),
        ("Actor", "actor"),
        ("Origin", "origin"),
        ("Action", "action"),
        ("Environment", "environment"),
        ("Key", "key"),
        ("Detail", "detail"),
    )
    ERROR_TITLE = "Cannot read the log"

    def row_key(self, row: AuditEvent) -> str:
        return str(row.id)

    def cells(self, row: AuditEvent) -> tuple[Text, ...]:
        return (
            Text("damaged", style="bold red") if "at" in row.unreadable else Text(local_time(row.at)),
            plain(row.actor, 20),
            plain(row.origin, 40),
            plain(row.action, 24),
            Text(row.environment.label if row.environment else "—"),  # an enum: never raw
            plain(row.client_id or "—", 40),
            plain(row.detail, 40),
        )
