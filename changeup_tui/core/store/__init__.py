from typing import TYPE_CHECKING

from changeup_tui.core.store.base import Store
from changeup_tui.core.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store"]

if TYPE_CHECKING:
    from changeup_tui.core.store.postgres import PostgresStore

    def _keeps_the_contract(store: SQLiteStore) -> Store:  # checked by mypy, never run
        return store

    def _postgres_keeps_the_contract(store: PostgresStore) -> Store:  # the same, for PostgreSQL
        return store
