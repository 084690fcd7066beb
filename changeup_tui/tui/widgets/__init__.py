"""The widgets.

Re-exports only, each imported on first use (see changeup_tui/tui/lazy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from changeup_tui.tui.lazy import lazy_exports

if TYPE_CHECKING:
    from changeup_tui.tui.widgets.audit_table import AuditTable
    from changeup_tui.tui.widgets.environment_switch import EnvironmentSwitch
    from changeup_tui.tui.widgets.header import AppHeader
    from changeup_tui.tui.widgets.keys_table import KeysTable
    from changeup_tui.tui.widgets.paged_table import PagedTable

_MODULES = {
    "AppHeader": "header",
    "AuditTable": "audit_table",
    "EnvironmentSwitch": "environment_switch",
    "KeysTable": "keys_table",
    "PagedTable": "paged_table",
}

__all__ = ["AppHeader", "AuditTable", "EnvironmentSwitch", "KeysTable", "PagedTable"]

__getattr__ = lazy_exports(__name__, _MODULES, globals())
