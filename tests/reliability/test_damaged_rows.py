"""One damaged row does not take the page down: the store reads it as damaged (with what it
could read, its Client ID always), lists the other keys, and a verify of it is refused with the
reason 'damaged', never a StoreError. SQLite's own messages and the path are made visible."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from changeup_tui.core.models import AuditQuery, Environment, KeyQuery, SortField
from changeup_tui.core.store.sqlite import SQLiteStore, translate

from .damaged import DAMAGES, NOT_UTF8_NAME, damage, damage_sql

ESC = "\x1b"


@pytest.mark.parametrize(("label", "assignments", "column"), DAMAGES, ids=[d[0] for d in DAMAGES])
async def test_a_damaged_key_is_listed_as_damaged_and_never_verifies(
    service, store, db_path, label, assignments, column
):
    good = await service.create("good", Environment.TEST)
    bad = await service.create("bad", Environment.TEST)
    damage(db_path, bad.key.client_id, assignments)

    for sort in SortField:
        page = await store.list_keys(KeyQuery(sort=sort))
        keys = {k.client_id: k for k in page.keys}
        assert set(keys) == {good.key.client_id, bad.key.client_id}, label
        assert not keys[good.key.client_id].damaged
        damaged = keys[bad.key.client_id]
        assert damaged.unreadable == {column}, (label, damaged.damaged)
        assert damaged.damaged.startswith(f"{column} is "), damaged.damaged
        assert ESC not in damaged.damaged
        assert damaged.state(service.clock()) == "damaged"
    if column != "name":
        assert keys[bad.key.client_id].name == "bad"  # what could be read, is

    result = await service.verify(bad.key.client_id, bad.secret)
    assert not result.ok and result.reason == "damaged", result
    assert (await service.verify(good.key.client_id, good.secret)).ok
    detail = await service.detail(bad.key.client_id)  # the detail page opens too
    assert detail.key.damaged


async def test_a_name_that_is_not_utf8_is_read_with_replacement_characters(service, store, db_path):
    bad = await service.create("bad", Environment.TEST)
    damage(db_path, bad.key.client_id, f"name = {NOT_UTF8_NAME}")
    (key,) = (await store.list_keys(KeyQuery())).keys
    assert key.name == "\ufffd\x1b]0;pwned\x07_name"  # shown through visible() by every caller
    assert key.damaged == "name is not UTF-8 text"


async def test_a_damaged_secret_makes_its_key_damaged(service, db_path):
    bad = await service.create("bad", Environment.TEST)
    damage_sql(db_path, "UPDATE key_secrets SET created_at = 'never'")
    result = await service.verify(bad.key.client_id, bad.secret)
    assert not result.ok and result.reason == "damaged"
    assert "secret" in (await service.get(bad.key.client_id)).damaged


async def test_a_damaged_audit_event_is_listed_as_damaged(service, store, db_path):
    await service.create("one", Environment.TEST)
    damage_sql(db_path, "INSERT INTO audit_events (at, actor, origin, action, environment, "
                        "client_id, detail) VALUES ('soon', CAST(X'ff' AS TEXT), 'x', "
                        "'key.created', 'test', NULL, '')")
    await service.create("two", Environment.TEST)
    events = await store.list_audit(AuditQuery())
    assert [bool(e.damaged) for e in events] == [False, True, False]
    assert events[1].unreadable == {"at", "actor"}


async def test_an_account_that_is_not_utf8_does_not_stop_the_start(service, store, db_path):
    damage_sql(db_path, "INSERT INTO account (id, display_name, email, organisation, updated_at) "
                        f"VALUES (1, {NOT_UTF8_NAME}, 'e', 'o', '2026-03-14T09:26:53.000000Z')")
    account = await store.get_account()
    assert account is not None and account.display_name.startswith("\ufffd")


def test_sqlite_messages_and_the_path_are_made_visible():
    """SQLite's "could not decode" message quotes the bytes of the row; the path may hold any
    character: neither reaches a terminal raw through a StoreError."""
    exc = sqlite3.OperationalError(
        "Could not decode to UTF-8 column 'name' with text '\ufffd\x1b]0;pwned\x07'"
    )
    message = str(translate(exc, Path("/tmp/a\x1b]0;title\x07/changeup.db")))
    assert ESC not in message and "\x07" not in message, message
    assert r"\x1b]0;pwned\x07" in message and r"a\x1b]0;title\x07" in message


async def test_the_store_reads_text_that_is_not_utf8_in_every_query(db_path):
    """The text factory is set on every connection (file and memory)."""
    for path in (db_path, ":memory:"):
        store = SQLiteStore(path)
        await store.open()
        try:
            rows = await store._read(f"SELECT {NOT_UTF8_NAME} AS t")
            assert rows[0]["t"].startswith("\ufffd")
        finally:
            await store.close()


@pytest.mark.parametrize("sort", list(SortField))
async def test_pages_walk_past_a_sort_value_that_is_not_utf8(service, store, db_path, sort):
    """A page ending on a row whose sort value is not UTF-8: the next page starts after it (its
    bytes are the cursor), so no key is repeated (the table would refuse a duplicate row)."""
    created = [await service.create(n, Environment.TEST) for n in ("a", "b", "c")]
    damage(db_path, created[1].key.client_id,
           "name_key = CAST(X'62ff' AS TEXT), created_at = CAST(X'32303236ff' AS TEXT), "
           "last_used_at = CAST(X'32303236ff' AS TEXT)")
    seen: list[str] = []
    after = None
    for _ in range(10):  # without the raw cursor, the same key came back for ever
        page = await store.list_keys(KeyQuery(sort=sort, limit=1, after=after))
        seen += [k.client_id for k in page.keys]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert sorted(seen) == sorted(c.key.client_id for c in created), seen


async def test_the_public_verifiers_refuse_a_damaged_key(service, db_path):
    from changeup_tui.core.verifier import SyncVerifier, Verifier

    bad = await service.create("bad", Environment.TEST)
    damage(db_path, bad.key.client_id, "created_at = 'yesterday'")
    async with Verifier(db_path, environment=Environment.TEST) as verifier:
        assert (await verifier.verify(bad.key.client_id, bad.secret)).reason == "damaged"
    sync = SyncVerifier(db_path, environment=Environment.TEST)
    try:
        assert sync.verify(bad.key.client_id, bad.secret).reason == "damaged"
    finally:
        sync.close()
