"""The Activity Log table: time (local), action, detail, then the key (its name now, and its Client
ID beside it, which also says Live or Test), actor and origin (where from, and TUI or CLI), a page
at a time (see PagedTable). Width-aware, like the keys table: as the terminal narrows the columns
are kept whole and the less important ones dropped (see column_layout)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text

from changeup_tui.core.models import AuditEvent, Environment
from changeup_tui.tui.formatting import local_time, plain
from changeup_tui.tui.paging import Page
from changeup_tui.tui.widgets.paged_table import PagedTable


class AuditTable(PagedTable[AuditEvent, int]):
    COLUMNS = (
        ("Time", "time"),
        ("Action", "action"),
        ("Detail", "detail"),
        ("Key", "key_name"),
        ("Env", "environment"),
        ("Client ID", "key"),
        ("Actor", "actor"),
        ("Origin", "origin"),
    )
    """Time, Action and the key's name (whole when there is room: at least NAME_MIN) are always
    shown, with the short Env column (Live or Test). Then, while they fit: Detail, Actor and
    Origin, each whole (Detail may start narrower and widen to whole with the room left). Last
    the Client ID in full, which needs 35 cells, in Env's place: without it, the name and Env
    still tell which key it was."""
    LIMITS: ClassVar[dict[str, int]] = {"action": 24, "detail": 40, "key_name": 24, "actor": 20, "origin": 40}
    """The longest cell of each column of database text (longer is cut with an ellipsis)."""
    TIME_WIDTH = 19
    CLIENT_ID_WIDTH = 35
    ENV_WIDTH = 4
    NAME_MIN = 12
    DETAIL_MIN = 10
    OPTIONAL = ("detail", "actor", "origin")
    """The columns shown when they fit, most important first."""
    SCROLLBAR = 2
    ERROR_TITLE = "Cannot read the log"

    def __init__(
        self, fetch: Callable[[int | None], Awaitable[Page[AuditEvent, int]]], **kwargs: Any
    ) -> None:
        super().__init__(fetch, **kwargs)
        self._widths: dict[str, int] = {}
        """The widest cell of each column made since the rows were last read anew (at least its
        header)."""
        self.forget_rows()

    def forget_rows(self) -> None:
        self._widths = {key: len(label) for label, key in self.COLUMNS}

    def column_layout(self, width: int) -> list[tuple[str, int | None]]:
        pad = 2 * self.cell_padding
        room = width - self.SCROLLBAR
        natural = self._widths
        shown: dict[str, int] = {}

        def take(key: str, cells: int) -> bool:
            nonlocal room
            if room < cells + pad:
                return False
            shown[key] = cells
            room -= cells + pad
            return True

        def widen(key: str) -> None:
            nonlocal room
            if key in shown:
                more = max(0, min(room, natural[key] - shown[key]))
                shown[key] += more
                room -= more

        take("time", self.TIME_WIDTH)
        take("action", natural["action"])
        take("key_name", min(natural["key_name"], self.NAME_MIN))
        take("environment", self.ENV_WIDTH)
        widen("key_name")
        for key in self.OPTIONAL:
            take(key, min(natural[key], self.DETAIL_MIN) if key == "detail" else natural[key])
        widen("detail")
        if "environment" in shown and room + self.ENV_WIDTH >= self.CLIENT_ID_WIDTH:
            del shown["environment"]
            room += self.ENV_WIDTH + pad
            take("key", self.CLIENT_ID_WIDTH)
        return [(key, shown[key]) for _, key in self.COLUMNS if key in shown]

    def row_key(self, row: AuditEvent) -> str:
        return str(row.id)

    def cells(self, row: AuditEvent) -> tuple[Text, ...]:
        limits = self.LIMITS
        env = row.environment
        cells = (
            Text("damaged", style="bold red") if "at" in row.unreadable else Text(local_time(row.at)),
            plain(row.action, limits["action"]),
            plain(row.detail, limits["detail"]),
            plain(row.key_name, limits["key_name"]) if row.key_name else Text("—"),
            Text(env.label, style="bold" if env is Environment.LIVE else "") if env else Text("—"),
            plain(row.client_id or "—", 40),
            plain(row.actor, limits["actor"]),
            plain(row.origin, limits["origin"]),
        )
        for (_, key), cell in zip(self.COLUMNS, cells, strict=True):
            if key in limits:
                self._widths[key] = max(self._widths[key], cell.cell_len)
        return cells
