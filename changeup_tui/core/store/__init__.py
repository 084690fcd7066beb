from changeup_tui.core.store.base import Store
from changeup_tui.core.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store"]
