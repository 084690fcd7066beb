"""A page of rows, as a screen's fetch gives it to a PagedTable (widgets/paged_table.py). Kept
apart from the table so that a screen can build pages before the table (and DataTable) is
imported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import msgspec

Row = TypeVar("Row")
Cursor = TypeVar("Cursor")


class Page(msgspec.Struct, Generic[Row, Cursor], frozen=True):
    """Some rows of a query, where the next page starts, and what the first page counted."""

    rows: Sequence[Row]
    next_cursor: Cursor | None
    """Where the next page starts (passed back to fetch), None on the last page."""
    total: int | None = None
    """Rows matching the query, when the first page counted them."""
    any_rows: bool = True
    """False when there are none at all, whatever the query (the empty state)."""

