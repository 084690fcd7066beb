"""PostgreSQL under faults: the server stopped and started again under an open store and a running
verifier gives a clear error while it is down and works again after, with nothing lost. (8
processes x 100 creates on the server: test_concurrency.py, on both stores.)"""

from __future__ import annotations

import asyncio

import pytest

from changeup_tui.core.errors import ServerUnavailable
from changeup_tui.core.models import Actor, Environment, KeyStatus
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.pg_cluster import start_cluster
from tests.store_backends import Backend


async def _listeners(url: str) -> int:
    """The sessions on the database whose last statement was a LISTEN (asyncpg's add_listener)."""
    [(count,)] = await asyncio.to_thread(Backend("postgres", url).raw, LISTENERS)
    return int(count)


async def _wait_until_listeners(url: str, count: int, limit: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while await _listeners(url) < count:
        assert asyncio.get_running_loop().time() < deadline, "the LISTEN never came"
        await asyncio.sleep(0.02)


LISTENERS = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND query LIKE 'LISTEN%'")


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
            listening_before = await _listeners(url)  # the verifier's
            feed = store.changes()
            first_change = asyncio.ensure_future(anext(feed))
            await _wait_until_listeners(url, listening_before + 1)  # the feed's LISTEN is in place
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
