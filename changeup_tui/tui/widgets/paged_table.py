"""A DataTable that loads its rows a page at a time (keyset pages: each page says where the next
one starts), asking for the next page when its cursor or scroll position nears the end. The API
Key and Activity Log pages share it: a screen gives it `fetch` (one page from the service) and
calls `reload()` when its query changes; a subclass says how a row looks.

The rows loaded are a window on the query: the first pages, or, after `end`, the last page and
those before it. Given `fetch_before` (the page that ends at a cursor, or the last page: a keyset
query read backwards), `end` reads the last page alone, however many rows come before it, and the
window grows upwards as the cursor nears its top; `home` reads the first page again. Without it
`end` reads every page up to the last (the Activity Log).

Given `changes` (the store's data_version, through the service), the table follows changes made
by other processes: it polls that cheap number every POLL_SECONDS and, when it moved, reads its
rows again (`refresh_rows`: as many as were loaded, the cursor kept on the same row, or on its
neighbour when that row is gone).

The loads run in one exclusive worker on the table (an async worker, on the event loop): a reload
cancels the load before it, and the worker shows what it read in the table directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker

from changeup_tui.core.errors import StoreError
from changeup_tui.tui.paging import Page
from changeup_tui.tui.widgets.text_cells import TextCellTable

Row = TypeVar("Row")
Cursor = TypeVar("Cursor")


class PagedTable(TextCellTable, Generic[Row, Cursor]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # A row table: Home and End go to the true first and last row (End reads the pages
        # not loaded yet).
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(label, key) of each column."""
    NEAR_END = 20
    """Ask for the next page when the cursor is this many rows from the end."""
    ERROR_TITLE = "Cannot read the rows"
    POLL_SECONDS = 0.25
    """How often `changes` is asked: a change elsewhere shows well within a second."""

    @dataclass
    class Refreshed(Message):
        """The rows were read again (refresh_rows: a change seen, or ctrl+r); `page` is the
        first page (with its count)."""

        table: PagedTable[Any, Any]
        page: Page[Any, Any]

    def __init__(
        self, fetch: Callable[[Cursor | None], Awaitable[Page[Row, Cursor]]], *,
        fetch_before: Callable[[Cursor | None], Awaitable[Page[Row, Cursor]]] | None = None,
        changes: Callable[[], Awaitable[int]] | None = None, **kwargs: Any,
    ) -> None:
        """`fetch(None)` reads the first page, `fetch(cursor)` the one at a `Page.next_cursor`;
        `fetch_before(None)` the last page, `fetch_before(cursor)` the page that ends at the row
        the cursor names (its `next_cursor` names the row before it: None at the first row);
        `changes()` a number that moves when someone else changed the data."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._fetch = fetch
        self._fetch_before = fetch_before
        self._changes = changes
        self._version: int | None = None
        self._next_cursor: Cursor | None = None
        """Where the page after the window starts; None when the window reaches the last row."""
        self._top: Cursor | None = None
        """The row just before the window (fetch_before reads up to it); None when the window
        starts at the first row."""
        self._loading: Worker[None] | None = None
        self._shown: dict[str, Row] = {}
        """The rows loaded so far, by row key."""

    def on_mount(self) -> None:
        self._set_columns()
        if self._changes is not None:
            self.set_interval(self.POLL_SECONDS, self._poll, name="follow-changes")

    async def _poll(self) -> None:
        """Read the rows again when someone else changed the data since the last look."""
        if self._changes is None or self.loading_page:
            return
        try:
            version = await self._changes()
        except StoreError:
            return  # the next read says what is wrong; a poll does not notify every 0.25 s
        if self._version is not None and version != self._version:
            self.refresh_rows()
        self._version = version

    # -- what a subclass says -----------------------------------------------------------------

    def column_label(self, label: str, key: str) -> str:
        """A column's header as shown now (the keys table marks the sorted one)."""
        return label

    def column_layout(self, width: int) -> list[tuple[str, int | None]]:
        """The columns shown at `width` cells, (key, width or None for as wide as the cells), in
        order. All of them by default; the keys table drops and narrows some as it narrows."""
        return [(key, None) for _, key in self.COLUMNS]

    def _set_columns(self) -> None:
        """The columns, (re)built when their headers or widths changed; the rows loaded are
        shown again in them, the cursor kept."""
        labels = {key: label for label, key in self.COLUMNS}
        wanted = [(self.column_label(labels[key], key), key, width)
                  for key, width in self.column_layout(self.size.width or self.app.size.width)]
        shown = [(str(column.label), column.key.value,
                  None if column.auto_width else column.width)
                 for column in self.ordered_columns]
        if shown == wanted:
            return
        selected = self.selected_row_key
        rows = list(self._shown.values())
        self.clear(columns=True)
        self._shown.clear()
        for label, key, width in wanted:
            # As Text: a str label is read as Rich markup (with emoji codes, whose table Rich
            # imports on first use); a header is plain text.
            self.add_column(Text(label), key=key, width=width)
        self.add_page(rows)
        if selected is not None:
            self.select(selected)

    def on_resize(self) -> None:
        self._set_columns()
        # A view taller than the rows loaded (a tall terminal, or one made taller) asks for the
        # next page as a cursor near the end would.
        self._check_near_end(int(self.scroll_y) + self.scrollable_content_region.height)

    def _cells_shown(self, row: Row) -> list[Text]:
        """The cells of the columns shown now."""
        return self._pick(tuple(self.cells(row)))

    def _pick(self, cells: tuple[Text, ...]) -> list[Text]:
        """Of a row's cells (one per COLUMNS), those of the columns shown now."""
        everything = dict(zip((key for _, key in self.COLUMNS), cells, strict=True))
        return [everything[column.key.value] for column in self.ordered_columns
                if column.key.value is not None]

    def row_key(self, row: Row) -> str:
        raise NotImplementedError

    def cells(self, row: Row) -> Iterable[Text]:
        raise NotImplementedError

    def forget_rows(self) -> None:
        """The rows are about to be read anew (a subclass drops what it learnt from them)."""

    # -- loading -------------------------------------------------------------------------------

    def reload(self, then: Callable[[Page[Row, Cursor]], None] | None = None) -> None:
        """Read the first page again (the query changed) and show it in place of every row;
        `then(page)` runs once it shows. Cancels any load under way."""
        self._loading = self._load(None, then)

    def refresh_rows(self) -> None:
        """Read again as many rows as are loaded (someone changed them) and show them in place,
        the cursor on the same row, or where it was when that row is gone (revoked and hidden:
        the cursor is then on its neighbour). Posts Refreshed once they show."""
        self._loading = self._refresh()

    async def _note_version(self) -> None:
        """Before a first page is read: a change committed after this is seen by the poll."""
        if self._changes is not None:
            try:
                self._version = await self._changes()
            except StoreError:
                self._version = None

    @property
    def loading_page(self) -> bool:
        return self._loading is not None and not self._loading.is_finished

    @work(exclusive=True, group="page")
    async def _load(
        self, after: Cursor | None, then: Callable[[Page[Row, Cursor]], None] | None
    ) -> None:
        await self.load(after, then)

    async def load(
        self, after: Cursor | None = None,
        then: Callable[[Page[Row, Cursor]], None] | None = None,
    ) -> None:
        """Read the page at `after` and show it: below the rows shown, or in place of them
        (`after` None: the first page). Awaited as it is by a screen's `on_mount`, the page
        appears with its first rows in its first frame; `reload()` runs it in the exclusive
        worker."""
        if after is None:
            await self._note_version()
        try:
            page = await self._fetch(after)
        except StoreError as exc:
            self.notify(str(exc), title=self.ERROR_TITLE, severity="error", markup=False)
            return
        if after is None:
            self._show_anew(page.rows)
            self._top = None
        else:
            self.add_page(page.rows)
        self._next_cursor = page.next_cursor
        if then is not None:
            then(page)

    def _show_anew(self, rows: Iterable[Row]) -> None:
        """`rows` in place of every row shown (the cursor on the first)."""
        self.clear()
        self._shown.clear()
        self.forget_rows()
        self.add_page(rows)

    @work(exclusive=True, group="page")
    async def _refresh(self) -> None:
        await self._note_version()
        wanted = max(self.row_count, 1)
        pages: list[Page[Row, Cursor]] = []
        after = self._top  # the same window: from the row before it
        read = 0
        try:
            # The first page says how many rows match the query (Refreshed), even when the
            # window starts further down.
            counted = await self._fetch(None) if after is not None else None
            while True:
                page = await self._fetch(after)
                pages.append(page)
                read += len(page.rows)
                if page.next_cursor is None or read >= wanted:
                    break
                after = page.next_cursor
        except StoreError as exc:
            self.notify(str(exc), title=self.ERROR_TITLE, severity="error", markup=False)
            return
        selected = self.selected_row_key
        row = self.cursor_row
        self._show_anew([row for page in pages for row in page.rows])
        self._next_cursor = pages[-1].next_cursor
        if selected is not None and selected in self._shown:
            self.select(selected)
        elif self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), animate=False, scroll=True)
        self.post_message(self.Refreshed(self, counted or pages[0]))

    def action_scroll_top(self) -> None:
        """Home: the first row of the query, not of the window."""
        if self._top is None:
            super().action_scroll_top()
        else:
            self._loading = self._load_edge(last=False)

    def action_scroll_bottom(self) -> None:
        """End: the last row of the query, not of the pages loaded so far."""
        if self._next_cursor is None:
            super().action_scroll_bottom()
        elif self._fetch_before is not None:
            self._loading = self._load_edge(last=True)
        else:
            self._loading = self._load_rest()

    @work(exclusive=True, group="page")
    async def _load_edge(self, *, last: bool) -> None:
        """The last page alone (fetch_before), or the first page, in place of the window; the
        cursor on its last or first row."""
        try:
            if last:
                assert self._fetch_before is not None
                page = await self._fetch_before(None)
            else:
                page = await self._fetch(None)
        except StoreError as exc:
            self.notify(str(exc), title=self.ERROR_TITLE, severity="error", markup=False)
            return
        self._show_anew(page.rows)
        if last:
            self._top, self._next_cursor = page.next_cursor, None
            super().action_scroll_bottom()
        else:
            self._top, self._next_cursor = None, page.next_cursor
            super().action_scroll_top()

    @work(exclusive=True, group="page")
    async def _load_before(self) -> None:
        """The page before the window, above it; the cursor stays on its row."""
        assert self._fetch_before is not None
        try:
            page = await self._fetch_before(self._top)
        except StoreError as exc:
            self.notify(str(exc), title=self.ERROR_TITLE, severity="error", markup=False)
            return
        row, y, before = self.cursor_row, self.scroll_y, self.row_count
        self._show_anew([*page.rows, *self._shown.values()])
        self._top = page.next_cursor
        added = self.row_count - before
        # The same rows stay where the reader sees them: the cursor and the view move down by
        # the rows added above (once the table has measured them, after the refresh).
        self.move_cursor(row=row + added, animate=False, scroll=False)
        self.call_after_refresh(self.scroll_to, y=y + added, animate=False)

    @work(exclusive=True, group="page")
    async def _load_rest(self) -> None:
        try:
            while self._next_cursor is not None:
                page = await self._fetch(self._next_cursor)
                self.add_page(page.rows)
                self._next_cursor = page.next_cursor
        except StoreError as exc:
            self.notify(str(exc), title=self.ERROR_TITLE, severity="error", markup=False)
            return
        super().action_scroll_bottom()

    def add_page(self, rows: Iterable[Row]) -> None:
        """Show `rows` below those shown. Their cells are made first, once: the columns then
        take the widths they need (the keys table's Status and Name follow the rows) before any
        of them is added, so that no row is added twice."""
        new: dict[str, tuple[Row, tuple[Text, ...]]] = {}
        for row in rows:
            key = self.row_key(row)
            if key not in self._shown and key not in new:  # a row that moved between pages
                new[key] = (row, tuple(self.cells(row)))
        self._set_columns()
        for key, (row, cells) in new.items():
            self._shown[key] = row
            self.add_row(*self._pick(cells), key=key)

    def update(self, row: Row) -> None:
        """Show a loaded row anew, in place."""
        key = self.row_key(row)
        if key in self._shown:
            self._shown[key] = row
            for column, value in zip(self.ordered_columns, self._cells_shown(row), strict=True):
                self.update_cell(key, column.key, value)
            self._set_columns()

    @property
    def selected_row_key(self) -> str | None:
        """The row key under the cursor."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return row_key.value

    @property
    def selected(self) -> Row | None:
        """The row under the cursor."""
        key = self.selected_row_key
        return self._shown.get(key) if key is not None else None

    def select(self, key: str) -> bool:
        """Move the cursor to a row; False when it is not loaded."""
        if key not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False, scroll=True)
        return True

    def _check_near_end(self, last_row: int) -> None:
        """`last_row`: the lowest row the reader can see or has reached (rows are 1 line)."""
        if self._next_cursor is None or self.loading_page or not self.row_count:
            return
        if last_row >= self.row_count - self.NEAR_END:
            self._loading = self._load(self._next_cursor, None)

    def _check_near_top(self, first_row: int) -> None:
        """`first_row`: the highest row the reader can see or has reached."""
        if self._top is None or self.loading_page or not self.row_count:
            return
        if first_row < self.NEAR_END:
            self._loading = self._load_before()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self:
            self._check_near_end(self.cursor_row)
            self._check_near_top(self.cursor_row)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value:  # scrolled down (mouse wheel, scrollbar)
            self._check_near_end(int(new_value) + self.scrollable_content_region.height)
        elif new_value < old_value:
            self._check_near_top(int(new_value))
