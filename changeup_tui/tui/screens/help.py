"""`?`: every key binding of the app, its screens, modals and widgets, read from their BINDINGS
(never a hand-kept copy), grouped by where they apply, plus the few keys the fields and buttons
handle themselves (BEYOND_BINDINGS). The text wraps, whole, at any width; the body scrolls with
the arrow keys. Escape or `?` closes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

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


BEYOND_BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("Create New API Key", "enter",
     "Create the key, from the name field or the date field (Create API Key does the same)"),
    ("Create New API Key", "tab / shift+tab",
     "Next or previous: name, Expires, the date (On a date…), Create API Key, Cancel"),
    ("Revoke", "enter",
     "A Test key: Revoke key (Cancel has the focus first). A Live key: type its name exactly as "
     "the list shows it, capitals included; Revoke key is enabled only then, and Enter in the "
     "field revokes"),
)
"""What the bindings cannot say: keys handled by the fields and buttons themselves, and how a
Live revoke is confirmed. (where, keys, what), `where` one of help_sections' titles."""


def help_sections(app: App[Any]) -> list[tuple[str, type[DOMNode]]]:
    """Where each set of bindings applies, in the order a reader meets them."""
    from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
    from changeup_tui.tui.modals.disable_confirm import DisableConfirm
    from changeup_tui.tui.modals.grace_picker import GracePicker
    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.profile_menu import ProfileMenu
    from changeup_tui.tui.modals.rename_modal import RenameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal
    from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
    from changeup_tui.tui.screens.activity_log import ActivityLogScreen
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen
    from changeup_tui.tui.screens.key_detail import KeyDetailScreen
    from changeup_tui.tui.screens.profile import ProfileScreen
    from changeup_tui.tui.widgets.filter_input import FilterInput
    from changeup_tui.tui.widgets.paged_table import PagedTable

    return [
        ("Everywhere", type(app)),
        ("API Key", ApiKeysScreen),
        ("API Key table", PagedTable),
        ("API Key filter", FilterInput),
        ("Key details", KeyDetailScreen),
        ("Activity Log", ActivityLogScreen),
        ("Profile", ProfileScreen),
        ("Create New API Key", NameModal),
        ("Secret Key", RevealModal),
        ("Close without copying", ConfirmCloseModal),
        ("Roll", GracePicker),
        ("Revoke", RevokeConfirm),
        ("Disable a Live key", DisableConfirm),
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
                "which offers the same actions by name. The arrow keys and Page Up/Down scroll; "
                "Escape closes this.",
                id="help-intro",
            )
            with VerticalScroll(id="help-body"):
                for title, rows in self.sections():
                    yield Label(title, classes="help-where")
                    for keys, what in rows:
                        with Horizontal(classes="help-row"):
                            yield Label(Text(keys, style="bold"), classes="help-keys")
                            yield Static(Text(what), classes="help-does")
        yield Footer()

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(where, [(keys, what)]) in reading order: the bindings, then what no binding says."""
        found = []
        for title, kind in help_sections(self.app):
            rows = [(keys, what) for _, keys, what in rows_for(self.app, title, bindings_of(kind))]
            rows += [(keys, what) for where, keys, what in BEYOND_BINDINGS if where == title]
            if rows:
                found.append((title, rows))
        return found

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
