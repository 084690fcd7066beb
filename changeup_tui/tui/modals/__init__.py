"""The modal screens.

Re-exports only, each imported on first use (see changeup_tui/tui/lazy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from changeup_tui.tui.lazy import lazy_exports

if TYPE_CHECKING:
    from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.profile_menu import ProfileMenu
    from changeup_tui.tui.modals.reveal_modal import RevealModal

_MODULES = {
    "ConfirmCloseModal": "confirm_close",
    "NameModal": "name_modal",
    "ProfileMenu": "profile_menu",
    "RevealModal": "reveal_modal",
}

__all__ = ["ConfirmCloseModal", "NameModal", "ProfileMenu", "RevealModal"]

__getattr__ = lazy_exports(__name__, _MODULES, globals())
