"""The API Keys filter field: typing filters (the screen debounces and asks the service), Escape
clears it and hands the focus back to the table, Enter or Down goes to the table keeping it."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter"),
        Binding("down", "leave", "To the table", show=False),
    ]

    class Left(Message):
        """The reader is done with the field: `cleared` says whether Escape emptied it."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(placeholder="Filter by name or Client ID", **kwargs)

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Left(cleared=True))

    def action_leave(self) -> None:
        self.post_message(self.Left(cleared=False))
