"""The Activity Log table: time (local), actor, origin, action, environment, key, detail."""

from __future__ import annotations

from rich.text import Text

from changeup_tui.core.models import AuditEvent
from changeup_tui.tui.formatting import local_time, plain
from changeup_tui.tui.widgets.paged_table import PagedTable


class AuditTable(PagedTable):
    COLUMNS = ("Time", "Actor", "Origin", "Action", "Environment", "Key", "Detail")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.oldest_id: int | None = None

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)

    def show_events(self, events: list[AuditEvent], *, reset: bool) -> None:
        if reset:
            self.clear()
            self.oldest_id = None
        for event in events:
            self.add_row(
                Text(local_time(event.at)),
                plain(event.actor, 20),
                plain(event.origin, 40),
                plain(event.action, 24),
                Text(event.environment.label if event.environment else "—"),
                plain(event.client_id or "—", 40),
                plain(event.detail, 40),
                key=str(event.id),
            )
            if event.id is not None:
                self.oldest_id = event.id
        self.pages_reset()
