"""The screens.

Re-exports only, each imported on first use (see changeup_tui/tui/lazy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from changeup_tui.tui.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, _MODULES, globals())
