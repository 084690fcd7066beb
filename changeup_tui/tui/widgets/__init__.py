from changeup_tui.tui.widgets.audit_table import AuditTable
from changeup_tui.tui.widgets.environment_switch import EnvironmentSwitch
from changeup_tui.tui.widgets.header import AppHeader
from changeup_tui.tui.widgets.keys_table import KeysTable
from changeup_tui.tui.widgets.paged_table import PagedTable

__all__ = ["AppHeader", "AuditTable", "EnvironmentSwitch", "KeysTable", "PagedTable"]
