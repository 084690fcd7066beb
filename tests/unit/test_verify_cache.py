"""The Verifier's cache of keys in use, the bound on staleness, the argon2 pool, the per-ID lock
and the throttle (issue 10). Each test drives the verifier's clocks by hand: `clock` (the wall
clock, for expiry and grace) and a fake monotonic clock (for staleness and the throttle)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters

from changeup_tui.core import Verifier, hashing
from changeup_tui.core.models import Environment, Secret
from changeup_tui.core.verify_cache import KeyCache, Throttle
from changeup_tui.testing import SeededKeyGenerator

pytestmark = pytest.mark.usefixtures("fast_argon2")


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StoreSpy:
    """Counts the verifier's store calls by name (the real store does the work)."""

    def __init__(self, verifier: Verifier) -> None:
        self.calls: list[str] = []
        store = verifier._store
        for name in ("get_key", "get_key_state", "record_use"):
            real = getattr(store, name)

            def wrapper(*args, _real=real, _name=name, **kwargs):
                self.calls.append(_name)
                return _real(*args, **kwargs)

            setattr(store, name, wrapper)


def _reachable(root: object) -> list[object]:
    """Every object reachable from root through attributes, slots and containers."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | int | float | bool | None.__class__):
            continue
        seen[id(obj)] = obj
        if isinstance(obj, dict):
            todo += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        elif not isinstance(obj, str | bytes):
            for name in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, name):
                    todo.append(getattr(obj, name))
            todo += list(getattr(obj, "__dict__", {}).values())
    return list(seen.values())


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def argon2_count(monkeypatch):
    counts = {"verify": 0, "running": 0, "max_running": 0}
    lock = threading.Lock()
    real = hashing.verify_sync

    def counting(phc, secret):
        with lock:
            counts["verify"] += 1
            counts["running"] += 1
            counts["max_running"] = max(counts["max_running"], counts["running"])
        try:
            return real(phc, secret)
        finally:
            with lock:
                counts["running"] -= 1

    monkeypatch.setattr(hashing, "verify_sync", counting)
    return counts


@pytest.fixture
async def verifier(db_path, service, clock, ticks):
    await service.create("warm-up", Environment.TEST)  # the database exists
    async with Verifier(db_path, environment="test", clock=clock, monotonic=ticks,
                        background_refresh=False) as v:
        yield v


async def test_a_hit_costs_no_argon2_no_query_and_no_write(service, verifier, argon2_count):
    made = await service.create("Billing", Environment.TEST)
    cid, secret = made.key.client_id, made.secret.reveal()
    assert (await verifier.verify(cid, secret)).ok
    assert argon2_count["verify"] == 1
    spy = StoreSpy(verifier)
    for _ in range(200):
        result = await verifier.verify(cid, secret)
        assert result.ok and result.key.name == "Billing"
    assert argon2_count["verify"] == 1
    assert spy.calls == []
    # a wrong secret for a cached key is a miss: it is checked for real
    wrong = SeededKeyGenerator(9, valid_checksum=True).secret(Environment.TEST)
    assert (await verifier.verify(cid, wrong)).reason == "wrong_secret"
    assert "get_key" in spy.calls


async def test_the_cache_holds_keyed_digests_never_the_secret(service, verifier):
    made = await service.create("Billing", Environment.TEST)
    secret = made.secret.reveal()
    assert (await verifier.verify(made.key.client_id, made.secret)).ok
    entry = verifier.cache.peek(made.key.client_id)
    (digest,) = entry.by_digest
    assert isinstance(digest, bytes) and len(digest) == 32
    assert secret.encode() not in digest and repr(entry).find(secret) == -1
    # nothing reachable from the cache is the secret or holds it
    seen = _reachable(verifier.cache)
    assert entry in seen and digest in seen  # the walk does reach the entry
    assert not any(isinstance(o, Secret) for o in seen)
    assert not any(isinstance(o, str | bytes) and secret[11:40] in str(o) for o in seen)
    # keyed per process (per cache): another cache digests the same pair differently
    a, b = KeyCache(), KeyCache()
    assert a.digest("cu_test_ci_x", Secret(secret)) != b.digest("cu_test_ci_x", Secret(secret))
    assert a.digest("cu_test_ci_x", Secret(secret)) == a.digest("cu_test_ci_x", Secret(secret))
    assert a.digest("cu_test_ci_y", Secret(secret)) != a.digest("cu_test_ci_x", Secret(secret))


async def test_the_cache_is_a_bounded_lru(db_path, service, clock, ticks, argon2_count):
    keys = [await service.create(f"k{i}", Environment.TEST) for i in range(4)]
    async with Verifier(db_path, environment="test", clock=clock, monotonic=ticks, background_refresh=False,
                        max_keys=3) as verifier:
        for k in keys[:3]:
            assert (await verifier.verify(k.key.client_id, k.secret)).ok
        assert (await verifier.verify(keys[0].key.client_id, keys[0].secret)).ok  # k0 used again
        assert argon2_count["verify"] == 3
        assert (await verifier.verify(keys[3].key.client_id, keys[3].secret)).ok
        assert len(verifier.cache) == 3
        assert verifier.cache.peek(keys[1].key.client_id) is None  # least recently used: out
        assert verifier.cache.peek(keys[0].key.client_id) is not None
        before = argon2_count["verify"]
        assert (await verifier.verify(keys[1].key.client_id, keys[1].secret)).ok
        assert argon2_count["verify"] == before + 1  # evicted: argon2 again
    async with Verifier(db_path, environment="test", max_keys=0) as verifier:
        assert (await verifier.verify(keys[0].key.client_id, keys[0].secret)).ok
        assert len(verifier.cache) == 0


@pytest.mark.parametrize("change", ["revoke", "disable"])
async def test_a_change_reaches_the_cache_after_max_staleness(service, verifier, ticks, change):
    made = await service.create("Billing", Environment.TEST)
    cid = made.key.client_id
    assert (await verifier.verify(cid, made.secret)).ok
    await getattr(service, change)(cid)
    ticks.now += 0.5  # within the bound: the cached state still answers
    assert (await verifier.verify(cid, made.secret)).ok
    spy = StoreSpy(verifier)
    ticks.now += 0.5  # 1 s: read again, by one indexed query
    result = await verifier.verify(cid, made.secret)
    assert (result.ok, result.reason) == (False, f"{change}d")
    assert spy.calls == ["get_key_state"]
    if change == "disable":  # and back
        await service.enable(cid)
        ticks.now += 1
        assert (await verifier.verify(cid, made.secret)).ok


async def test_max_staleness_zero_reads_the_state_on_every_request(
    db_path, service, clock, ticks, argon2_count
):
    made = await service.create("Billing", Environment.TEST)
    async with Verifier(db_path, environment="test", clock=clock, monotonic=ticks, background_refresh=False,
                        max_staleness=0) as verifier:
        assert (await verifier.verify(made.key.client_id, made.secret)).ok
        spy = StoreSpy(verifier)
        for _ in range(3):
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert spy.calls == ["get_key_state"] * 3 and argon2_count["verify"] == 1
        await service.revoke(made.key.client_id)
        assert (await verifier.verify(made.key.client_id, made.secret)).reason == "revoked"


async def test_expiry_is_checked_against_the_clock_on_every_hit(service, verifier, clock):
    made = await service.create("Short", Environment.TEST,
                                expires_at=clock.now + timedelta(hours=1))
    assert (await verifier.verify(made.key.client_id, made.secret)).ok
    spy = StoreSpy(verifier)
    assert (await verifier.verify(made.key.client_id, made.secret)).ok  # a hit: ok_until set
    clock.advance(minutes=59, seconds=59)
    assert (await verifier.verify(made.key.client_id, made.secret)).ok
    clock.advance(seconds=1)  # the monotonic clock did not move: no re-read
    assert (await verifier.verify(made.key.client_id, made.secret)).reason == "expired"
    assert spy.calls == []


async def test_expiry_on_a_hit_with_the_default_clock(db_path, store, keygen):
    """The default clock's hits compare time.time() with the earliest deadline: a key that
    expires while it is in use is refused from its expiry on, with no state read (max_staleness
    60 s) and no write meanwhile."""
    from datetime import UTC, datetime

    from changeup_tui.core.models import Actor
    from changeup_tui.core.service import KeyService

    real = KeyService(store, keygen=keygen, actor=Actor("tester", "local"))  # the real clock
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    made = await real.create("Short", Environment.TEST, expires_at=expires)
    async with Verifier(db_path, environment="test", max_staleness=60,
                        background_refresh=False) as verifier:
        cid = made.key.client_id
        assert (await verifier.verify(cid, made.secret)).ok  # a miss
        spy = StoreSpy(verifier)
        hits = 0
        while datetime.now(UTC) < expires - timedelta(seconds=0.2):
            assert (await verifier.verify(cid, made.secret)).ok
            hits += 1
            await asyncio.sleep(0.01)
        (accepted,) = verifier.cache.peek(cid).by_digest.values()
        assert hits > 10 and accepted.ok_until > 0  # answered by the fast path
        await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.01)
        assert (await verifier.verify(cid, made.secret)).reason == "expired"
        assert verifier.cached_answer_bytes(cid.encode(), made.secret.reveal().encode()).reason == (
            "expired"
        )
        assert spy.calls == []


async def test_cached_answer_bytes_is_cached_answer_for_header_bytes(service, verifier, ticks):
    """The middleware's hit path: the pair as bytes has the text's digest, and answers exactly
    when the text would be answered from the cache; any other bytes give None (verify says
    why)."""
    made = await service.create("Billing", Environment.TEST)
    cid, text = made.key.client_id, made.secret.reveal()
    raw_cid, raw_secret = cid.encode(), text.encode()
    cache = verifier.cache
    assert cache.digest_bytes(raw_cid, raw_secret) == cache.digest(cid, Secret(text))
    assert cache.digest_bytes(raw_cid, raw_secret) != cache.digest_bytes(raw_cid, raw_secret[:-1])
    assert verifier.cached_answer_bytes(raw_cid, raw_secret) is None  # not in the cache yet
    assert (await verifier.verify(cid, made.secret)).ok
    answer = verifier.cached_answer_bytes(raw_cid, raw_secret)
    assert answer is not None and answer.ok and answer.key.name == "Billing"
    other = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.TEST).reveal().encode()
    for client_id, secret in [
        (raw_cid, other),  # another (well-formed) secret
        (raw_cid, raw_secret + b" "), (raw_cid, raw_secret[:-1]), (raw_cid, b""),
        (raw_cid, raw_secret[:-1] + b"\xe9"),  # not ASCII
        (raw_cid[:-1] + b"\xff", raw_secret), (raw_cid + b"\x00", raw_secret), (b"", raw_secret),
        (raw_cid.upper(), raw_secret),
    ]:
        assert verifier.cached_answer_bytes(client_id, secret) is None, (client_id, secret)
    await service.revoke(cid)
    ticks.now += verifier.max_staleness  # stale: read again, not answered from memory
    assert verifier.cached_answer_bytes(raw_cid, raw_secret) is None
    assert (await verifier.verify(cid, made.secret)).reason == "revoked"
    revoked = verifier.cached_answer_bytes(raw_cid, raw_secret)  # fresh again: revoked
    assert revoked is not None and revoked.reason == "revoked"
    verifier.max_staleness = 0
    assert verifier.cached_answer_bytes(raw_cid, raw_secret) is None


async def test_a_rolled_secret_verifies_until_grace_ends_and_never_after(
    service, verifier, clock, ticks
):
    made = await service.create("Billing", Environment.TEST)
    cid = made.key.client_id
    assert (await verifier.verify(cid, made.secret)).ok
    rolled = await service.roll(cid, timedelta(hours=1))
    ticks.now += 5  # the verifier reads the roll
    assert (await verifier.verify(cid, made.secret)).ok  # grace
    assert (await verifier.verify(cid, rolled.secret)).ok
    clock.advance(minutes=59, seconds=59)
    assert (await verifier.verify(cid, made.secret)).ok
    clock.advance(seconds=1)  # grace over: cached or not, never again
    assert (await verifier.verify(cid, made.secret)).reason == "wrong_secret"
    ticks.now += 5
    assert (await verifier.verify(cid, made.secret)).reason == "wrong_secret"
    assert (await verifier.verify(cid, rolled.secret)).ok
    # a roll without grace: the cached old secret stops at the next read
    again = await service.roll(cid)
    ticks.now += 5
    assert (await verifier.verify(cid, rolled.secret)).reason == "wrong_secret"
    assert (await verifier.verify(cid, again.secret)).ok


async def test_a_miss_reads_the_state_again_after_argon2(service, verifier, monkeypatch):
    """Revoked while argon2 runs: the answer is `revoked`, never `ok`."""
    made = await service.create("Billing", Environment.TEST)
    started, release = threading.Event(), threading.Event()
    real = hashing.verify_sync

    def slow(phc, secret):
        started.set()
        assert release.wait(10)
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", slow)
    task = asyncio.ensure_future(verifier.verify(made.key.client_id, made.secret))
    assert await asyncio.to_thread(started.wait, 10)
    await service.revoke(made.key.client_id)
    release.set()
    result = await task
    assert (result.ok, result.reason) == (False, "revoked")
    assert verifier.cache.peek(made.key.client_id) is None  # nothing cached for it


async def test_unknown_client_id_costs_one_look_up_and_no_argon2(verifier, argon2_count):
    spy = StoreSpy(verifier)
    gen = SeededKeyGenerator(404, valid_checksum=True)
    result = await verifier.verify(gen.client_id(Environment.TEST), gen.secret(Environment.TEST))
    assert (result.ok, result.reason) == (False, "unknown_key")
    assert spy.calls == ["get_key"] and argon2_count["verify"] == 0


async def test_a_full_pool_answers_busy_at_once(db_path, service, clock, monkeypatch):
    keys = [await service.create(f"k{i}", Environment.TEST) for i in range(3)]
    started, release = threading.Event(), threading.Event()
    real = hashing.verify_sync

    def slow(phc, secret):
        started.set()
        assert release.wait(10)
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", slow)
    async with Verifier(db_path, environment="test", workers=1, queue=1) as verifier:
        first = asyncio.ensure_future(verifier.verify(keys[0].key.client_id, keys[0].secret))
        assert await asyncio.to_thread(started.wait, 10)
        queued = asyncio.ensure_future(verifier.verify(keys[1].key.client_id, keys[1].secret))
        while verifier.pool.in_flight < 2:  # noqa: ASYNC110 (a counter kept by threads)
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        busy = await verifier.verify(keys[2].key.client_id, keys[2].secret)
        assert (busy.ok, busy.reason) == (False, "busy")
        assert loop.time() - t0 < 0.5  # at once, not after the queue
        release.set()
        assert (await first).ok and (await queued).ok
        assert verifier.pool.in_flight == 0
        assert (await verifier.verify(keys[2].key.client_id, keys[2].secret)).ok


async def test_one_argon2_check_per_client_id_at_a_time(db_path, service, argon2_count):
    same = await service.create("Same", Environment.TEST)
    others = [await service.create(f"o{i}", Environment.TEST) for i in range(2)]
    async with Verifier(db_path, environment="test", workers=2) as verifier:
        results = await asyncio.gather(
            *(verifier.verify(same.key.client_id, same.secret) for _ in range(6))
        )
        assert all(r.ok for r in results)
        # the first checked; the others waited for it and were then answered from the cache
        assert argon2_count["verify"] == 1 and argon2_count["max_running"] == 1
        # different Client IDs do run side by side
        argon2_count["max_running"] = 0
        await asyncio.gather(*(verifier.verify(o.key.client_id, o.secret) for o in others))
        assert argon2_count["verify"] == 3


async def test_five_wrong_secrets_throttle_misses_but_not_the_cached_secret(
    service, verifier, ticks, argon2_count
):
    made = await service.create("Billing", Environment.TEST)
    cid = made.key.client_id
    assert (await verifier.verify(cid, made.secret)).ok  # the owner's secret is in the cache
    gen = SeededKeyGenerator(66, valid_checksum=True)
    for _ in range(5):
        ticks.now += 10  # five within 60 s
        assert (await verifier.verify(cid, gen.secret(Environment.TEST))).reason == "wrong_secret"
    spy = StoreSpy(verifier)
    assert (await verifier.verify(cid, gen.secret(Environment.TEST))).reason == "throttled"
    assert spy.calls == []  # refused before the database
    assert (await verifier.verify(cid, made.secret)).ok  # the owner is not locked out
    ticks.now += 59
    assert (await verifier.verify(cid, gen.secret(Environment.TEST))).reason == "throttled"
    ticks.now += 2  # 61 s: over
    assert (await verifier.verify(cid, gen.secret(Environment.TEST))).reason == "wrong_secret"


async def test_wrong_secrets_spread_over_more_than_the_window_do_not_throttle(
    service, verifier, ticks
):
    made = await service.create("Billing", Environment.TEST)
    gen = SeededKeyGenerator(67, valid_checksum=True)
    for _ in range(12):
        ticks.now += 16  # never five within 60 s (five span 64 s)
        result = await verifier.verify(made.key.client_id, gen.secret(Environment.TEST))
        assert result.reason == "wrong_secret"


def test_throttle_is_bounded():
    throttle = Throttle(max_ids=100)
    for i in range(1000):
        throttle.failed(f"id{i}", 0.0)
    assert len(throttle._ids) == 100


async def test_hits_record_last_used_behind_at_most_once_a_minute(
    db_path, service, clock, ticks
):
    made = await service.create("Billing", Environment.TEST)
    cid = made.key.client_id
    async with Verifier(db_path, environment="test", clock=clock, monotonic=ticks,
                        background_refresh=False) as verifier:
        assert (await verifier.verify(cid, made.secret)).ok  # the miss records it at once
        first = (await service.get(cid)).last_used_at
        assert first == clock.now
        spy = StoreSpy(verifier)
        clock.advance(seconds=30)
        for _ in range(50):
            assert (await verifier.verify(cid, made.secret)).ok
        clock.advance(seconds=31)
        for _ in range(50):
            assert (await verifier.verify(cid, made.secret)).ok
        assert spy.calls == []  # the hit itself never waited for a write
    # written behind (at close at the latest), once, in one transaction
    assert spy.calls == ["record_use"]
    assert (await service.get(cid)).last_used_at == first + timedelta(seconds=61)


@pytest.mark.real_argon2
async def test_old_hash_upgraded_in_the_transaction_that_records_last_used(
    db_path, service, store, clock
):
    made = await service.create("Billing", Environment.TEST)
    (stored,) = (await store.get_key(made.key.client_id)).secrets
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(made.secret.reveal())
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE key_secrets SET phc = ? WHERE id = ?", (old, stored.id))
    raw.close()
    async with Verifier(db_path, environment="test", clock=clock) as verifier:
        spy = StoreSpy(verifier)
        assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert spy.calls == ["get_key", "get_key_state", "record_use"]  # one write
    new = (await store.get_key(made.key.client_id)).secrets[0].phc
    params = extract_parameters(new)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (
        hashing.TIME_COST, hashing.MEMORY_COST_KIB, hashing.PARALLELISM)
    assert (await service.get(made.key.client_id)).last_used_at == clock.now
    assert hashing.verify_sync(new, made.secret)


async def test_record_use_does_not_overwrite_a_hash_that_changed(service, store, clock):
    """The rehash is compare-and-set: a roll or another verifier's rehash in between wins."""
    from changeup_tui.core.models import KeyUse

    made = await service.create("Billing", Environment.TEST)
    (stored,) = (await store.get_key(made.key.client_id)).secrets
    await store.record_use([KeyUse(made.key.client_id, clock.now, clock.now, stored.id,
                                   "$argon2id$not-the-stored-one", "$argon2id$new")])
    assert (await store.get_key(made.key.client_id)).secrets[0].phc == stored.phc
    assert (await service.get(made.key.client_id)).last_used_at == clock.now


async def test_cache_misses_in_progress_are_bounded(db_path, service, monkeypatch):
    """Twice what the pool takes (here 2): beyond, `busy` at once, so a flood of forged
    requests never queues up in the database connection ahead of the keys in use."""
    gen = SeededKeyGenerator(77, valid_checksum=True)
    async with Verifier(db_path, environment="test", workers=1, queue=0) as verifier:
        gate = asyncio.Event()
        real = verifier._store.get_key
        entered = []

        async def held_get_key(client_id):  # the real look-up, once the test lets it go
            entered.append(client_id)
            await gate.wait()
            return await real(client_id)

        monkeypatch.setattr(verifier._store, "get_key", held_get_key)
        pairs = [(gen.client_id(Environment.TEST), gen.secret(Environment.TEST)) for _ in range(3)]
        first = [asyncio.ensure_future(verifier.verify(*pair)) for pair in pairs[:2]]
        while len(entered) < 2:  # noqa: ASYNC110 (waiting for the two look-ups to start)
            await asyncio.sleep(0.001)
        third = await verifier.verify(*pairs[2])
        assert (third.ok, third.reason) == (False, "busy")
        assert len(entered) == 2  # the third never reached the database
        gate.set()
        assert [(await f).reason for f in first] == ["unknown_key", "unknown_key"]
        assert (await verifier.verify(*pairs[2])).reason == "unknown_key"


async def test_keys_in_use_are_read_again_together_in_the_background(db_path, service):
    """With a real monotonic clock and max_staleness 0.3 s: the keys answered from the cache are
    re-read together (get_key_states) by a sweep every 0.15 s, so their requests make no query
    of their own; while nothing is committed elsewhere (SQLite's data_version unchanged) a sweep
    reads no key at all, and a revoke still shows within the bound."""
    keys = [await service.create(f"k{i}", Environment.TEST) for i in range(3)]
    async with Verifier(db_path, environment="test", max_staleness=0.3) as verifier:
        for k in keys:
            assert (await verifier.verify(k.key.client_id, k.secret)).ok
        spy = StoreSpy(verifier)
        calls: list[str] = []
        real_states = verifier._store.get_key_states

        async def counting(client_ids):
            calls.append(f"get_key_states:{len(client_ids)}")
            return await real_states(client_ids)

        verifier._store.get_key_states = counting
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.0
        while loop.time() < end:
            for k in keys:
                assert (await verifier.verify(k.key.client_id, k.secret)).ok
            await asyncio.sleep(0.01)
        assert spy.calls == []  # no per-key query: the sweeps kept every entry fresh
        # The first sweep reads the three keys; the next ones (at least five more in the second)
        # find data_version unchanged and read none.
        assert calls == ["get_key_states:3"], calls
        await service.revoke(keys[0].key.client_id)
        revoked_at = loop.time()
        while (await verifier.verify(keys[0].key.client_id, keys[0].secret)).ok:
            assert loop.time() - revoked_at < 0.3 + 0.2
            await asyncio.sleep(0.01)
        assert (await verifier.verify(keys[0].key.client_id, keys[0].secret)).reason == "revoked"
        assert (await verifier.verify(keys[1].key.client_id, keys[1].secret)).ok


async def test_keys_verified_and_left_unused_stay_current_without_a_query_each(db_path, service):
    """max_staleness 0.3 s, real clocks: keys verified once (cold checks, as a service's cache
    fills) and then not presented for 1 s are still current when they come back, without a
    query each: the sweep runs from the first key accepted, and while nothing is committed
    elsewhere (data_version unchanged) it keeps every entry read since its first round current.
    A revoke committed meanwhile still shows within the bound."""
    keys = [await service.create(f"k{i}", Environment.TEST) for i in range(4)]
    async with Verifier(db_path, environment="test", max_staleness=0.3) as verifier:
        assert (await verifier.verify(keys[0].key.client_id, keys[0].secret)).ok
        await asyncio.sleep(0.2)  # the sweep's first round (at 0.15 s) notes data_version
        for k in keys[1:]:
            assert (await verifier.verify(k.key.client_id, k.secret)).ok
        spy = StoreSpy(verifier)
        await asyncio.sleep(1.0)  # no request at all: no key is in use
        for k in keys[1:]:
            assert (await verifier.verify(k.key.client_id, k.secret)).ok
        assert spy.calls == []  # verified after the first sweep: kept current, no query each
        assert (await verifier.verify(keys[0].key.client_id, keys[0].secret)).ok
        assert spy.calls == ["get_key_state"]  # verified before it: read again, as before
        await asyncio.sleep(0.4)  # the keys just used are swept while nothing moved: none in use
        await service.revoke(keys[1].key.client_id)  # committed by another connection
        loop = asyncio.get_running_loop()
        revoked_at = loop.time()
        while (await verifier.verify(keys[1].key.client_id, keys[1].secret)).ok:
            assert loop.time() - revoked_at < 0.3 + 0.2
            await asyncio.sleep(0.01)
        assert (await verifier.verify(keys[1].key.client_id, keys[1].secret)).reason == "revoked"
        await asyncio.sleep(1.0)  # a key not in use when the version moved: read on its next use
        spy.calls.clear()
        assert (await verifier.verify(keys[2].key.client_id, keys[2].secret)).ok
        assert spy.calls == ["get_key_state"]


async def test_get_key_states_reads_many_keys_in_chunks(store, service, clock):
    """Across the 250-key statements: every known key with its secrets' ends, no unknown one."""
    made = [await service.create(f"k{i}", Environment.TEST) for i in range(3)]
    rolled = await service.roll(made[0].key.client_id, timedelta(hours=1))
    gen = SeededKeyGenerator(500, valid_checksum=True)
    unknown = [gen.client_id(Environment.TEST) for _ in range(600)]
    wanted = unknown[:300] + [m.key.client_id for m in made] + unknown[300:]
    states = await store.get_key_states(wanted)
    assert set(states) == {m.key.client_id for m in made}
    first = states[made[0].key.client_id]
    assert first.key.name == "k0" and len(first.secrets) == 2
    assert sorted(s.expires_at is None for s in first.secrets) == [False, True]
    assert {s.hint for s in first.secrets} == {made[0].secret.hint, rolled.secret.hint}
    assert await store.get_key_state(unknown[0]) is None
    assert (await store.get_key_state(made[1].key.client_id)) == states[made[1].key.client_id]


async def test_a_sweep_that_finds_nothing_committed_trusts_only_entries_read_after_the_last_one(
    service, verifier, ticks
):
    """SQLite's data_version unchanged since the last full sweep proves only that entries read
    since then are current. B was accepted before that sweep, revoked before it too (so the
    version it noted includes the revoke), and answered from memory (fresh) only afterwards:
    the next sweep must read B, not mark it current."""
    a = await service.create("A", Environment.TEST)
    b = await service.create("B", Environment.TEST)
    assert (await verifier.verify(a.key.client_id, a.secret)).ok
    assert (await verifier.verify(b.key.client_id, b.secret)).ok  # read at 1000.0
    await service.revoke(b.key.client_id)  # committed by another connection
    ticks.now += 0.1
    assert (await verifier.verify(a.key.client_id, a.secret)).ok  # A is in use
    calls: list[list[str]] = []
    real_states = verifier._store.get_key_states

    async def recording(client_ids):
        calls.append(sorted(client_ids))
        return await real_states(client_ids)

    verifier._store.get_key_states = recording
    await verifier._sweep()  # a new version: A read at 1000.1
    assert calls == [[a.key.client_id]]
    ticks.now += 0.1
    # B answered from memory: 0.2 s old, within max_staleness (1 s), as the bound allows
    assert (await verifier.verify(b.key.client_id, b.secret)).ok
    assert (await verifier.verify(a.key.client_id, a.secret)).ok
    await verifier._sweep()  # nothing committed since: A trusted, B (older) read
    assert calls[1:] == [[b.key.client_id]]
    assert verifier.cache.peek(a.key.client_id).read_at == ticks.now
    assert (await verifier.verify(b.key.client_id, b.secret)).reason == "revoked"
    assert (await verifier.verify(a.key.client_id, a.secret)).ok
    ticks.now += 0.1
    verifier.cache.take_hot()  # a quiet spell: no key in use since the last sweep
    await verifier._sweep()  # still nothing committed: A kept current without a query
    assert len(calls) == 2 and verifier.cache.peek(a.key.client_id).read_at == ticks.now


def test_the_pool_leaves_a_core_to_the_event_loop():
    """One argon2 thread per core but one (at least one); at nice +10 only when the threads have
    every core (the priority each thread really runs at, read back from inside it)."""
    from changeup_tui.core.verify_pool import HashPool, default_workers, usable_cores

    assert [default_workers(n) for n in (1, 2, 4, 8)] == [1, 1, 3, 7]
    cores = usable_cores()

    def priority() -> int:
        import os
        import threading

        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    base = priority()
    for workers, expected in ((None, 10 if cores == 1 else 0), (cores, 10), (1, 0 if cores > 1 else 10)):
        pool = HashPool(workers)
        try:
            assert pool.workers == (default_workers() if workers is None else workers)
            assert pool.niceness == expected
            seen = asyncio.run(pool.run(priority))
            assert seen == (max(base, expected) if expected else base)
        finally:
            pool.close()


def test_a_peer_budget_is_a_token_bucket_per_peer():
    from changeup_tui.core.verify_cache import PeerBudget

    budget = PeerBudget(rate=2, max_peers=2)
    assert [budget.take("a", 0.0) for _ in range(3)] == [True, True, False]
    assert budget.take("b", 0.0)  # another peer has its own
    assert not budget.take("a", 0.2) and budget.take("a", 0.5)  # one token a half second
    assert not budget.take("a", 0.5)
    assert budget.take("a", 10.0) and budget.take("a", 10.0) and not budget.take("a", 10.0)
    budget.give_back("a")  # a miss that verified
    assert budget.take("a", 10.0) and not budget.take("a", 10.0)
    budget.give_back("a")
    budget.give_back("a")
    budget.give_back("a")  # never above the burst
    assert budget.take("a", 10.0) and budget.take("a", 10.0) and not budget.take("a", 10.0)
    budget.take("c", 10.0)  # a third peer: the least recently seen (b) is forgotten
    assert len(budget._peers) == 2 and "b" not in budget._peers
    off = PeerBudget(rate=0)
    assert all(off.take("a", 0.0) for _ in range(1000))


async def test_a_peer_over_its_budget_is_busy_before_any_query(service, db_path, clock, ticks):
    """peer_misses=3: a peer's fourth refused miss within the second is `busy` without touching
    the database; misses that verify, another peer, a request with no peer, a key in use and a
    throttled Client ID (`throttled`, spending nothing) are not affected; the budget comes back
    with time."""
    new_keys = [await service.create(f"New {i}", Environment.TEST) for i in range(5)]
    good = await service.create("Billing", Environment.TEST)
    victim = await service.create("Payouts", Environment.TEST)
    gen = SeededKeyGenerator(31, valid_checksum=True)
    async with Verifier(db_path, environment="test", clock=clock, monotonic=ticks,
                        background_refresh=False, peer_misses=3, throttle_limit=2) as verifier:
        assert (await verifier.verify(good.key.client_id, good.secret, peer="10.0.0.1")).ok
        for made in new_keys:  # five misses that verify: no token spent
            assert (await verifier.verify(made.key.client_id, made.secret, peer="10.0.0.1")).ok
        for _ in range(2):  # two wrong secrets: the Client ID is throttled
            wrong = gen.secret(Environment.TEST)
            assert (await verifier.verify(victim.key.client_id, wrong, peer="10.0.0.9")).reason \
                == "wrong_secret"
        spy = StoreSpy(verifier)
        unknown = [(gen.client_id(Environment.TEST), gen.secret(Environment.TEST))
                   for _ in range(6)]
        reasons = [(await verifier.verify(*pair, peer="10.0.0.1")).reason for pair in unknown]
        assert reasons == ["unknown_key"] * 3 + ["busy"] * 3
        assert spy.calls == ["get_key"] * 3
        # a key in use is a hit: it never asks the budget
        assert (await verifier.verify(good.key.client_id, good.secret, peer="10.0.0.1")).ok
        # throttled answers first and spends no token
        throttled = await verifier.verify(victim.key.client_id, gen.secret(Environment.TEST),
                                          peer="10.0.0.1")
        assert throttled.reason == "throttled"
        assert (await verifier.verify(*unknown[0], peer="10.0.0.2")).reason == "unknown_key"
        assert (await verifier.verify(*unknown[1])).reason == "unknown_key"  # no peer given
        ticks.now += 1 / 3
        assert (await verifier.verify(*unknown[3], peer="10.0.0.1")).reason == "unknown_key"
        assert (await verifier.verify(*unknown[4], peer="10.0.0.1")).reason == "busy"


async def test_cached_answer_is_only_for_a_fresh_key_in_use(service, verifier, ticks):
    """Without awaiting: the ok answer for a cached secret whose state is fresh; None (verify
    must be awaited) for a stale state, a secret not in the cache, an unknown Client ID or bad
    input, and with max_staleness 0."""
    from changeup_tui.core.verify_rules import wrap_secret

    made = await service.create("Billing", Environment.TEST)
    cid, secret = made.key.client_id, wrap_secret(made.secret.reveal())
    assert verifier.cached_answer(cid, secret) is None  # not in the cache yet
    assert (await verifier.verify(cid, secret)).ok
    answer = verifier.cached_answer(cid, secret)
    assert answer is not None and answer.ok and answer.key.name == "Billing"
    other = wrap_secret(SeededKeyGenerator(3, valid_checksum=True).secret(Environment.TEST).reveal())
    assert verifier.cached_answer(cid, other) is None
    assert verifier.cached_answer(cid, None) is None and verifier.cached_answer(None, secret) is None
    await service.revoke(cid)
    ticks.now += verifier.max_staleness  # stale: the revoke must be read, not the cache trusted
    assert verifier.cached_answer(cid, secret) is None
    assert (await verifier.verify(cid, secret)).reason == "revoked"
    verifier.max_staleness = 0
    assert verifier.cached_answer(cid, secret) is None
