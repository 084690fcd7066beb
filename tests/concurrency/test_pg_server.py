"""PostgreSQL under load and faults: 8 processes x 100 creates on one server database lose
nothing; the server stopped and started again under an open store and a running verifier gives a
clear error while it is down and works again after, with nothing lost."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback

import pytest
from argon2 import PasswordHasher, Type

from changeup_tui.core import hashing
from changeup_tui.core.errors import ServerUnavailable
from changeup_tui.core.models import Actor, Environment, KeyStatus
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.pg_cluster import run_sync, start_cluster
from tests.store_backends import Backend

PROCESSES = 8
CREATES = 100
# Cheap argon2 parameters in the workers: the test is about the server's transactions; the writes
# collide more often than with the pinned parameters' 0.1 s between them.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


async def _create_many(url: str, worker: int, count: int) -> dict:
    store = PostgresStore(url, max_size=2)
    await store.open()
    try:
        service = KeyService(
            store, keygen=SeededKeyGenerator(20_000 + worker, valid_checksum=True),
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
    """A process of its own: its own pool, its own service."""
    url, worker, count = args
    hashing._hasher = FAST  # this process only (it is spawned): never the test run's own
    try:
        return asyncio.run(_create_many(url, worker, count))
    except BaseException:
        return {"worker": worker, "created": [], "error": traceback.format_exc()}


@pytest.mark.slow
def test_eight_processes_create_800_keys_on_the_server(pg_url, monkeypatch):
    run_sync(_create_many(pg_url, worker=99, count=0))  # the schema, once
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(PROCESSES) as pool:
        results = pool.map(create_many, [(pg_url, w, CREATES) for w in range(PROCESSES)])
    print(f"\n{PROCESSES} processes x {CREATES} creates on PostgreSQL: {time.monotonic() - started:.1f} s")

    errors = [r["error"] for r in results if r["error"]]
    assert errors == [], "\n".join(errors)
    shown = {cid: secret for r in results for cid, secret in r["created"]}
    assert len(shown) == PROCESSES * CREATES
    db = Backend("postgres", pg_url)
    assert db.raw("SELECT count(*) FROM api_keys") == [(800,)]
    assert db.raw("SELECT count(*) FROM key_secrets") == [(800,)]
    assert db.raw("SELECT count(*) FROM audit_events WHERE action = 'key.created'") == [(800,)]
    assert db.raw("SELECT count(*) FROM audit_events") == [(800,)]
    assert db.raw("SELECT count(DISTINCT client_id) FROM audit_events") == [(800,)]
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    assert stored == set(shown)

    async def verify_sample() -> list[bool]:
        sample = list(shown.items())[::40]
        async with Verifier(pg_url, environment="test") as test, \
                Verifier(pg_url, environment="live") as live:
            return [(await (live if secret.startswith("cu_live_") else test).verify(cid, secret)).ok
                    for cid, secret in sample]

    monkeypatch.setattr(hashing, "_hasher", FAST)
    assert all(run_sync(verify_sample()))


@pytest.mark.slow
async def test_server_stopped_and_started_under_a_store_and_a_verifier():
    """A private cluster: stopping the session's server would break the other tests."""
    server = await asyncio.to_thread(start_cluster)
    try:
        url = await asyncio.to_thread(server.new_database)
        store = PostgresStore(url)
        await store.open()
        service = KeyService(store, keygen=SeededKeyGenerator(5, valid_checksum=True),
                             actor=Actor("ops", "local"))
        made = await service.create("Billing", Environment.TEST)
        # max_staleness 0: every request reads the key's state, so a server that is down shows
        # (with the default a cached key keeps verifying for up to a second, by design)
        verifier = Verifier(url, environment="test", max_staleness=0)
        await verifier.open()
        try:
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
            feed = store.changes()
            first_change = asyncio.ensure_future(anext(feed))
            await asyncio.sleep(0.3)  # listening
            other = await service.create("Heard", Environment.TEST)
            assert await asyncio.wait_for(first_change, 2) == other.key.client_id
            await service.revoke(other.key.client_id)
            assert await asyncio.wait_for(anext(feed), 2) == other.key.client_id

            await asyncio.to_thread(server.pg_ctl, "stop", "-m", "fast")
            with pytest.raises(ServerUnavailable, match="no longer heard"):  # the feed says so
                await asyncio.wait_for(anext(feed), 10)
            with pytest.raises(ServerUnavailable, match="not answering") as down:
                await service.list()
            assert url.split("?")[0] in str(down.value)  # which server; never a password
            with pytest.raises(ServerUnavailable):
                await service.create("Typed while down", Environment.TEST)
            with pytest.raises(ServerUnavailable):
                await verifier.verify(made.key.client_id, made.secret)

            await asyncio.to_thread(server.pg_ctl, "start", "-o", _options(server))
            # retry works, on fresh connections of the same pools; nothing was lost
            retried = await service.create("Typed while down", Environment.TEST)
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
            assert (await verifier.verify(retried.key.client_id, retried.secret)).ok
            names = [k.name for k in (await service.list()).keys]
            assert names == ["Typed while down", "Heard", "Billing"]
            assert (await service.get(made.key.client_id)).status is KeyStatus.ACTIVE
            assert [e.action for e in reversed(await service.audit())] == [
                "key.created", "key.created", "key.revoked", "key.created"
            ]
        finally:
            await verifier.close()
            await store.close()
    finally:
        await asyncio.to_thread(server.stop)


def _options(server) -> str:
    return (
        f"-c listen_addresses='' -c unix_socket_directories='{server.folder}' -c port=5432 "
        "-c fsync=off"
    )
