"""Several operators at once: 8 processes x 100 creates through the service, on one database.
Exactly 800 keys, 800 secrets, 800 'key.created' events, an intact database, no error."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
import traceback
from pathlib import Path

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import SeededKeyGenerator

PROCESSES = 8
CREATES = 100


async def _create_many(db_path: str, worker: int, count: int) -> dict:
    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(
            store,
            keygen=SeededKeyGenerator(10_000 + worker, valid_checksum=True),
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


def create_many(args: tuple[str, int, int]) -> dict:
    """A process of its own: its own store (one connection), its own service."""
    db_path, worker, count = args
    try:
        return asyncio.run(_create_many(db_path, worker, count))
    except BaseException:
        return {"worker": worker, "created": [], "error": traceback.format_exc()}


@pytest.mark.slow
def test_eight_processes_create_800_keys(tmp_path: Path):
    db = tmp_path / "data" / "changeup.db"
    # Create and migrate the schema once, so the workers race on writes, not on the first
    # migration (which has its own test in the store's suite).
    asyncio.run(_create_many(str(db), worker=99, count=0))

    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(PROCESSES) as pool:
        results = pool.map(create_many, [(str(db), w, CREATES) for w in range(PROCESSES)])
    elapsed = time.monotonic() - started
    print(f"\n{PROCESSES} processes x {CREATES} creates: {elapsed:.1f} s")

    errors = [r["error"] for r in results if r["error"]]
    assert errors == [], "\n".join(errors)
    assert sorted(r["worker"] for r in results) == list(range(PROCESSES))
    assert all(len(r["created"]) == CREATES for r in results)
    shown = {cid: secret for r in results for cid, secret in r["created"]}
    assert len(shown) == PROCESSES * CREATES  # no Client ID issued twice

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (800,)
        assert conn.execute("SELECT count(*) FROM key_secrets").fetchone() == (800,)
        assert conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'key.created'"
        ).fetchone() == (800,)
        stored = {row[0] for row in conn.execute("SELECT client_id FROM api_keys")}
        assert stored == set(shown)
        audited = {
            row[0] for row in conn.execute(
                "SELECT client_id FROM audit_events WHERE action = 'key.created'"
            )
        }
        assert audited == set(shown)
        per_actor = dict(conn.execute(
            "SELECT actor, count(*) FROM audit_events WHERE action = 'key.created' GROUP BY actor"
        ).fetchall())
        assert per_actor == {f"worker-{w}": CREATES for w in range(PROCESSES)}
        # Every key has exactly one secret, and every row is whole.
        assert conn.execute(
            "SELECT count(*) FROM api_keys k WHERE (SELECT count(*) FROM key_secrets s "
            "WHERE s.key_id = k.id) != 1"
        ).fetchone() == (0,)
    finally:
        conn.close()

    # A sample of the secrets that were shown verify (one per process: argon2 is not free).
    async def verify_sample() -> list[bool]:
        store = SQLiteStore(db)
        await store.open()
        try:
            service = KeyService(store, actor=Actor("checker", "local"))
            oks = []
            for r in results:
                client_id, secret = r["created"][-1]
                oks.append(bool(await service.verify(client_id, secret)))
            return oks
        finally:
            await store.close()

    assert asyncio.run(verify_sample()) == [True] * PROCESSES
