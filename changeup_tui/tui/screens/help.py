"""`?`: every key binding of the app, its screens, modals and widgets, read from their BINDINGS
(never a hand-kept copy), grouped by where they apply. Escape or `?` closes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from changeup_tui.tui.paths import style


def bindings_of(kind: type[DOMNode]) -> list[Binding]:
    """The bindings a class declares itself (not those it inherits from Textual)."""
    return list(Binding.make_bindings(kind.__dict__.get("BINDINGS", [])))


def rows_for(app: App[Any], title: str, bindings: Iterable[Binding]) -> list[tuple[str, str, str]]:
    """(where, keys, what) rows: bindings of one action merged ("x / delete"), those without a
    description (internal aliases) left out."""
    merged: dict[str, tuple[list[str], str]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        keys, _ = merged.setdefault(binding.action, ([], binding.description))
        for key in binding.key.split(","):
            shown = app.get_key_display(Binding(key.strip(), binding.action))
            if shown not in keys:
                keys.append(shown)
    return [(title, " / ".join(keys), what) for keys, what in merged.values()]


def help_sections(app: App[Any]) -> list[tuple[str, type[DOMNode]]]:
    """Where each set of bindings applies, in the order a reader meets them."""
    from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
    from changeup_tui.tui.modals.grace_picker import GracePicker
    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.profile_menu import ProfileMenu
    from changeup_tui.tui.modals.rename_modal import RenameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal
    from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
    from changeup_tui.tui.screens.activity_log import ActivityLogScreen
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen
    from changeup_tui.tui.screens.profile import ProfileScreen
    from changeup_tui.tui.widgets.filter_input import FilterInput
    from changeup_tui.tui.widgets.paged_table import PagedTable

    return [
        ("Everywhere", type(app)),
        ("API Key", ApiKeysScreen),
        ("API Key table", PagedTable),
        ("API Key filter", FilterInput),
        ("Activity Log", ActivityLogScreen),
        ("Profile", ProfileScreen),
        ("Create New API Key", NameModal),
        ("Secret Key", RevealModal),
        ("Close without copying", ConfirmCloseModal),
        ("Roll", GracePicker),
        ("Revoke", RevokeConfirm),
        ("Rename", RenameModal),
        ("Profile Menu", ProfileMenu),
        ("This help", HelpScreen),
    ]


class HelpScreen(ModalScreen[None]):
    CSS_PATH = style("help.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label("Keyboard", id="help-title")
            yield Static(
                "Every key of the app, by where it applies. Ctrl+P opens the command palette, "
                "which offers the same actions by name. Escape closes this.",
                id="help-intro",
            )
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Does")
        seen_where = None
        for title, kind in help_sections(self.app):
            for where, keys, what in rows_for(self.app, title, bindings_of(kind)):
                label = Text(where if where != seen_where else "", style="bold")
                seen_where = where
                table.add_row(label, Text(keys, style="bold"), Text(what))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
