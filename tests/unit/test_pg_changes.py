"""The PostgreSQL change announcements (LISTEN/NOTIFY): a store opened by another process, on another
"host", hears each key that is created or changed, at its commit, within a second; a "last used"
write is not announced; nothing is announced for a transaction that rolled back."""

from __future__ import annotations

import asyncio

import pytest

from changeup_tui.core.errors import DuplicateName
from changeup_tui.core.models import Actor, Environment, KeyUse
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore

pytestmark = pytest.mark.usefixtures("fast_argon2")


@pytest.fixture
async def billing(pg_url, clock, keygen):
    """alice's service on its own connection to the server, and the key "Billing" it made."""
    writer = PostgresStore(pg_url)
    await writer.open()
    try:
        service = KeyService(writer, clock=clock, keygen=keygen, actor=Actor("alice", "host-a"))
        yield service, await service.create("Billing", Environment.TEST)
    finally:
        await writer.close()


async def test_changes_made_elsewhere_arrive_within_a_second(pg_url, clock, keygen):
    writer = PostgresStore(pg_url)
    reader = PostgresStore(pg_url)
    await writer.open()
    await reader.open()
    service = KeyService(writer, clock=clock, keygen=keygen, actor=Actor("alice", "host-a"))
    heard: list[str] = []
    try:
        made = await service.create("Billing", Environment.TEST)  # before listening: not heard
        async with reader.listen(heard.append):  # inside: LISTEN is in place
            loop = asyncio.get_running_loop()
            for action in (
                lambda: service.create("Payments", Environment.LIVE),
                lambda: service.rename(made.key.client_id, "Billing v2"),
                lambda: service.roll(made.key.client_id),
                lambda: service.disable(made.key.client_id),
                lambda: service.enable(made.key.client_id),
                lambda: service.revoke(made.key.client_id),
            ):
                before = len(heard)
                started = loop.time()
                result = await action()
                client_id = result.key.client_id if hasattr(result, "key") else result.client_id
                await _wait_for(heard, before + 1)
                assert loop.time() - started < 1.0, "not heard within a second"
                assert heard[-1] == client_id

            # not announced: a verify's "last used", and a create that the server refused. The
            # server delivers announcements in commit order: once a later key's is heard, any
            # from those two would have arrived before it.
            before = len(heard)
            other = await service.create("Other", Environment.TEST)
            await writer.record_use([KeyUse(other.key.client_id, clock.now, clock.now)])
            with pytest.raises(DuplicateName):
                await service.create("other", Environment.TEST)
            later = await service.create("Later", Environment.TEST)
            await _wait_for(heard, before + 2)
            assert heard[before:] == [other.key.client_id, later.key.client_id]
    finally:
        await writer.close()
        await reader.close()


async def _collect(feed, heard: list[str]) -> None:
    async for client_id in feed:
        heard.append(client_id)


async def _wait_for(heard: list[str], count: int) -> None:
    for _ in range(100):
        if len(heard) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not heard within a second")


async def test_a_verifier_drops_a_key_revoked_elsewhere_within_a_second(pg_url, billing):
    """The verifier's cache follows LISTEN/NOTIFY: with a staleness bound of an hour, a key
    revoked by another connection (another operator) is refused within a second."""
    from changeup_tui.core.verifier import Verifier

    service, made = billing
    async with Verifier(pg_url, environment="test", max_staleness=3600.0,
                        background_refresh=False) as verifier:
        assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert verifier.cache.peek(made.key.client_id) is not None  # now a cache hit
        assert (await verifier.verify(made.key.client_id, made.secret)).ok
        loop = asyncio.get_running_loop()
        await service.revoke(made.key.client_id)
        revoked_at = loop.time()
        while (result := await verifier.verify(made.key.client_id, made.secret)).ok:
            assert loop.time() - revoked_at < 1.0, "a revoked key still verifies after 1 s"
            await asyncio.sleep(0.01)
        assert result.reason == "revoked"
        assert verifier.changes_heard >= 1  # dropped by the announcement, not by staleness


async def test_a_cache_fill_that_lands_just_after_the_announcement_is_not_trusted(
    pg_url, billing
):
    """The narrow race: a verifier's miss reads the key's state (active), another operator
    revokes the key and the announcement arrives, and only then the miss fills the cache with
    the state it read. That fill is stored as stale: the very next request reads the key again
    and is refused, instead of the old state answering `ok` until max_staleness (an hour here).
    The pause between the real read and the fill is the only thing added."""
    from changeup_tui.core.verifier import Verifier

    service, made = billing
    client_id = made.key.client_id
    async with Verifier(pg_url, environment="test", max_staleness=3600.0,
                        background_refresh=False) as verifier:
        store = verifier._store
        real_read = store.get_key_state
        read_done, release = asyncio.Event(), asyncio.Event()

        async def read_then_wait(cid: str):
            state = await real_read(cid)  # the state re-read after argon2, on the server
            read_done.set()
            await release.wait()
            return state

        store.get_key_state = read_then_wait  # type: ignore[method-assign]
        first = asyncio.create_task(verifier.verify(client_id, made.secret))
        await asyncio.wait_for(read_done.wait(), 10)
        await service.revoke(client_id)
        for _ in range(100):  # the announcement reaches the verifier
            if verifier.changes_heard:
                break
            await asyncio.sleep(0.01)
        assert verifier.changes_heard >= 1, "the revoke was not heard within a second"
        store.get_key_state = real_read  # type: ignore[method-assign]
        release.set()
        # read before the revoke committed: answered from that state, as any request that
        # raced the revoke may be
        assert (await first).ok
        result = await verifier.verify(client_id, made.secret)
        assert (result.ok, result.reason) == (False, "revoked")


async def test_a_change_made_while_the_verifier_did_not_listen_is_not_missed(
    pg_url, billing
):
    """The verifier's listening connection is cut (the server stays up) and a key is revoked
    before it listens again: that announcement is lost, so on listening again every cached
    state is read again at its next request, and the key is refused within the retry delay
    (not after max_staleness, an hour here)."""
    from changeup_tui.core.verifier import LISTEN_RETRY_SECONDS, Verifier
    from tests.store_backends import Backend

    service, made = billing
    client_id = made.key.client_id
    async with Verifier(pg_url, environment="test", max_staleness=3600.0,
                        background_refresh=False) as verifier:
        assert (await verifier.verify(client_id, made.secret)).ok  # cached
        db = Backend("postgres", pg_url)
        cut = db.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND query LIKE 'LISTEN%'")
        assert cut == [(True,)]
        await service.revoke(client_id)  # nobody listens in the verifier now
        assert verifier.changes_heard == 0
        assert (await verifier.verify(client_id, made.secret)).ok  # the cache, as designed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LISTEN_RETRY_SECONDS + 1.0
        while (result := await verifier.verify(client_id, made.secret)).ok:
            assert loop.time() < deadline, "the change made while not listening was missed"
            await asyncio.sleep(0.05)
        assert result.reason == "revoked"
        assert verifier.changes_heard == 0  # refused by reading again, not by a notification
