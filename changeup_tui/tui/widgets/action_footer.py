"""A Footer that shows only some actions' keys, so a page with many can split them over two rows
(the API Key page: the selected key's actions above, the view and the app below), and puts some
first (`first`: Help, so that it shows however narrow the terminal: what does not fit is cut at
the end of the row). What applies still comes from check_action, as in Textual's Footer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # private, see below


class ActionFooter(Footer):
    """The one private Textual use among the widgets: Textual 8.2 exports no FooterKey (the
    widget Footer.compose yields for each binding) and Footer has no public filter, so the keys
    are told from the rest of what Footer composes by that class."""

    def __init__(self, *, only: Iterable[str] | None = None, exclude: Iterable[str] = (),
                 first: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.only = frozenset(only) if only is not None else None
        self.exclude = frozenset(exclude)
        self.first = tuple(first)
        self._composed_for: tuple[object, ...] | None = None
        """The bindings the keys shown were last composed from (see bindings_changed)."""

    def _keeps(self, action: str) -> bool:
        name = action.rpartition(".")[2]
        if self.only is not None:
            return name in self.only
        return name not in self.exclude

    def _rank(self, widget: object) -> int:
        if isinstance(widget, FooterKey):
            name = widget.action.rpartition(".")[2]
            if name in self.first:
                return self.first.index(name)
        return len(self.first)

    def compose(self) -> ComposeResult:
        kept = [
            widget for widget in super().compose()
            if not isinstance(widget, FooterKey) or self._keeps(widget.action)
        ]
        kept.sort(key=self._rank)  # stable: the rest keep their order
        self.styles.grid_size_columns = len(kept)
        yield from kept

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Footer recomposes (every key widget removed and mounted again) on each signal that the
        screen's bindings may have changed; a page sends several while it starts (focus moving,
        the first page read) with the same bindings each time. Recompose only when what would
        be shown differs: at start-up that was 3 of the 4 recomposes of each footer."""
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = tuple(
                (binding.key, binding.action, binding.description, enabled, tooltip)
                for _, binding, enabled, tooltip in screen.active_bindings.values()
                if binding.show
            )
            if shown == self._composed_for:
                return
            self._composed_for = shown
        super().bindings_changed(screen)
