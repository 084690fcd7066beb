"""PostgreSQL schema migrations: a new database gets the latest schema once, even when several
processes open it at the same moment (one transaction under an advisory lock); a newer schema and
another program's tables are refused, untouched."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest

from changeup_tui.core.errors import NotADatabase, SchemaTooNew
from changeup_tui.core.store.pg_migrations import LATEST_VERSION, MIGRATIONS
from changeup_tui.core.store.postgres import CHANGES_CHANNEL, PostgresStore
from tests.helpers.processes import child_env
from tests.pg_team import event_sql
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


async def test_schema_1_keys_are_migrated_as_confirmed(pg_url):
    """Migration 3 (the same number as SQLite's) adds api_keys.secret_confirmed: the keys already
    there count as confirmed, and a change of the mark is announced to other processes, as the
    other columns a list shows are (an open list drops or shows "secret never confirmed")."""
    db = Backend("postgres", pg_url)
    db.raw(MIGRATIONS[0])
    db.raw("CREATE TABLE schema_version (version integer NOT NULL)")
    db.raw("INSERT INTO schema_version (version) VALUES ($1)", 1)
    db.raw(
        "INSERT INTO api_keys (client_id, environment, name, name_key, hint, created_at, "
        "created_by) VALUES ('cu_test_ci_old', 'test', 'old', 'old', 'abcd', now(), 'tester')"
    )
    db.raw(
        "INSERT INTO key_secrets (key_id, phc, hint, created_at) "
        "SELECT id, '$argon2id$old', 'abcd', now() FROM api_keys"
    )
    [(secret_id,)] = db.raw("SELECT id FROM key_secrets")
    store = PostgresStore(pg_url)
    await store.open()
    try:
        record = await store.get_key("cu_test_ci_old")
        assert record is not None and record.key.secret_confirmed is True
        assert db.raw("SELECT version FROM schema_version ORDER BY version") == [
            (v,) for v in range(1, LATEST_VERSION + 1)
        ]
        assert LATEST_VERSION >= 3  # step 3 ran (4 and later: see their own tests)

        heard: asyncio.Queue[str] = asyncio.Queue()
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.add_listener(
                CHANGES_CHANNEL, lambda _c, _p, _ch, payload: heard.put_nowait(payload)
            )
            db.raw(event_sql("cu_test_ci_old") + "UPDATE api_keys SET secret_confirmed = false")
            assert await asyncio.wait_for(heard.get(), 5) == "cu_test_ci_old"
            assert await store.confirm_secret("cu_test_ci_old", secret_id) is True
            assert await asyncio.wait_for(heard.get(), 5) == "cu_test_ci_old"
            assert await store.confirm_secret("cu_test_ci_old", secret_id) is False  # done already
        finally:
            await conn.close()
    finally:
        await store.close()


async def test_schema_3_keys_get_a_case_folded_name_sort_and_the_index_walks_it(pg_url):
    """Step 4 adds api_keys.name_sort: the keys already there get their case-folded name, the
    name sort follows it (not the skeleton, which sorts `mail` as `rnail`), the name sort's index
    is on it, and no default is left behind (a writer that forgets it fails, not sorts first)."""
    from changeup_tui.core.models import Environment, KeyQuery, SortField

    db = Backend("postgres", pg_url)
    for step in MIGRATIONS[:3]:
        db.raw(step)
    db.raw("CREATE TABLE schema_version (version integer NOT NULL)")
    for version in (1, 2, 3):
        db.raw("INSERT INTO schema_version (version) VALUES ($1)", version)
    for number, (name, key) in enumerate(
        (("Oscar", "oscar"), ("mail", "rnail"), ("Lima", "lirna"), ("nail", "nail"))
    ):
        db.raw(
            "INSERT INTO api_keys (client_id, environment, name, name_key, hint, created_at, "
            f"created_by) VALUES ('cu_test_ci_{number}', 'test', $1, $2, 'abcd', now(), 'tester')",
            name, key,
        )
    store = PostgresStore(pg_url)
    await store.open()
    try:
        assert db.raw("SELECT name, name_sort FROM api_keys ORDER BY name_sort") == [
            ("Lima", "lima"), ("mail", "mail"), ("nail", "nail"), ("Oscar", "oscar"),
        ]
        page = await store.list_keys(KeyQuery(Environment.TEST, sort=SortField.NAME, limit=10))
        assert [k.name for k in page.keys] == ["Lima", "mail", "nail", "Oscar"]
        [(definition,)] = db.raw(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'api_keys_env_name'"
        )
        assert "(environment, name_sort, id)" in definition
        assert db.raw(
            "SELECT column_default IS NULL FROM information_schema.columns "
            "WHERE table_name = 'api_keys' AND column_name = 'name_sort'"
        ) == [(True,)]
    finally:
        await store.close()


def left_at_step(pg_url: str, last: int) -> Backend:
    """The database as schema steps 1 to `last` left it (as an older changeup-tui made it)."""
    db = Backend("postgres", pg_url)
    db.raw("CREATE TABLE schema_version (version integer NOT NULL)")
    for number, step in enumerate(MIGRATIONS[:last], start=1):
        db.raw(step)
        db.raw("INSERT INTO schema_version (version) VALUES ($1)", number)
    return db


async def test_schema_5_gets_actor_triggers_that_keep_the_actors_and_pin_their_search_path(pg_url):
    """Step 6, on a database step 5 left: created_by and status_changed_by cannot be rewritten by
    an UPDATE any more (only a change of status names the role that made it), and each of the
    schema's functions runs with its own search_path (no caller's schema can shadow what it
    calls)."""
    db = left_at_step(pg_url, 5)
    db.raw(
        "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
        "created_at, created_by) VALUES ('cu_test_ci_old', 'test', 'old', 'old', 'old', 'abcd', "
        "now(), 'anyone')"
    )
    [(me,)] = db.raw("SELECT session_user::text")
    db.raw("UPDATE api_keys SET created_by = 'tester', status_changed_by = 'tester'")
    assert db.raw("SELECT created_by, status_changed_by FROM api_keys") == [("tester", "tester")]
    store = PostgresStore(pg_url)
    await store.open()
    await store.close()
    assert db.raw("SELECT max(version) FROM schema_version") == [(LATEST_VERSION,)]
    assert LATEST_VERSION >= 6
    db.raw("UPDATE api_keys SET created_by = 'mallory', status_changed_by = 'mallory'")
    assert db.raw("SELECT created_by, status_changed_by FROM api_keys") == [("tester", "tester")]
    db.raw(event_sql("cu_test_ci_old")
           + "UPDATE api_keys SET status = 'disabled', created_by = 'mallory'")
    assert db.raw("SELECT created_by, status_changed_by FROM api_keys") == [("tester", me)]
    configs = db.raw(
        "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY 1"  # not pg_trgm's
    )
    assert [name for name, _ in configs] == [
        "api_keys_actor", "api_keys_notify", "audit_events_actor", "audit_events_append_only",
        "audit_events_written_in", "changeup_copying", "keys_audited",  # + step 7's
    ]
    assert {tuple(config or ()) for _, config in configs} == {("search_path=pg_catalog, pg_temp",)}


async def test_schema_6_gets_the_audit_requirement_from_db_init(pg_url, clock):
    """Step 7, on a database step 6 left with a key and its event: `db init` (the owner opening
    it) adds it in the migrating transaction; the event already there counts for no later
    transaction, so a raw change to the key is refused at commit, with one afterwards it commits,
    and the store's own writes go on."""
    from changeup_tui.core.models import Actor, Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.testing import SeededKeyGenerator

    db = left_at_step(pg_url, 6)
    db.raw(
        "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
        "created_at, created_by) VALUES ('cu_test_ci_old', 'test', 'old', 'old', 'old', 'abcd', "
        "now(), 'anyone'); "
        "INSERT INTO audit_events (at, actor, origin, action, client_id) "
        "VALUES (now(), 'anyone', 'local', 'key.created', 'cu_test_ci_old'); "
        "UPDATE api_keys SET name = 'changed at will'"  # step 6 let this through
    )
    store = PostgresStore(pg_url)  # `db init`: the owner opens it
    await store.open()
    try:
        assert db.raw("SELECT max(version) FROM schema_version") == [(LATEST_VERSION,)]
        assert LATEST_VERSION >= 7
        assert db.raw("SELECT written_in FROM audit_events") == [(None,)]
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="without an audit event"):
            db.raw("UPDATE api_keys SET name = 'again'")
        db.raw(event_sql("cu_test_ci_old") + "UPDATE api_keys SET name = 'with its event'")
        assert db.raw("SELECT name FROM api_keys") == [("with its event",)]
        service = KeyService(store, clock=clock, keygen=SeededKeyGenerator(51, valid_checksum=True),
                             actor=Actor("tester", "local"))
        made = await service.create("New", Environment.TEST)
        await service.rename("cu_test_ci_old", "renamed by the service")
        await service.revoke(made.key.client_id)
    finally:
        await store.close()
