"""The store's performance paths give the same answers as the plain queries they replace:
the trigger-kept key counts, and the search that skips the Client ID comparison when the term
holds a character no Client ID has."""

from __future__ import annotations

import sqlite3

import pytest

from changeup_tui.core import hashing
from changeup_tui.core.models import Environment, KeyQuery
from changeup_tui.core.names import name_key


@pytest.fixture(autouse=True)
def cheap_hash(monkeypatch):
    """These tests are about counting and searching rows: skip argon2's 0.1 s per key."""

    async def fake_hash(secret):
        return "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$not-a-real-hash"

    monkeypatch.setattr(hashing, "hash_secret", fake_hash)


NAMES = ["Acme shop", "acme-shop", "Café Noir", "ZÜRICH pos", "x_y", "100%", "back\\slash"]


def scan_count(path, environment, include_revoked) -> int:
    clauses, params = [], []
    if environment is not None:
        clauses.append("environment = ?")
        params.append(environment.value)
    if not include_revoked:
        clauses.append("status != 'revoked'")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT count(*) FROM api_keys{where}", params).fetchone()[0]


async def assert_counts_match(store, path) -> None:
    for environment in (None, Environment.LIVE, Environment.TEST):
        for include_revoked in (True, False):
            query = KeyQuery(environment=environment, include_revoked=include_revoked)
            assert await store.count_keys(query) == scan_count(path, environment, include_revoked)


async def test_counts_follow_create_disable_enable_revoke(service, store, db_path):
    assert await store.count_keys(KeyQuery()) == 0
    created = []
    for i, name in enumerate(NAMES):
        env = Environment.LIVE if i % 2 else Environment.TEST
        created.append((await service.create(name, env)).key)
    await assert_counts_match(store, db_path)
    assert await store.count_keys(KeyQuery(environment=Environment.TEST)) == 4
    await service.disable(created[0].client_id)
    await assert_counts_match(store, db_path)
    await service.enable(created[0].client_id)
    await service.disable(created[2].client_id)
    await service.revoke(created[1].client_id, confirm_name=created[1].name)
    await service.revoke(created[2].client_id)
    await service.rename(created[3].client_id, "renamed")  # not a status change
    await assert_counts_match(store, db_path)
    assert await store.count_keys(KeyQuery(include_revoked=False)) == len(NAMES) - 2


async def test_counts_follow_raw_sql_writes(service, store, db_path):
    for i, name in enumerate(NAMES):
        await service.create(name, Environment.TEST if i % 3 else Environment.LIVE)
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE api_keys SET status = 'revoked' WHERE id % 2 = 0")
        db.execute("UPDATE api_keys SET environment = 'live', status = 'disabled' WHERE id = 3")
    await assert_counts_match(store, db_path)


@pytest.mark.parametrize(
    "term", ["shop", "SHOP", "acme-", "café", "zürich", "x_y", "_", "%", "100%", "\\", " pos",
             "cu_test_ci_", "CU_LIVE", "ci_", "nothing-here"],
)
async def test_search_same_rows_as_the_two_like_form(service, store, db_path, term):
    for i, name in enumerate(NAMES):
        await service.create(name, Environment.TEST if i % 2 else Environment.LIVE)
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    with sqlite3.connect(db_path) as db:
        expected = {
            row[0]
            for row in db.execute(
                "SELECT client_id FROM api_keys WHERE name_key LIKE ? ESCAPE '\\' "
                "OR client_id LIKE ? ESCAPE '\\'",
                (f"%{escape(name_key(term))}%", f"%{escape(term)}%"),  # names by their key
            )
        }
    page = await store.list_keys(KeyQuery(search=term, limit=100))
    assert {k.client_id for k in page.keys} == expected
    assert await store.count_keys(KeyQuery(search=term)) == len(expected)
