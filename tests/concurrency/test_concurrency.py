"""Several operators at once: 8 processes x 100 creates through the service, on one database, on
each store (an SQLite file; a database on the test PostgreSQL server). Exactly 800 keys, 800
secrets, 800 'key.created' events and nothing else, every key whole, no error; an intact file on
SQLite."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from changeup_tui.core import hashing
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.testing import SeededKeyGenerator
from tests.pg_cluster import run_sync
from tests.store_backends import Backend

PROCESSES = 8
CREATES = 100
# On PostgreSQL, cheap argon2 parameters in the workers: the test is about the server's
# transactions; the writes collide more often than with the pinned parameters' 0.1 s between
# them. On SQLite the workers hash as shipped (the writes still collide on the file's lock).
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
SEEDS = {"sqlite": 10_000, "postgres": 20_000}


async def _create_many(target: Path | str, worker: int, count: int, seed: int) -> dict:
    store = make_store(target)
    await store.open()
    try:
        service = KeyService(
            store,
            keygen=SeededKeyGenerator(seed + worker, valid_checksum=True),
            actor=Actor(f"worker-{worker}", "local"),
        )
        created = []
        for n in range(count):
            environment = Environment.LIVE if n % 2 else Environment.TEST
            result = await service.create(f"worker {worker} key {n}", environment)
            created.append((result.key.client_id, result.secret.reveal()))
        return {"worker": worker, "created": created, "error": None}
    finally:
        await store.close()


def create_many(args: tuple[str, int, int, int, bool]) -> dict:
    """A process of its own: its own store (one connection, or its own pool), its own service."""
    target, worker, count, seed, fast = args
    if fast:
        hashing._hasher = FAST  # this process only (it is spawned): never the test run's own
    try:
        return asyncio.run(_create_many(target, worker, count, seed))
    except BaseException:
        return {"worker": worker, "created": [], "error": traceback.format_exc()}


@pytest.mark.slow
def test_eight_processes_create_800_keys(each_db: Backend, monkeypatch):
    db, seed, fast = each_db, SEEDS[each_db.kind], each_db.is_postgres
    # Create and migrate the schema once, so the workers race on writes, not on the first
    # migration (which has its own test in the store's suite).
    run_sync(_create_many(db.target, worker=99, count=0, seed=seed))

    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(PROCESSES) as pool:
        results = pool.map(
            create_many, [(str(db.target), w, CREATES, seed, fast) for w in range(PROCESSES)]
        )
    elapsed = time.monotonic() - started
    print(f"\n{PROCESSES} processes x {CREATES} creates on {db.kind}: {elapsed:.1f} s")

    errors = [r["error"] for r in results if r["error"]]
    assert errors == [], "\n".join(errors)
    assert sorted(r["worker"] for r in results) == list(range(PROCESSES))
    assert all(len(r["created"]) == CREATES for r in results)
    shown = {cid: secret for r in results for cid, secret in r["created"]}
    assert len(shown) == PROCESSES * CREATES  # no Client ID issued twice

    if not db.is_postgres:
        assert db.raw("PRAGMA integrity_check") == [("ok",)]
        assert db.raw("PRAGMA foreign_key_check") == []
    assert db.raw("SELECT count(*) FROM api_keys") == [(800,)]
    assert db.raw("SELECT count(*) FROM key_secrets") == [(800,)]
    assert db.raw("SELECT count(*) FROM audit_events WHERE action = 'key.created'") == [(800,)]
    assert db.raw("SELECT count(*) FROM audit_events") == [(800,)]
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    assert stored == set(shown)
    audited = {row[0] for row in db.raw(
        "SELECT client_id FROM audit_events WHERE action = 'key.created'"
    )}
    assert audited == set(shown)
    # Who created them: each worker's 100 (on PostgreSQL the actor is the server's role, the
    # same for all: the workers' own names are in the origin).
    per_actor = dict(db.raw(
        "SELECT actor || ' ' || origin, count(*) FROM audit_events "
        "WHERE action = 'key.created' GROUP BY actor, origin"
    ))
    assert per_actor == {
        f"{db.actor(f'worker-{w}')} {db.origin(f'worker-{w}')}": CREATES for w in range(PROCESSES)
    }
    # Every key has exactly one secret, and every row is whole.
    assert db.raw(
        "SELECT count(*) FROM api_keys k WHERE (SELECT count(*) FROM key_secrets s "
        "WHERE s.key_id = k.id) != 1"
    ) == [(0,)]

    # A sample of the secrets that were shown verify (every 40th: each process's, both
    # environments; argon2 is not free).
    sample = list(shown.items())[::40]

    async def verify_sample() -> list[bool]:
        store = db.make_store(create=False)
        await store.open()
        try:
            service = KeyService(store, actor=Actor("checker", "local"))
            return [bool(await service.verify(cid, secret)) for cid, secret in sample]
        finally:
            await store.close()

    if fast:
        monkeypatch.setattr(hashing, "_hasher", FAST)  # no upgrade of the cheap hashes
    assert run_sync(verify_sample()) == [True] * len(sample) == [True] * 20
