"""The widgets.

Re-exports only, each imported on first use: importing one module of this package (say, the first
frame's) does not import the others (bench/startup.py)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

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


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
