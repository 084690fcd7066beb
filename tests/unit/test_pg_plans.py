"""PostgreSQL plans: the list, count and audit reads are planned for their parameters every time
(a generic plan walked the whole trigram index for a one-letter search: 400 ms at 100,000 keys),
while every other statement, a verify's two reads first, keeps the plan the server cached for it
after its first runs (planning each afresh cost about 100 µs a read). Counted on the server, in
`pg_prepared_statements`, on the store's one pooled connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from changeup_tui.core.models import Actor, AuditQuery, Environment, KeyQuery
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.testing import SeededKeyGenerator

RUNS = 8


@pytest.fixture
async def one_connection(pg_url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_url, max_size=1)  # every statement on the same session
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _plans(store: PostgresStore, fragment: str) -> tuple[int, int]:
    """(generic plans, custom plans) of the session's prepared statement holding `fragment`."""
    rows = await store._fetch(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
        "WHERE strpos(statement, $1) > 0 AND strpos(statement, 'pg_prepared_statements') = 0",
        fragment,
    )
    assert len(rows) == 1, rows
    return int(rows[0]["generic_plans"]), int(rows[0]["custom_plans"])


async def _keys(store: PostgresStore, clock) -> list[str]:
    service = KeyService(store, clock=clock, keygen=SeededKeyGenerator(7, valid_checksum=True),
                         actor=Actor("tester", "local"))
    return [(await service.create(f"plan {i}", Environment.TEST)).key.client_id for i in range(3)]


@pytest.mark.usefixtures("fast_argon2")
async def test_a_verify_s_reads_use_the_cached_plan(one_connection, clock):
    store = one_connection
    (client_id, *_) = await _keys(store, clock)
    for _ in range(RUNS):
        assert (await store.get_key(client_id)) is not None
        assert (await store.get_key_state(client_id)) is not None
    generic, custom = await _plans(store, "s.phc AS secret_phc")  # get_key
    assert generic >= RUNS - 5 and custom <= 5
    generic, custom = await _plans(store, "k.client_id = $1 ORDER BY k.client_id")  # get_key_state
    assert generic >= RUNS - 5 and custom <= 5
    states = await store.get_key_states([client_id, "cu_test_ci_unknown"])  # the batch: the same
    assert list(states) == [client_id]
    assert states[client_id] == await store.get_key_state(client_id)
    assert (await store._fetch("SHOW plan_cache_mode"))[0][0] == "auto"


@pytest.mark.usefixtures("fast_argon2")
async def test_list_count_and_audit_are_planned_for_their_parameters(one_connection, clock):
    store = one_connection
    await _keys(store, clock)
    left_open: list[str] = []  # asyncpg reports a connection given back inside a transaction
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: left_open.append(context["message"])
    )
    query = KeyQuery(environment=Environment.TEST, search="plan", limit=2)
    for _ in range(RUNS):
        page = await store.list_keys(query)
        assert len(page.keys) == 2 and page.next_cursor is not None
        assert len((await store.list_keys_before(query, None)).keys) == 2
        assert await store.count_keys(query) == 3
        assert len(await store.list_audit(AuditQuery(key_search="plan", limit=10))) == 3
    for fragment in ("ORDER BY k.created_at DESC, k.id DESC LIMIT",
                     "ORDER BY k.created_at ASC, k.id ASC LIMIT", "SELECT count(*) AS n",
                     "FROM audit_events a"):
        generic, custom = await _plans(store, fragment)
        assert (generic, custom) == (0, RUNS), fragment
    # SET LOCAL: nothing stays on the session for the statements after
    assert (await store._fetch("SHOW plan_cache_mode"))[0][0] == "auto"
    assert left_open == []  # each read's transaction ended before its connection went back
