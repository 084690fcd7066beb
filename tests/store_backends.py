"""The two stores the contract suites run on: an SQLite file, and a database on the test
PostgreSQL server (pg_cluster.py). `Backend` gives a test what it needs without knowing which:
the target for make_store / the verifiers, and raw SQL for checks behind the store's back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changeup_tui.core.store.base import Store
from changeup_tui.core.store.factory import make_store
from tests.pg_cluster import run_sync

KINDS = ("sqlite", "postgres")
SUITES = frozenset(
    {"test_store", "test_service", "test_lifecycle", "test_verifier", "test_compare_and_set"}
)
"""The unit modules whose tests run on both stores (a test marked sqlite_only runs on SQLite)."""

REFUSE_AUDIT: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    ],
}
"""A trigger that makes every audit insert fail, per store."""


@dataclass(frozen=True)
class Backend:
    kind: str
    target: Path | str
    """A database file, or a postgresql:// URL."""

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    def actor(self, user: str) -> str:
        """The actor the store records for an event whose service acts as OS user `user`: that
        user on SQLite; on PostgreSQL the role the server authenticated (pg_migrations step 4)."""
        return self.session_role() if self.is_postgres else user

    def origin(self, user: str, origin: str = "local") -> str:
        """The origin recorded for `user` acting from `origin`: on PostgreSQL the OS user goes
        before it ("root@203.0.113.5") unless it is the role's own name."""
        if not self.is_postgres or user == self.session_role():
            return origin
        return f"{user}@{origin}"

    def session_role(self) -> str:
        """The role this backend's URL logs in as (PostgreSQL)."""
        return str(self.raw("SELECT session_user")[0][0])

    def make_store(self, *, create: bool = True) -> Store:
        return make_store(self.target, create=create)

    def raw(self, sql: str, *args: Any) -> list[tuple]:
        """Run one statement behind the store's back (its own connection), committed; the rows
        as tuples. Placeholders: `?` on SQLite, `$1` on PostgreSQL."""
        if self.is_postgres:
            return run_sync(_pg_raw(str(self.target), sql, args))
        import contextlib
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.target, timeout=5)) as conn, conn:
            return conn.execute(sql, args).fetchall()

    def plant(self, sql: str, *args: Any) -> None:
        """Write rows behind the store's back as a copy would have left them, committed: no
        audit event. On PostgreSQL in a transaction that set `changeup.copying`, as `db copy`
        does (this URL's role must be a member of the tables' owner; the rows' actors are kept
        as written): the server requires an event with any other change to a key
        (pg_migrations step 7). One statement; placeholders as for raw()."""
        if self.is_postgres:
            run_sync(_pg_plant(str(self.target), sql, args))
        else:
            self.raw(sql, *args)


async def _pg_plant(url: str, sql: str, args: tuple) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL changeup.copying = 'on'")
            await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _pg_raw(url: str, sql: str, args: tuple) -> list[tuple]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if args or sql.lstrip().upper().startswith(("SELECT", "WITH")):
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        await conn.execute(sql)
        return []
    finally:
        await conn.close()


def backend_for(kind: str, request: Any, db_path: Path) -> Backend:
    """The `db` and `each_db` fixtures' store: an SQLite file at `db_path`, or a new database
    on the test PostgreSQL server (the `pg_url` fixture)."""
    if kind == "postgres":
        return Backend("postgres", request.getfixturevalue("pg_url"))
    return Backend("sqlite", db_path)
