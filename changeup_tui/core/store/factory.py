"""The one way to get a store for a database target: a path (SQLite) or a PostgreSQL URL. The
CLI, the TUI's build_app, the verifiers and the benchmarks all come through here. asyncpg is
imported only when a URL is given (start-up on a file never pays for it)."""

from __future__ import annotations

from pathlib import Path

from changeup_tui.core.config import (
    DbTarget,
    PostgresTarget,
    Settings,
    is_postgres_url,
    parse_postgres_url,
)
from changeup_tui.core.store.base import Store


def as_target(db: DbTarget | str) -> DbTarget:
    """A path or URL given in code (not argv: a URL may carry a password here)."""
    if isinstance(db, Path | PostgresTarget):
        return db
    if is_postgres_url(db):
        return parse_postgres_url(db, source="the database URL")
    return Path(db).expanduser()


def make_store(db: DbTarget | str, *, create: bool = True) -> Store:
    """A store for `db`, not yet opened. `create=False`: a database that does not exist yet (a
    missing file, a server database without the schema) is an error, not a new one."""
    target = as_target(db)
    if isinstance(target, PostgresTarget):
        from changeup_tui.core.store.postgres import PostgresStore

        return PostgresStore(target, create=create)
    from changeup_tui.core.store.sqlite import SQLiteStore

    return SQLiteStore(target, create=create)


async def open_store(settings: Settings, *, create: bool = True) -> Store:
    """make_store for the settings' database, opened."""
    store = make_store(settings.db_path, create=create)
    await store.open()
    return store
