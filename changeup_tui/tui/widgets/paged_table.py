"""A DataTable that asks for more rows when its cursor or scroll position nears the end, so a
screen can load a page at a time instead of every row."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable


class PagedTable(DataTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        # A row table: Home and End go to the first and the last row loaded (End loads more).
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]
    NEAR_END = 20
    """Ask for the next page when the cursor is this many rows from the end."""

    class NearEnd(Message):
        def __init__(self, table: PagedTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> PagedTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._asked = False

    def pages_reset(self) -> None:
        """Call after rows were added or the table cleared: the next near-end asks again."""
        self._asked = False

    def _check_near_end(self, last_row: int) -> None:
        """`last_row`: the lowest row the reader can see or has reached (rows are 1 line)."""
        if self._asked or not self.row_count:
            return
        if last_row >= self.row_count - self.NEAR_END:
            self._asked = True
            self.post_message(self.NearEnd(self))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self:
            self._check_near_end(self.cursor_row)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value:  # scrolled down (mouse wheel, scrollbar)
            self._check_near_end(int(new_value) + self.scrollable_content_region.height)
