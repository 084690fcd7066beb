"""Schema migrations by PRAGMA user_version, and the databases the store must refuse untouched."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from changeup_tui.core.errors import DatabaseLocked, NotADatabase, SchemaTooNew, StoreError
from changeup_tui.core.store import sqlite as sqlite_module
from changeup_tui.core.store.migrations import LATEST_VERSION, MIGRATIONS
from changeup_tui.core.store.sqlite import SQLiteStore

TABLES = {"account", "settings", "api_keys", "key_secrets", "audit_events"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw(path: Path, sql: str):
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(sql).fetchall()


def _schema(path: Path) -> list[tuple]:
    return _raw(path, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


async def _open_close(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.close()


async def test_fresh_database_gets_the_latest_schema(db_path):
    assert LATEST_VERSION == len(MIGRATIONS) >= 1
    await _open_close(db_path)
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    names = {name for _, name, _ in _schema(db_path)}
    assert names >= TABLES
    assert {"audit_events_no_update", "audit_events_no_delete"} <= names


async def test_reopen_is_a_no_op(db_path, monkeypatch):
    store = SQLiteStore(db_path)
    await store.open()
    await store.set_setting("kept", "yes")
    await store.close()
    schema, digest = _schema(db_path), _digest(db_path)

    calls = []
    real_split = sqlite_module._split_sql
    monkeypatch.setattr(sqlite_module, "_split_sql", lambda s: calls.append(1) or real_split(s))
    for _ in range(2):
        store = SQLiteStore(db_path)
        await store.open()
        assert await store.get_setting("kept") == "yes"
        await store.close()
    assert calls == []  # no migration step ran
    assert _schema(db_path) == schema
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert _digest(db_path) == digest


async def test_newer_schema_is_refused_and_the_file_untouched(db_path):
    store = SQLiteStore(db_path)
    await store.open()
    await store.set_setting("kept", "yes")
    await store.close()
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    digest = _digest(db_path)

    store = SQLiteStore(db_path)
    with pytest.raises(SchemaTooNew) as info:
        await store.open()
    assert "upgrade" in str(info.value)
    assert str(LATEST_VERSION + 1) in str(info.value)
    assert _digest(db_path) == digest
    wal = f"{db_path}-wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0  # noqa: ASYNC240
    assert _raw(db_path, "SELECT value FROM settings") == [("yes",)]
    with pytest.raises(StoreError, match="not open"):  # the failed store holds no connection
        await store.get_setting("kept")


async def test_newer_schema_in_rollback_journal_mode_is_not_switched_to_wal(db_path):
    """Refusing a database must not first rewrite its header (journal mode)."""
    db_path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    digest = _digest(db_path)
    with pytest.raises(SchemaTooNew):
        await _open_close(db_path)
    assert _digest(db_path) == digest
    assert _raw(db_path, "PRAGMA journal_mode") == [("delete",)]


async def test_foreign_sqlite_database_is_not_migrated_into(db_path):
    """An SQLite file of some other program (user_version 0, its own tables) is refused, not
    filled with our tables."""
    db_path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    digest = _digest(db_path)
    with pytest.raises(NotADatabase):
        await _open_close(db_path)
    assert _digest(db_path) == digest
    assert {name for _, name, _ in _schema(db_path)} == {"moz_places"}


async def test_random_bytes_are_not_a_database_and_stay_unchanged(db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(8192))
    digest = _digest(db_path)
    with pytest.raises(NotADatabase) as info:
        await _open_close(db_path)
    assert "\n" not in str(info.value)
    assert _digest(db_path) == digest
    assert not os.path.exists(f"{db_path}-wal")  # noqa: ASYNC240


async def test_damaged_sqlite_file_is_not_a_database_and_stays_unchanged(db_path):
    await _open_close(db_path)
    data = bytearray(db_path.read_bytes())
    data[16:100] = os.urandom(84)  # keep the magic string, wreck the rest of the header
    data[100:] = os.urandom(len(data) - 100)
    db_path.write_bytes(bytes(data))
    digest = _digest(db_path)
    with pytest.raises(NotADatabase):
        await _open_close(db_path)
    assert _digest(db_path) == digest


async def test_empty_file_is_initialised(db_path):
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    await _open_close(db_path)
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]


async def test_a_folder_is_refused(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (folder / "inside.txt").write_text("keep me")
    with pytest.raises(StoreError) as info:
        await _open_close(folder)
    assert "folder" in str(info.value)
    assert [p.name for p in folder.iterdir()] == ["inside.txt"]


async def test_two_stores_opening_a_new_database_at_once(db_path):
    stores = [SQLiteStore(db_path) for _ in range(2)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        await stores[0].set_setting("a", "1")
        assert await stores[1].get_setting("a") == "1"
    finally:
        for s in stores:
            await s.close()
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]


def test_processes_opening_a_new_database_at_once(tmp_path):
    """Several processes race to create and migrate the same new file: all succeed."""
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from changeup_tui.core.store.sqlite import SQLiteStore
        async def main(path, start):
            while time.time() < start:
                await asyncio.sleep(0.001)
            store = SQLiteStore(path)
            await store.open()
            await store.set_setting(sys.argv[3], "ok")
            await store.close()
        asyncio.run(main(sys.argv[1], float(sys.argv[2])))
        """
    )
    import time

    for attempt in range(2):
        db = tmp_path / f"race{attempt}" / "changeup.db"
        start = time.time() + 1.0
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(db), str(start), f"p{i}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert all(code == 0 for code, _ in results), results
        assert _raw(db, "PRAGMA user_version") == [(LATEST_VERSION,)]
        assert sorted(_raw(db, "SELECT key FROM settings")) == [(f"p{i}",) for i in range(4)]
        assert _raw(db, "PRAGMA integrity_check") == [("ok",)]


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock of `path` (BEGIN IMMEDIATE), as a store opening
    the same new file does while it puts it in WAL mode or migrates it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_new_database_opens_while_another_connection_holds_its_write_lock(db_path):
    """The cause of the race above, made certain: on a file still in rollback mode, `PRAGMA
    journal_mode = WAL` upgrades a read to a write, and SQLite answers SQLITE_BUSY at once for
    that upgrade, without its busy handler. The open waits (bounded) until the lock is free."""
    other = _hold_write_lock(db_path)
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    store = SQLiteStore(db_path)
    started = asyncio.get_running_loop().time()
    try:
        await store.open()
        took = asyncio.get_running_loop().time() - started
        await store.set_setting("a", "1")
    finally:
        await store.close()
        other.close()
    assert took >= 0.25, took  # it did wait for the other connection, and then went on
    assert _raw(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]


async def test_the_wait_for_a_locked_new_database_is_bounded_and_its_message_says_how_long(
    db_path, monkeypatch
):
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_MS", 400)
    other = _hold_write_lock(db_path)
    store = SQLiteStore(db_path)
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(DatabaseLocked) as info:
            await store.open()
        took = asyncio.get_running_loop().time() - started
    finally:
        await store.close()
        other.close()
    assert 0.3 <= took < 3, took
    said = re.search(r"\(waited (\d+\.\d) s\)", str(info.value))
    assert said is not None, str(info.value)
    assert 0.3 <= float(said.group(1)) <= took + 0.05, (str(info.value), took)
    assert _raw(db_path, "PRAGMA user_version") == [(0,)]  # nothing was written


async def test_many_stores_opening_new_databases_at_once(tmp_path):
    """Many parallel openers of new files (each file opened by four stores at once): every open
    succeeds, every file ends migrated. Before the WAL retry two or three files in 1,000 failed
    so (SQLITE_BUSY from the WAL switch): this test is a guard, the one above the certain form."""
    paths = [tmp_path / f"new{i}" / "changeup.db" for i in range(24)]
    stores = [SQLiteStore(path) for path in paths for _ in range(4)]
    try:
        results = await asyncio.gather(*(s.open() for s in stores), return_exceptions=True)
    finally:
        for s in stores:
            await s.close()
    assert [r for r in results if r is not None] == []
    for path in paths:
        assert _raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]


# -- 2: name_key becomes the confusable skeleton ------------------------------------------------


async def _v1_database_with_look_alikes(path: Path) -> dict[str, str]:
    """A database as version 1 left it: name_key = casefold(NFC(name)), so `billing` and
    `bіlling` (Cyrillic і) were both active in Test. Returns {client_id: secret}."""
    import unicodedata

    from changeup_tui.core.models import Actor, Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.testing import FixedClock, SeededKeyGenerator

    store = SQLiteStore(path)
    await store.open()
    service = KeyService(store, clock=FixedClock(), keygen=SeededKeyGenerator(5, valid_checksum=True),
                         actor=Actor("tester", "local"))
    secrets = {}
    for name, env in (("billing", Environment.TEST), ("placeholder", Environment.TEST),
                      ("billing", Environment.LIVE), ("Key0", Environment.TEST),
                      ("gone", Environment.TEST)):
        created = await service.create(name, env)
        secrets[created.key.client_id] = created.secret.reveal()
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE api_keys SET name = 'b\u0456lling' WHERE name = 'placeholder'")
        conn.execute("UPDATE api_keys SET name = 'KeyO', status = 'revoked' WHERE name = 'gone'")
        for key_id, name in conn.execute("SELECT id, name FROM api_keys").fetchall():
            old = unicodedata.normalize("NFC", name.casefold())
            conn.execute("UPDATE api_keys SET name_key = ? WHERE id = ?", (old, key_id))
        conn.execute("PRAGMA user_version = 1")
    return secrets


@pytest.mark.usefixtures("fast_argon2")
async def test_skeleton_migration_keeps_colliding_active_keys(db_path):
    """Two active keys whose names now collide must not make the migration fail: the oldest keeps
    the plain key, the later one a key made unique by its Client ID; both still verify, a third
    look-alike is refused, and renaming the later one gives it a plain key."""
    from changeup_tui.core.errors import DuplicateName
    from changeup_tui.core.models import Actor, Environment
    from changeup_tui.core.names import name_key
    from changeup_tui.core.service import KeyService
    from changeup_tui.testing import FixedClock

    secrets = await _v1_database_with_look_alikes(db_path)
    store = SQLiteStore(db_path)
    await store.open()
    try:
        assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
        rows = _raw(db_path, "SELECT client_id, environment, name, name_key, status FROM api_keys "
                             "ORDER BY id")
        by_name = {(env, name): (cid, key, status) for cid, env, name, key, status in rows}
        _, first_key, _ = by_name[("test", "billing")]
        later, later_key, later_status = by_name[("test", "b\u0456lling")]
        assert first_key == name_key("billing")
        assert later_key == name_key("billing") + "\x00" + later
        assert later_status == "active"
        assert by_name[("live", "billing")][1] == name_key("billing")  # other environment: plain
        # a revoked look-alike ("KeyO" beside "Key0") keeps the plain key: revoked keys never clash
        assert by_name[("test", "KeyO")][1] == by_name[("test", "Key0")][1] == name_key("key0")
        assert _raw(db_path, "PRAGMA integrity_check") == [("ok",)]
        assert {name for _, name, _ in _schema(db_path)} >= {"api_keys_live_name"}

        service = KeyService(store, clock=FixedClock(), actor=Actor("tester", "local"))
        for client_id, secret in secrets.items():
            if client_id != by_name[("test", "KeyO")][0]:
                assert (await service.verify(client_id, secret)).ok
        with pytest.raises(DuplicateName):
            await service.create("BI1LING", Environment.TEST)
        await service.rename(later, "billing two")
        assert _raw(db_path, f"SELECT name_key FROM api_keys WHERE client_id = '{later}'") == [
            (name_key("billing two"),)]
    finally:
        await store.close()


async def test_skeleton_migration_failure_rolls_back_to_version_1(db_path, monkeypatch):
    """The Python step runs in the migration's transaction: if it fails, nothing is changed."""
    from changeup_tui.core.store import migrations

    await _v1_database_with_look_alikes(db_path)
    before = _raw(db_path, "SELECT id, name_key FROM api_keys ORDER BY id")

    async def failing(db):
        await migrations.recompute_name_keys(db)
        raise RuntimeError("step failed after its writes")

    monkeypatch.setattr(sqlite_module, "MIGRATIONS", (*MIGRATIONS[:1], failing))
    with pytest.raises(RuntimeError):
        await _open_close(db_path)
    assert _raw(db_path, "PRAGMA user_version") == [(1,)]
    assert _raw(db_path, "SELECT id, name_key FROM api_keys ORDER BY id") == before


async def test_schema_1_keys_are_migrated_as_confirmed(db_path):
    """Migration 3 adds api_keys.secret_confirmed; the keys already there count as confirmed
    (their secrets were shown before the mark existed)."""
    db_path.parent.mkdir(mode=0o700, parents=True)
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO api_keys (client_id, environment, name, name_key, hint, created_at, "
            "created_by) VALUES ('cu_test_ci_old', 'test', 'old', 'old', 'abcd', "
            "'2026-01-01T00:00:00.000000Z', 'tester')"
        )
        conn.execute("PRAGMA user_version = 1")
    os.chmod(db_path, 0o600)
    store = SQLiteStore(db_path)
    await store.open()
    try:
        record = await store.get_key("cu_test_ci_old")
    finally:
        await store.close()
    assert record is not None and record.key.secret_confirmed is True
    assert _raw(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    with pytest.raises(sqlite3.IntegrityError):  # the column takes 0 or 1 only
        _raw(db_path, "UPDATE api_keys SET secret_confirmed = 2")


# -- 5: name_sort, the name sort's key -----------------------------------------------------------


async def test_schema_1_keys_get_a_case_folded_name_sort_that_the_name_sort_walks(db_path):
    """Step 5 gives the keys already there their case-folded name (Python's casefold: `Straße`
    is `strasse`, `Émile` is `émile`), and the name sort reads it through its index, with no
    sorting step: the store's own query, planned by SQLite."""
    from changeup_tui.core.models import Environment, KeyQuery, SortField

    db_path.parent.mkdir(mode=0o700, parents=True)
    names = ["Oscar", "mail", "Straße", "Émile", "nail"]
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executescript(MIGRATIONS[0])
        for number, name in enumerate(names):
            conn.execute(
                "INSERT INTO api_keys (client_id, environment, name, name_key, hint, created_at, "
                "created_by) VALUES (?, 'test', ?, ?, 'abcd', '2026-01-01T00:00:00.000000Z', 't')",
                (f"cu_test_ci_{number}", name, name.casefold()),
            )
        conn.execute("PRAGMA user_version = 1")
    os.chmod(db_path, 0o600)
    store = SQLiteStore(db_path)
    await store.open()
    statements: list[str] = []
    try:
        assert dict(_raw(db_path, "SELECT name, name_sort FROM api_keys")) == {
            "Oscar": "oscar", "mail": "mail", "Straße": "strasse", "Émile": "émile",
            "nail": "nail",
        }
        await store._conn().set_trace_callback(statements.append)
        page = await store.list_keys(KeyQuery(Environment.TEST, sort=SortField.NAME, limit=10))
        await store._conn().set_trace_callback(None)
    finally:
        await store.close()
    assert [k.name for k in page.keys] == ["mail", "nail", "Oscar", "Straße", "Émile"]
    [query] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    plan = " ".join(row[3] for row in _raw(db_path, f"EXPLAIN QUERY PLAN {query}"))
    assert "api_keys_env_name" in plan and "TEMP B-TREE" not in plan, plan
    [(definition,)] = _raw(db_path, "SELECT sql FROM sqlite_master WHERE name = 'api_keys_env_name'")
    assert "(environment, name_sort, id" in definition
