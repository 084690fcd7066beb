"""The screens.

Re-exports only, each imported on first use: importing one module of this package (say, the first
frame's) does not import the others (bench/startup.py)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
    from changeup_tui.tui.screens.activity_log import ActivityLogScreen
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen
    from changeup_tui.tui.screens.profile import ProfileScreen

_MODULES = {
    "AccountSettingsScreen": "account_settings",
    "ActivityLogScreen": "activity_log",
    "ApiKeysScreen": "api_keys",
    "ProfileScreen": "profile",
}

__all__ = ["AccountSettingsScreen", "ActivityLogScreen", "ApiKeysScreen", "ProfileScreen"]


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
