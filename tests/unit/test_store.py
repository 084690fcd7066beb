"""The stores: SQLite's connection settings and file permissions; on both stores (the `db` and
`store` fixtures, tests/store_backends.py) the append-only audit, transactions, keyset
pagination and literal search."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from changeup_tui.core.errors import DatabaseLocked, StoreError
from changeup_tui.core.models import (
    Account,
    ApiKey,
    AuditEvent,
    AuditQuery,
    Environment,
    KeyQuery,
    KeyStatus,
    KeyUse,
    SortField,
)
from changeup_tui.core.names import name_key, sort_key
from changeup_tui.core.store.sqlite import SQLiteStore, to_db
from changeup_tui.testing import FIXED_NOW, SeededKeyGenerator
from tests.store_backends import REFUSE_AUDIT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _event(action="test.event", env=None, client_id=None) -> AuditEvent:
    return AuditEvent(
        at=FIXED_NOW, actor="tester", origin="local", action=action, environment=env, client_id=client_id
    )


async def _pragma(store: SQLiteStore, name: str):
    cursor = await store._conn().execute(f"PRAGMA {name}")
    return (await cursor.fetchone())[0]


async def _insert(store, env, name, gen, *, created_at=FIXED_NOW, hint="abcd") -> ApiKey:
    key = ApiKey(
        client_id=gen.client_id(env),
        environment=env,
        name=name,
        created_at=created_at,
        created_by="tester",
        hint=hint,
    )
    await store.insert_key(
        key, name_key(name), "$argon2id$not-a-real-hash", _event("key.created", env, key.client_id)
    )
    return key


# -- connection and files -------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_pragmas_on_the_live_connection(store):
    assert (await _pragma(store, "journal_mode")).lower() == "wal"
    assert await _pragma(store, "synchronous") == 2  # FULL
    assert await _pragma(store, "busy_timeout") == 5000
    assert await _pragma(store, "foreign_keys") == 1


async def test_folder_0700_and_files_0600_while_open(tmp_path):
    db = tmp_path / "deep" / "er" / "changeup.db"
    old = os.umask(0)  # the most permissive umask: the store must not rely on the caller's
    try:
        store = SQLiteStore(db)
        await store.open()
        try:
            await store.save_account(Account("Ada", "", ""), _event())  # a write: the -wal holds data
            assert _mode(db.parent) == 0o700
            assert _mode(db.parent.parent) == 0o700  # the missing folders above it too
            for suffix in ("", "-wal", "-shm"):
                path = Path(f"{db}{suffix}")
                assert os.path.exists(path), suffix  # noqa: ASYNC240
                assert _mode(path) == 0o600, (suffix, oct(_mode(path)))
        finally:
            await store.close()
    finally:
        os.umask(old)


async def test_existing_database_is_tightened_to_0600(db_path):
    store = SQLiteStore(db_path)
    await store.open()
    await store.close()
    os.chmod(db_path, 0o644)
    store = SQLiteStore(db_path)
    await store.open()
    try:
        assert _mode(db_path) == 0o600
    finally:
        await store.close()


async def test_closed_store_refuses_with_a_store_error(db):
    store = db.make_store()
    await store.open()
    await store.close()
    await store.close()  # twice is harmless
    with pytest.raises(StoreError, match="not open"):
        await store.get_setting("x")
    with pytest.raises(StoreError, match="not open"):
        await store.set_setting("x", "y")


# -- append-only audit ----------------------------------------------------------------------------


async def test_audit_events_refuse_update_and_delete(store, db):
    await store.save_account(Account("Ada", "", ""), _event("account.updated"))
    refused = ["UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"]
    if db.is_postgres:
        refused.append("TRUNCATE audit_events")
    for sql in refused:
        with pytest.raises(Exception, match="append-only"):  # sqlite3 / asyncpg error, by the trigger
            db.raw(sql)
    assert db.raw("SELECT actor, action FROM audit_events") == [(db.actor("tester"), "account.updated")]
    assert [e.actor for e in await store.list_audit(AuditQuery())] == [db.actor("tester")]


# -- transactions ---------------------------------------------------------------------------------


def _in_transaction(store, db) -> bool:
    """The store's connection is inside a transaction (SQLite's one connection; on PostgreSQL a
    pooled connection that stayed in one would hold the other writes below, which then fail)."""
    return False if db.is_postgres else store._conn().in_transaction


async def test_write_that_raises_rolls_back(store, db):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store._write() as conn:
            await conn.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
            raise Boom
    assert await store.get_setting("a") is None
    assert not _in_transaction(store, db)
    # the lock was released and the database is not held: another connection writes at once
    _raw_write_now(db, "INSERT INTO settings (key, value) VALUES ('b', '2')")
    await store.set_setting("a", "3")
    assert await store.get_setting("a") == "3"
    assert await store.get_setting("b") == "2"


def _raw_write_now(db, sql: str) -> None:
    """A write on another connection that must not wait for a lock."""
    if db.is_postgres:
        db.raw(f"DO $$ BEGIN SET LOCAL lock_timeout = 1; {sql}; END $$")
    else:
        with contextlib.closing(sqlite3.connect(db.target, timeout=0)) as raw:
            raw.execute(sql)
            raw.commit()


async def test_sql_error_inside_write_rolls_back_and_is_a_store_error(store, db):
    with pytest.raises(StoreError):
        async with store._write() as conn:
            await conn.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
            await conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert await store.get_setting("a") is None
    assert not _in_transaction(store, db)


async def test_cancelled_write_rolls_back_and_releases_the_lock(store, db):
    inside = asyncio.Event()

    async def slow_write():
        async with store._write() as conn:
            await conn.execute("INSERT INTO settings (key, value) VALUES ('c', '1')")
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(slow_write())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.get_setting("c") is None
    assert not _in_transaction(store, db)
    _raw_write_now(db, "INSERT INTO settings (key, value) VALUES ('d', '1')")
    await asyncio.wait_for(store.set_setting("c", "2"), timeout=5)
    assert await store.get_setting("c") == "2"


async def test_concurrent_writes_in_one_process_are_serialised(store):
    await asyncio.gather(
        *(store.save_account(Account(f"n{i}", "", ""), _event(f"e{i}")) for i in range(30))
    )
    events = await store.list_audit(AuditQuery(limit=100))
    assert sorted(e.action for e in events) == sorted(f"e{i}" for i in range(30))


# -- the "secret never confirmed" mark -------------------------------------------------------------


async def test_confirm_secret_goes_by_the_secret_id_not_its_hint(store):
    """Two secrets of one key with the same hint: confirming the first (its showing ended after
    the second was made) changes nothing; confirming the second, the newest, clears the mark.
    Another key's secret id never confirms this key."""
    gen = SeededKeyGenerator(11, valid_checksum=True)
    key = ApiKey(
        client_id=gen.client_id(Environment.TEST), environment=Environment.TEST, name="shared",
        created_at=FIXED_NOW, created_by="tester", hint="same", secret_confirmed=False,
    )
    first = await store.insert_key(
        key, name_key(key.name), "$argon2id$first", _event("key.created", key.environment, key.client_id)
    )
    other = await _insert(store, Environment.TEST, "other", gen, hint="same")
    other_record = await store.get_key(other.client_id)
    assert other_record is not None
    other_secret = other_record.secrets[0].id
    second = await store.add_secret(
        key.client_id, "$argon2id$second", "same", FIXED_NOW, FIXED_NOW + timedelta(hours=1),
        frozenset({KeyStatus.ACTIVE}), _event("key.rolled", key.environment, key.client_id),
        secret_confirmed=False,
    )
    assert isinstance(first, int) and isinstance(second, int) and first != second

    async def confirmed() -> bool:
        record = await store.get_key(key.client_id)
        assert record is not None
        return record.key.secret_confirmed

    assert await store.confirm_secret(key.client_id, first) is False
    assert await confirmed() is False
    assert await store.confirm_secret(key.client_id, other_secret) is False
    assert await confirmed() is False
    assert await store.confirm_secret(key.client_id, second) is True
    assert await confirmed() is True
    assert await store.confirm_secret(key.client_id, second) is False  # done already
    refused = await store.add_secret(
        "cu_test_ci_nosuchkey", "$argon2id$x", "same", FIXED_NOW, FIXED_NOW,
        frozenset({KeyStatus.ACTIVE}), _event("key.rolled"),
    )
    assert refused is None


# -- keyset pagination ----------------------------------------------------------------------------

WORDS = ["alpha", "Beta", "gamma", "DELTA", "épsilon", "Zeta"]


@pytest.fixture
async def many_keys(store):
    """250 keys: both environments, the same names in each, tied creation and last-used times."""
    gen = SeededKeyGenerator(250, valid_checksum=True)
    rows = []  # (row id, key, last_used text)
    for i in range(250):
        env = Environment.TEST if i < 125 else Environment.LIVE
        j = i % 125
        name = f"{WORDS[j % 6]} {j // 6}"
        created = FIXED_NOW + timedelta(seconds=(i * 7919) % 97)
        key = await _insert(store, env, name, gen, created_at=created)
        last = None
        if i % 3:
            last = FIXED_NOW + timedelta(minutes=(i * 31) % 13)
            await store.record_use([KeyUse(key.client_id, last, last)])
        rows.append((i + 1, key, to_db(last) or ""))
    return rows


def _expected(rows, sort: SortField, env: Environment | None) -> list[str]:
    rows = [r for r in rows if env is None or r[1].environment is env]
    if sort is SortField.CREATED:
        ordered = sorted(rows, key=lambda r: (to_db(r[1].created_at), r[0]), reverse=True)
    elif sort is SortField.NAME:
        ordered = sorted(rows, key=lambda r: (sort_key(r[1].name), r[0]))
    else:
        ordered = sorted(rows, key=lambda r: (r[2], r[0]), reverse=True)
    return [r[1].client_id for r in ordered]


async def _all_pages(store, query: KeyQuery) -> tuple[list[str], list[int]]:
    seen, sizes = [], []
    after = None
    for _ in range(1000):
        page = await store.list_keys(
            KeyQuery(query.environment, query.search, query.sort, query.include_revoked, query.limit, after)
        )
        seen += [k.client_id for k in page.keys]
        sizes.append(len(page.keys))
        if page.next_cursor is None:
            return seen, sizes
        after = page.next_cursor
    raise AssertionError("pagination never ended")


@pytest.mark.parametrize("sort", list(SortField))
async def test_keyset_pagination_returns_every_key_once_in_order(store, many_keys, sort):
    for env in (None, Environment.TEST, Environment.LIVE):
        expected = _expected(many_keys, sort, env)
        assert len(expected) == (250 if env is None else 125)
        for limit in (1, 7, 50, 125, 300):
            seen, sizes = await _all_pages(store, KeyQuery(environment=env, sort=sort, limit=limit))
            assert len(seen) == len(set(seen)) == len(expected), (env, limit)
            assert seen == expected, (env, limit)
            assert all(size == limit for size in sizes[:-1])
            assert 0 < sizes[-1] <= limit
        assert await store.count_keys(KeyQuery(environment=env)) == len(expected)


async def test_pagination_hides_revoked_when_asked(store, many_keys):
    revoked = [k for _, k, _ in many_keys[:10]]
    for key in revoked:
        await store.set_status(
            key.client_id,
            KeyStatus.REVOKED,
            FIXED_NOW,
            "tester",
            frozenset({KeyStatus.ACTIVE}),
            _event("key.revoked", key.environment, key.client_id),
        )
    seen, _ = await _all_pages(store, KeyQuery(include_revoked=False, sort=SortField.NAME, limit=9))
    assert len(seen) == 240
    assert not {k.client_id for k in revoked} & set(seen)
    assert await store.count_keys(KeyQuery(include_revoked=False)) == 240


async def test_name_sort_is_by_the_case_folded_name_not_the_skeleton(store):
    """The skeleton (name_key: uniqueness) reads `mail` as `rnail` and `0` as `O`; the list sorts
    by the case-folded name: Lima, mail, Mamba, nail, Oscar, in every page size, both ways."""
    gen = SeededKeyGenerator(31, valid_checksum=True)
    for name in ("Oscar", "nail", "Mamba", "mail", "Lima"):
        await _insert(store, Environment.TEST, name, gen)
    assert name_key("mail") > name_key("Oscar")  # the skeleton's order would put mail last
    expected = ["Lima", "mail", "Mamba", "nail", "Oscar"]
    for limit in (1, 2, 5):
        query = KeyQuery(environment=Environment.TEST, sort=SortField.NAME, limit=limit)
        seen, _ = await _all_pages(store, query)
        names = {k.client_id: k.name for k in (await store.list_keys(
            KeyQuery(environment=Environment.TEST, limit=10))).keys}
        assert [names[cid] for cid in seen] == expected, limit
        backwards, _ = await _all_pages_backwards(store, query)
        assert [names[cid] for cid in backwards] == expected, limit


async def test_a_rename_moves_the_key_in_the_name_sort(store):
    gen = SeededKeyGenerator(32, valid_checksum=True)
    for name in ("alpha", "charlie"):
        await _insert(store, Environment.TEST, name, gen)
    zulu = await _insert(store, Environment.TEST, "zulu", gen)
    assert await store.rename_key(
        zulu.client_id, "Bravo", name_key("Bravo"), frozenset({KeyStatus.ACTIVE}),
        _event("key.renamed", Environment.TEST, zulu.client_id),
    )
    page = await store.list_keys(KeyQuery(environment=Environment.TEST, sort=SortField.NAME))
    assert [k.name for k in page.keys] == ["alpha", "Bravo", "charlie"]


# -- search ---------------------------------------------------------------------------------------

SEARCH_NAMES = ["100%", "100x", "a_b", "axb", "back\\slash", "backxslash", "50% off", "Plain"]


@pytest.fixture
async def searchable(store):
    gen = SeededKeyGenerator(4242, valid_checksum=True)
    return {name: await _insert(store, Environment.TEST, name, gen) for name in SEARCH_NAMES}


@pytest.mark.parametrize(
    "search,expected",
    [
        ("%", {"100%", "50% off"}),
        ("0%", {"100%", "50% off"}),
        ("100%", {"100%"}),
        ("a_b", {"a_b"}),
        ("A_B", {"a_b"}),
        ("\\", {"back\\slash"}),
        ("k\\s", {"back\\slash"}),
        ("\\%", set()),
        ("%%", set()),
        ("plain", {"Plain"}),
        ("PLAIN", {"Plain"}),
        ("nothing", set()),
    ],
)
async def test_search_metacharacters_are_literal(store, searchable, search, expected):
    page = await store.list_keys(KeyQuery(environment=Environment.TEST, search=search))
    assert {k.name for k in page.keys} == expected
    assert await store.count_keys(KeyQuery(environment=Environment.TEST, search=search)) == len(expected)


async def test_search_by_client_id_fragment(store, searchable):
    target = searchable["axb"]
    fragment = target.client_id[-10:]
    page = await store.list_keys(KeyQuery(search=fragment))
    assert [k.client_id for k in page.keys] == [target.client_id]




async def test_constraint_failure_in_any_write_is_a_store_error(store, db):
    for sql in REFUSE_AUDIT[db.kind]:
        db.raw(sql)
    with pytest.raises(StoreError, match="refused"):
        await _insert(store, Environment.TEST, "Billing", SeededKeyGenerator(7))
    with pytest.raises(StoreError):
        await store.save_account(Account("Ada", "", ""), _event("account.updated"))
    assert await store.get_account() is None
    assert await store.count_keys(KeyQuery()) == 0
    assert not _in_transaction(store, db)


async def _all_pages_backwards(store, query: KeyQuery) -> tuple[list[str], list[object]]:
    """Every key, read from the last page back to the first with list_keys_before."""
    pages: list[list[str]] = []
    before, boundaries = None, []
    for _ in range(1000):
        page = await store.list_keys_before(query, before)
        pages.append([k.client_id for k in page.keys])
        if page.next_cursor is None:
            return [cid for chunk in reversed(pages) for cid in chunk], boundaries
        boundaries.append(page.next_cursor)
        before = page.next_cursor
    raise AssertionError("pagination never ended")


@pytest.mark.parametrize("sort", list(SortField))
async def test_last_page_and_pages_before_it_read_every_key_once_in_order(store, many_keys, sort):
    for env in (None, Environment.TEST, Environment.LIVE):
        expected = _expected(many_keys, sort, env)
        for limit in (1, 7, 125, 300):
            query = KeyQuery(environment=env, sort=sort, limit=limit)
            last = await store.list_keys_before(query, None)
            assert [k.client_id for k in last.keys] == expected[-limit:], (env, limit)
            seen, boundaries = await _all_pages_backwards(store, query)
            assert seen == expected, (env, limit)
            # The key a boundary names ends the page before it and precedes the page after it:
            # read both ways from one boundary, the keys meet, none lost or repeated.
            for boundary in boundaries[:3]:
                before_it = await store.list_keys_before(query, boundary)
                after_it = await store.list_keys(
                    KeyQuery(env, "", sort, True, limit, after=boundary)
                )
                both = [k.client_id for k in (*before_it.keys, *after_it.keys)]
                start = expected.index(both[0])
                assert both == expected[start:start + len(both)], (env, limit)
                assert len(before_it.keys) == limit


async def test_last_page_follows_the_filter(store, many_keys):
    revoked = [k for _, k, _ in many_keys[:10]]
    for key in revoked:
        await store.set_status(
            key.client_id, KeyStatus.REVOKED, FIXED_NOW, "tester", frozenset({KeyStatus.ACTIVE}),
            _event("key.revoked", key.environment, key.client_id),
        )
    live = _expected(many_keys, SortField.NAME, None)
    wanted = [cid for cid in live if cid not in {k.client_id for k in revoked}]
    page = await store.list_keys_before(
        KeyQuery(sort=SortField.NAME, include_revoked=False, limit=5), None
    )
    assert [k.client_id for k in page.keys] == wanted[-5:]
    assert page.next_cursor is not None


# -- db copy's export -----------------------------------------------------------------------------


async def test_export_rows_reads_every_row_in_the_copy_column_orders(store):
    """`export_rows` (what `db copy` reads, on either store): keys, secrets, audit events (oldest
    first), the account and the settings, times as aware datetimes and flags as booleans."""
    from changeup_tui.core.store.copy import AUDIT_COLUMNS, KEY_COLUMNS, SECRET_COLUMNS

    gen = SeededKeyGenerator(33, valid_checksum=True)
    key = await _insert(store, Environment.TEST, "Straße", gen)
    assert await store.add_secret(
        key.client_id, "$argon2id$second", "wxyz", FIXED_NOW, FIXED_NOW + timedelta(hours=1),
        frozenset({KeyStatus.ACTIVE}), _event("key.rolled", Environment.TEST, key.client_id),
        secret_confirmed=False,
    )
    await store.save_account(Account("Dana", "dana@example.com", "Example"), _event("account.updated"))
    await store.set_setting("environment", "live")

    dump = await store.export_rows()
    [row] = [dict(zip(KEY_COLUMNS, values, strict=True)) for values in dump.keys]
    assert row["client_id"] == key.client_id and row["name"] == "Straße"
    assert row["name_sort"] == "strasse" and row["name_key"] == name_key("Straße")
    assert row["created_at"] == FIXED_NOW and row["created_at"].tzinfo is not None
    assert row["secret_confirmed"] is False and row["hint"] == "wxyz"
    secrets = [dict(zip(SECRET_COLUMNS, values, strict=True)) for values in dump.secrets]
    assert [(s["key_id"], s["phc"], s["expires_at"]) for s in secrets] == [
        (row["id"], "$argon2id$not-a-real-hash", FIXED_NOW + timedelta(hours=1)),
        (row["id"], "$argon2id$second", None),
    ]
    actions = [dict(zip(AUDIT_COLUMNS, values, strict=True))["action"] for values in dump.audit]
    assert actions == ["key.created", "key.rolled", "account.updated"]
    assert dump.account is not None and dump.account[:3] == ("Dana", "dana@example.com", "Example")
    assert ("environment", "live") in dump.settings


# -- last used, recorded in batches ---------------------------------------------------------------


async def test_record_use_of_many_keys_in_one_batch(store):
    """One call for 300 keys in use (a verifier's batch), each key by its own rule: never used or
    used before `not_since` gets `at`; used since keeps its time; an unknown Client ID changes
    nothing; a rehash lands only where the stored hash is still the one it replaces."""
    gen = SeededKeyGenerator(300, valid_checksum=True)
    keys = [await _insert(store, Environment.TEST, f"batch {i}", gen) for i in range(300)]
    long_ago, lately = FIXED_NOW - timedelta(hours=2), FIXED_NOW - timedelta(seconds=10)
    await store.record_use(
        [KeyUse(k.client_id, long_ago, long_ago) for k in keys[100:200]]
        + [KeyUse(k.client_id, lately, lately) for k in keys[200:]]
    )
    secrets = {k.client_id: (await store.get_key(k.client_id)).secrets[0] for k in keys[:11]}
    not_since = FIXED_NOW - timedelta(minutes=1)
    uses = [KeyUse(k.client_id, FIXED_NOW, not_since) for k in keys]
    uses += [KeyUse("cu_test_ci_nosuchkey", FIXED_NOW, not_since)]
    uses += [
        KeyUse(k.client_id, FIXED_NOW, not_since, secrets[k.client_id].id,
               secrets[k.client_id].phc, f"$argon2id$rehashed-{i}")
        for i, k in enumerate(keys[:10])
    ]
    uses += [KeyUse(keys[10].client_id, FIXED_NOW, not_since, secrets[keys[10].client_id].id,
                    "$argon2id$not-the-stored-one", "$argon2id$lost")]
    await store.record_use(uses)

    states = await store.get_key_states([k.client_id for k in keys])
    used = [states[k.client_id].key.last_used_at for k in keys]
    assert used[:200] == [FIXED_NOW] * 200  # never used, or used before not_since
    assert used[200:] == [lately] * 100  # used since not_since: kept
    phcs = [(await store.get_key(k.client_id)).secrets[0].phc for k in keys[:11]]
    assert phcs[:10] == [f"$argon2id$rehashed-{i}" for i in range(10)]
    assert phcs[10] == secrets[keys[10].client_id].phc  # its hash was not the one replaced
    assert await store.get_key("cu_test_ci_nosuchkey") is None


@pytest.mark.sqlite_only
async def test_a_batch_of_uses_that_fails_records_none_of_them(store):
    """All of a batch or nothing: a use that cannot be written (a naive time) leaves every other
    key of the batch as it was."""
    gen = SeededKeyGenerator(20, valid_checksum=True)
    keys = [await _insert(store, Environment.TEST, f"all or none {i}", gen) for i in range(20)]
    uses = [KeyUse(k.client_id, FIXED_NOW, FIXED_NOW) for k in keys]
    uses[15] = KeyUse(keys[15].client_id, FIXED_NOW.replace(tzinfo=None), FIXED_NOW)
    with pytest.raises(ValueError):
        await store.record_use(uses)
    states = await store.get_key_states([k.client_id for k in keys])
    assert [states[k.client_id].key.last_used_at for k in keys] == [None] * 20
    await store.record_use(uses[:15])  # the store is usable after it
    states = await store.get_key_states([k.client_id for k in keys])
    assert [states[k.client_id].key.last_used_at for k in keys] == [FIXED_NOW] * 15 + [None] * 5


@pytest.mark.sqlite_only
async def test_record_use_gives_up_after_its_short_wait_and_says_how_long(store, db_path):
    """"Last used" is best effort: with the write lock held elsewhere it waits
    BEST_EFFORT_BUSY_MS, not the full busy timeout, and its message says the wait it made."""
    gen = SeededKeyGenerator(3, valid_checksum=True)
    key = await _insert(store, Environment.TEST, "busy", gen)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(DatabaseLocked) as info:
            await store.record_use([KeyUse(key.client_id, FIXED_NOW, FIXED_NOW)])
        took = asyncio.get_running_loop().time() - started
    finally:
        other.close()
    assert 0.15 <= took < 2, took
    said = re.search(r"\(waited (\d+\.\d) s\)", str(info.value))
    assert said is not None, str(info.value)
    assert 0.15 <= float(said.group(1)) <= took + 0.05, (str(info.value), took)
    await store.record_use([KeyUse(key.client_id, FIXED_NOW, FIXED_NOW)])  # free again: written
    assert (await store.get_key(key.client_id)).key.last_used_at == FIXED_NOW
