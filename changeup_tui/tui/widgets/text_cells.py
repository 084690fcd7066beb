"""A DataTable that draws its cells of one line of Rich `Text` straight to segments.

Textual's `DataTable` draws every cell through Rich's general layout: the cell inside a
`Padding` inside a `Styled`, each rendered to lines of its own and cropped again
(`console.render_lines`, nested three deep). A cell of one line of plain `Text` needs none of
that layout: its segments, cropped or padded to the column, the cell padding either side and the
table's styles around them are the same segments. `TextCellTable` draws such cells that way and
hands every other cell to DataTable; `tests/ui/test_text_cells.py` draws the same rows in both
tables and compares the pictures.

Measured in process on the API Key page (26 rows of 5 or 6 cells): a full redraw of the table
(each filter keystroke, page scroll or change seen from elsewhere) 24.6 ms -> 14.4 ms; the first
frame's table 31 ms -> 14 to 16 ms. `bench/startup.py`'s end-to-end figure moves by more than
that from run to run, so it is not claimed there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

NULL = Style.null()


def drawable(cell: object, width: int) -> bool:
    """A cell drawn here as DataTable would, in a column `width` cells wide (its padding
    excluded): one line of Text with no tab, laid out by default (not justified), which fits the
    column or is cropped at its edge (as a row one line high crops; a cell that ends in an
    ellipsis when it does not fit is DataTable's)."""
    return (
        isinstance(cell, Text)
        and cell.justify in (None, "default")
        and (cell.overflow in (None, "fold", "crop") or cell.cell_len <= width)
        and "\n" not in cell.plain
        and "\t" not in cell.plain
    )


def text_cell(
    console: Console, cell: Text, width: int, padding: int, pre_style: Style, post_style: Style
) -> list[Segment]:
    """The one line of a `drawable` cell, `width` cells wide with its padding: what
    `console.render_lines(Styled(Padding(cell, (0, padding)), pre_style, post_style))` gives
    for one line of that width, not wrapped."""
    segments: Iterable[Segment] = cell.render(console)
    if cell.style:  # Rich lays a Text's own style under its spans (Text.join, when it lays out)
        segments = Segment.apply_style(segments, console.get_style(cell.style, default=NULL))
    inner = Segment.adjust_line_length(list(segments), width - 2 * padding, style=NULL)
    if padding:
        side = Segment(" " * padding, NULL)
        inner = [side, *inner, side]
    return list(Segment.apply_style(inner, pre_style, post_style))


class TextCellTable(DataTable[Text]):
    def _render_cell(
        self, row_index: int, column_index: int, base_style: Style, width: int,
        cursor: bool = False, hover: bool = False,
    ) -> list[list[Segment]]:
        """A body cell that is `drawable`, in a row one line high, is drawn by `text_cell`
        into DataTable's own cache under DataTable's own key (so its invalidation is
        DataTable's); headers, row labels, fixed rows and columns, taller rows and other
        renderables are DataTable's.

        The app's one use of DataTable's private API: DataTable has no public hook for drawing
        a cell. What is read here is what DataTable's own `_render_cell` reads; Textual is
        pinned exactly (pyproject.toml), and the test compares both drawings."""
        table: Any = self
        row_key = table._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if (row is None or row.height != 1 or column_index < self.fixed_columns
                or row_index < self.fixed_rows):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (row_key, table._column_locations.get_key(column_index), base_style, cursor,
                     hover, table._show_hover_cursor, table._update_count,
                     table._pseudo_class_state)
        cache = table._cell_render_cache
        lines: list[list[Segment]] | None = cache.get(cache_key)
        if lines is not None:
            return lines
        cell = table._get_row_renderables(row_index).cells[column_index]
        if not drawable(cell, width - 2 * self.cell_padding):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = table._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, table._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
        )
        pre_style = (base_style + Style.from_meta({"row": row_index, "column": column_index})
                     + component_style)
        lines = [text_cell(self.app.console, cell, width, self.cell_padding, pre_style,
                           post_style)]
        cache[cache_key] = lines
        return lines
