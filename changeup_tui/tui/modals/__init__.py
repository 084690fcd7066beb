"""The modal screens.

Re-exports only, each imported on first use: importing one module of this package (say, the first
frame's) does not import the others (bench/startup.py)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

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


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
