"""PostgreSQL schema migrations: a new database gets the latest schema once, even when several
processes open it at the same moment (one transaction under an advisory lock); a newer schema and
another program's tables are refused, untouched."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from changeup_tui.core.errors import NotADatabase, SchemaTooNew
from changeup_tui.core.store.pg_migrations import LATEST_VERSION
from changeup_tui.core.store.postgres import PostgresStore
from tests.helpers.processes import child_env
from tests.store_backends import Backend

OPEN_ONE = """
import asyncio, sys
from changeup_tui.core.store.postgres import PostgresStore
async def main():
    store = PostgresStore(sys.argv[1])
    await store.open()
    await store.close()
asyncio.run(main())
"""


def _tables(db: Backend) -> set[str]:
    return {r[0] for r in db.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


async def test_a_new_database_gets_the_latest_schema_once(pg_url):
    db = Backend("postgres", pg_url)
    stores = [PostgresStore(pg_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))  # four at once, one process
    for s in stores:
        await s.close()
    assert db.raw("SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, LATEST_VERSION + 1)
    ]
    assert {"api_keys", "key_secrets", "audit_events", "account", "settings"} <= _tables(db)


@pytest.mark.slow
def test_processes_opening_a_new_database_at_once(pg_url):
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_ONE, pg_url], env=child_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert [code for code, _ in results] == [0] * 6, results
    db = Backend("postgres", pg_url)
    assert db.raw("SELECT count(*) FROM schema_version") == [(LATEST_VERSION,)]


async def test_a_newer_schema_is_refused_untouched(pg_url):
    store = PostgresStore(pg_url)
    await store.open()
    await store.close()
    db = Backend("postgres", pg_url)
    db.raw(f"INSERT INTO schema_version (version) VALUES ({LATEST_VERSION + 1})")
    before = db.raw("SELECT * FROM schema_version ORDER BY version")
    with pytest.raises(SchemaTooNew, match="newer changeup-tui"):
        await PostgresStore(pg_url).open()
    assert db.raw("SELECT * FROM schema_version ORDER BY version") == before


async def test_another_programs_tables_are_refused_untouched(pg_url):
    db = Backend("postgres", pg_url)
    db.raw("CREATE TABLE invoices (id int)")
    with pytest.raises(NotADatabase, match="another program"):
        await PostgresStore(pg_url).open()
    assert _tables(db) == {"invoices"}
