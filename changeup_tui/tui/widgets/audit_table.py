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
    """All whole when they fit (the Client ID needs 35 cells). As the terminal narrows, see
    column_layout: the short Env column (Live or Test) stands in for the Client ID (with the name
    it still tells which key it was), the name narrows, then Origin, Actor and Detail go. Time,
    Action, the name and Env stay."""
    LIMITS: ClassVar[dict[str, int]] = {"action": 24, "detail": 40, "key_name": 24, "actor": 20, "origin": 40}
    """The longest cell of each column of database text (longer is cut with an ellipsis)."""
    TIME_WIDTH = 19
    CLIENT_ID_WIDTH = 35
    ENV_WIDTH = 4
    NAME_SOFT = 16
    NAME_MIN = 12
    OPTIONAL = ("detail", "actor", "origin")
    """The columns shown when they fit whole, most important first (dropped the last first)."""
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
        """Every column whole when they fit. Else, in this order, until they fit: the Client ID
        gives way to Env; the name narrows to NAME_SOFT; Origin, Actor, then Detail are dropped;
        the name narrows to NAME_MIN. Then a dropped column that fits whole comes back (the most
        important first), and what is left widens the name back towards whole."""
        pad = 2 * self.cell_padding
        room = width - self.SCROLLBAR
        natural = self._widths
        shown: dict[str, int] = {
            "time": self.TIME_WIDTH, "action": natural["action"], "detail": natural["detail"],
            "key_name": natural["key_name"], "key": self.CLIENT_ID_WIDTH,
            "actor": natural["actor"], "origin": natural["origin"],
        }

        def over() -> int:
            return sum(cells + pad for cells in shown.values()) - room

        if over() > 0:
            del shown["key"]
            shown["environment"] = self.ENV_WIDTH
        if over() > 0:
            shown["key_name"] = max(min(self.NAME_SOFT, natural["key_name"]),
                                    shown["key_name"] - over())
        dropped = []
        for key in reversed(self.OPTIONAL):
            if over() > 0:
                del shown[key]
                dropped.append(key)
        if over() > 0:
            shown["key_name"] = max(min(self.NAME_MIN, natural["key_name"]),
                                    shown["key_name"] - over())
        for key in self.OPTIONAL:
            if key in dropped and natural[key] + pad <= -over():
                shown[key] = natural[key]
        shown["key_name"] += max(0, min(-over(), natural["key_name"] - shown["key_name"]))
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
