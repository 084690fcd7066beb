"""TextCellTable draws its one-line Text cells itself (text_cells.py); the picture must be the one
DataTable draws. Both tables get the same rows, columns, size, cursor and hover, and their lines
are compared segment by segment (text, colour, attributes and the row/column meta that mouse
clicks use), for every kind of cell: those drawn by text_cell and those handed back to DataTable."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable

from changeup_tui.tui.widgets import text_cells
from changeup_tui.tui.widgets.text_cells import TextCellTable, drawable

WIDE = "名前が長いキーの名前"  # two cells a character: a crop can fall inside one
CELLS: list[tuple[object, ...]] = [
    (Text("short"), Text("active", style="green"), Text("cu_live_ci_0123456789")),
    (Text("exactly8"),  # as wide as the column inside its padding
     Text("expires in 3 days", style="bold black on yellow"), Text("")),
    (Text("a name far longer than its column is wide"), Text(WIDE), Text("x" * 9)),
    (Text.assemble(("red", "red"), " and ", ("bold", "bold")), Text("É̃ combining"), Text("—")),
    (Text(WIDE[:3] + "abc"), Text("revoked", style="red"), Text("never")),
    (Text("right", justify="right"), Text("ellipsis ellipsis", overflow="ellipsis"),
     Text("two\nlines")),
    ("[b]markup[/b] str", "plain str", Text("tab\there")),
    (Text.assemble(("own", "bold red"), " style under", style="on blue"), Text("x"), Text("y")),
    (Text("secret never confirmed", style="bold white on red"), Text(" "), Text("  lead")),
    (Text("fits", overflow="ellipsis"), Text("名前名前名前", overflow="ellipsis"),
     Text("cu_test_ci_ab", overflow="ellipsis", no_wrap=True)),
]
WIDTHS = (10, 9, 12)


class Pair(App[None]):
    CSS = "DataTable { width: 40; height: 14; }"  # every row on screen

    def __init__(self, fixed_columns: int) -> None:
        super().__init__()
        self.fixed_columns = fixed_columns

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DataTable(id="theirs", cursor_type="row", zebra_stripes=True,
                            fixed_columns=self.fixed_columns)
            yield TextCellTable(id="ours", cursor_type="row", zebra_stripes=True,
                                fixed_columns=self.fixed_columns)

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for index, width in enumerate(WIDTHS):
                table.add_column(f"Col {index}", width=width)
            for number, row in enumerate(CELLS):
                table.add_row(*row, key=str(number))


def picture(table: DataTable[object]) -> list[list[Segment]]:
    width, height = table.size
    return [list(Segment.simplify(strip)) for strip in
            table.render_lines(Region(0, 0, width, height))]


def test_the_cases_cover_both_paths() -> None:
    cells = [(cell, width - 2) for row in CELLS for cell, width in zip(row, WIDTHS, strict=True)
             if isinstance(cell, Text)]
    assert any(drawable(cell, width) for cell, width in cells)
    # justify, an ellipsis where the text does not fit, a newline, a tab
    assert sum(not drawable(cell, width) for cell, width in cells) >= 4
    assert drawable(Text("fits", overflow="ellipsis"), 4)
    assert not drawable(Text("fits not", overflow="ellipsis"), 4)


@pytest.mark.parametrize("fixed_columns", [0, 1])
async def test_text_cells_look_as_datatable_draws_them(
    fixed_columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    draw = text_cells.text_cell

    def counting(console: Console, cell: Text, *args: Any) -> list[Segment]:
        drawn.append(cell.plain)
        return draw(console, cell, *args)

    monkeypatch.setattr(text_cells, "text_cell", counting)
    app = Pair(fixed_columns)
    async with app.run_test(size=(90, 18)) as pilot:
        theirs = app.query_one("#theirs", DataTable)
        ours = app.query_one("#ours", TextCellTable)
        app.set_focus(None)  # a focused table draws its cursor differently: neither is
        await pilot.pause()
        assert picture(ours) == picture(theirs)
        assert "short" in "".join(segment.text for segment in picture(ours)[1])  # rows drawn
        # both paths were taken: an ellipsis that fits is drawn here, one that does not is not
        assert "active" in drawn and "two\nlines" not in drawn
        assert "cu_test_ci_ab" not in drawn and "名前名前名前" not in drawn
        assert ("short" in drawn) is ("fits" in drawn) is (fixed_columns == 0)  # fixed: theirs
        for table in (theirs, ours):
            table.move_cursor(row=3)
        await pilot.hover("#theirs", offset=(3, 5))
        await pilot.pause()
        hovered_theirs = picture(theirs)
        await pilot.hover("#ours", offset=(3, 5))
        await pilot.pause()
        assert picture(ours) == hovered_theirs
        # cell cursor: one cell highlighted, the rest of its row not
        for table in (theirs, ours):
            table.cursor_type = "cell"
            table.cursor_coordinate = Coordinate(2, 1)
        await pilot.pause()
        assert picture(ours) == picture(theirs)
        # an update of one cell reaches the picture (DataTable's cache key is kept)
        for table in (theirs, ours):
            table.update_cell("2", table.ordered_columns[2].key, Text("changed", style="blue"))
        await pilot.pause()
        assert picture(ours) == picture(theirs)
        assert "changed" in "".join(s.text for line in picture(ours) for s in line)
