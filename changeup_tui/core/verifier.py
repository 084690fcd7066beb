"""The public API a service uses to check a presented `x-client-id` / `x-api-key` pair.

Async::

    async with Verifier("/var/lib/changeup/changeup.db", environment="live") as verifier:
        result = await verifier.verify(client_id, api_key)
        if not result:
            ...  # 401; result.reason says why, for your logs

Sync (a private event loop in a background thread; safe to share between threads)::

    verifier = SyncVerifier("/var/lib/changeup/changeup.db", environment="live")
    ok = verifier.verify(client_id, api_key).ok
    verifier.close()

A key in use is answered from memory: the first successful check of a secret costs one argon2
verification (in a bounded pool); later ones a keyed digest and a dictionary look-up, with the
key's state read again (one indexed query) once it is older than `max_staleness` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from changeup_tui.core.config import DbTarget
from changeup_tui.core.context import Clock, utc_now
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, Environment, KeyState, KeyUse, Secret, VerifyResult
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.core.verify_cache import (
    DEFAULT_MAX_KEYS,
    LAST_USED_RESOLUTION,
    Accepted,
    CachedKey,
    KeyCache,
    PeerBudget,
    Throttle,
)
from changeup_tui.core.verify_pool import HashPool
from changeup_tui.core.verify_rules import Presented, screen, wrap_secret

T = TypeVar("T")

DEFAULT_MAX_STALENESS = 1.0
LISTEN_RETRY_SECONDS = 2.0
"""On PostgreSQL, how soon the verifier listens again for changes after its connection was lost
(meanwhile the staleness bound holds; once it listens again, every cached key's state is read
again at its next request, as any of them may have changed unheard)."""
LISTEN_START_SECONDS = 5.0
"""How long open() waits for the change listener to be in place before it returns anyway."""
MISSES_PER_POOL_SLOT = 2
PEER_MISSES_PER_WORKER = 10
"""A peer's default budget of refused cache misses a second, per argon2 thread (a tenth of what
one thread checks in a second): misses that verify give their token back, so it holds back only a
peer presenting pairs that fail."""
USE_FLUSH_SECONDS = 1.0
"""Cache hits note "last used" in memory; the notes are written, one transaction for all, at most
this often (and each key at most once a minute): a hit itself never waits for a write."""


def _environment(value: Environment | str) -> Environment:
    if isinstance(value, Environment):
        return value
    if isinstance(value, str):
        return Environment.parse(value)
    raise TypeError("environment must be Environment.LIVE, Environment.TEST, 'live' or 'test'")


class Verifier:
    """Verifies keys of one environment against the database at `db_path`.

    - `environment`: the environment this service serves ('live' or 'test'); a key of the other
      one is `environment_mismatch` before any database or argon2 work. Required.
    - `max_keys`: keys kept in memory (LRU). 0 turns the cache off.
    - `max_staleness`: seconds a cached key's state is trusted before it is read again (one
      indexed query); 0 reads it on every request. A revoke, disable or roll reaches this
      verifier within that bound.
    - `workers`, `queue`: the argon2 pool (default one thread per core but one, at least one;
      four waiting per thread); beyond it a cache miss is `busy` at once.
    - `throttle_limit`, `throttle_window`, `throttle_block`: after that many wrong secrets for one
      Client ID within the window (seconds), cache misses for it are `throttled` for the block.
    - `peer_misses`: refused cache misses a second that one peer (`verify(..., peer=...)`, the
      middleware's client address) may cause, in bursts of up to a second's worth; beyond it,
      `busy` before any database or argon2 work. A miss that verifies does not count, nor does
      a key in use (a hit). Default: 10 per argon2 thread; 0 turns it off.
    - `background_refresh`: re-read the keys in use together every max_staleness / 2, so their
      requests do not each wait for a query (default on; off, each hit on a stale entry reads it).
    - `argon2_niceness`: the pool's threads run at this nice value; by default +10 when they
      have every core (one core, or `workers` as many as the cores: the requests answered from
      memory then get the CPU first under a flood), else 0 (the process's own).
    """

    def __init__(
        self,
        db_path: str | Path | DbTarget,
        *,
        environment: Environment | str,
        clock: Clock = utc_now,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_staleness: float = DEFAULT_MAX_STALENESS,
        workers: int | None = None,
        queue: int | None = None,
        throttle_limit: int = 5,
        throttle_window: float = 60.0,
        throttle_block: float = 60.0,
        argon2_niceness: int | None = None,
        peer_misses: float | None = None,
        background_refresh: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_staleness < 0:
            raise ValueError("max_staleness must be 0 or more")
        self.environment = _environment(environment)
        self.max_staleness = max_staleness
        self._clock = clock
        # The same clock as a float (POSIX seconds), for the hits' one comparison: the default
        # clock's own source, else the given clock's reading converted.
        self._wall: Callable[[], float] = (
            time.time if clock is utc_now else (lambda: clock().timestamp())
        )
        self._monotonic = monotonic
        self._store = make_store(db_path, create=False)  # a wrong path is an error, not a new database
        self.pool = HashPool(workers, queue, niceness=argon2_niceness)
        self._service = KeyService(
            self._store, clock=clock, actor=Actor("verifier", "local"), pool=self.pool
        )
        self.cache = KeyCache(max_keys)
        self.throttle = Throttle(throttle_limit, throttle_window, throttle_block, max(max_keys, 1000))
        self.peers = PeerBudget(
            PEER_MISSES_PER_WORKER * self.pool.workers if peer_misses is None else peer_misses
        )
        self._id_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Cache misses in progress at once (look-up, argon2, state read): twice what the pool
        # takes. Beyond, `busy` at once: a flood of forged requests never fills the database
        # connection's queue, where it would delay the state re-reads of keys in use.
        self._max_misses = MISSES_PER_POOL_SLOT * (self.pool.workers + self.pool.queue)
        self._misses = 0
        self._refreshes: dict[str, asyncio.Future[tuple[KeyState | None, float, int]]] = {}
        self._uses: dict[str, KeyUse] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._background_refresh = background_refresh and max_staleness > 0
        # An exact data_version (SQLite's, read from the database itself): an equal one proves
        # that nothing was committed elsewhere meanwhile (see _changed_since_sweep).
        self._sync_version = self._store.exact_data_version
        self._version: int | None = None
        self._version_at = 0.0
        self._sweeper: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.changes_heard = 0
        """Keys dropped from the cache because the database announced a change (PostgreSQL)."""

    async def open(self) -> Verifier:
        await self._store.open()
        if self._store.announces_changes:  # PostgreSQL: LISTEN/NOTIFY on top of the staleness bound
            listening = asyncio.Event()
            self._listener = asyncio.create_task(self._follow_changes(listening))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listening.wait(), LISTEN_START_SECONDS)
        return self

    def _changed(self, client_id: str) -> None:
        """A key was created or changed anywhere (committed): the next request for it reads its
        state again instead of trusting the cache."""
        self.changes_heard += 1
        self.cache.changed(client_id)

    async def _follow_changes(self, listening: asyncio.Event) -> None:
        while True:
            try:
                async with self._store.listen(self._changed) as lost:
                    # What changed while nobody listened was not heard: before the first LISTEN
                    # too, when open() stopped waiting for it and requests filled the cache.
                    self.cache.all_changed()
                    listening.set()
                    await lost.wait()
            except StoreError:  # the server is away: the staleness bound holds meanwhile
                pass
            listening.set()  # open() does not wait for a server that is not there
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self._flush_uses()
        await self._store.close()
        self.pool.close()

    async def __aenter__(self) -> Verifier:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the check -----------------------------------------------------------------------------

    async def verify(self, client_id: object, api_key: object, *,
                     peer: str | None = None) -> VerifyResult:
        """`ok`, or the reason why not (`VerifyResult.reason`). Never raises for bad input:
        anything that is not a well-formed pair (None, bytes, empty, over 1 KiB, not ASCII) is
        `malformed`. `peer`: where the request came from (a client address), for the per-peer
        budget of cache misses (`busy` beyond it); None counts against no budget. Raises
        StoreError when the database cannot be read."""
        api_key = wrap_secret(api_key)  # rebound: no frame local holds the plain text
        if api_key is not None and type(client_id) is str:
            digest = self.cache.digest(client_id, api_key)
            answer = self._hit(digest)
            if answer is not None:
                return answer
            accepted = self.cache.find(digest)
            if accepted is not None:  # a key in use whose state must be read first
                entry = accepted.entry
                entry.used = True
                if self.max_staleness == 0 or (
                    self._monotonic() - entry.read_at >= self.max_staleness
                ):
                    state, read_at, epoch = await self._read_state(client_id)
                    if state is None:
                        self.cache.drop(client_id)
                        return VerifyResult(False, "unknown_key")
                    self.cache.refresh(entry, state, read_at, epoch)
                entry.hot = True
                if self._sweeper is None and self._background_refresh:
                    self._start_sweeper()
                return self._answer(accepted)
        presented = screen(client_id, api_key, self.environment)
        if isinstance(presented, VerifyResult):
            return presented
        if peer is None:
            return await self._miss(presented,
                                    self.cache.digest(presented.client_id, presented.secret))
        now = self._monotonic()
        if self.throttle.blocked(presented.client_id, now):  # costs nothing: no token
            return VerifyResult(False, "throttled")
        if not self.peers.take(peer, now):
            return VerifyResult(False, "busy")
        result = await self._miss(presented,
                                  self.cache.digest(presented.client_id, presented.secret))
        if result.ok:
            self.peers.give_back(peer)
        return result

    def cached_answer(self, client_id: object, api_key: Secret | None) -> VerifyResult | None:
        """The answer for a key in use whose state is fresh (read within `max_staleness`),
        without awaiting anything; None when `verify` must be awaited. `api_key` as
        `wrap_secret` made it (for the middleware, which has wrapped it already).

        A key in use: the Client ID is in the cache only if it was well formed and of this
        environment, and an equal digest means the very secret that passed its format, checksum
        and argon2 checks. So this answers as the full order would, skipping the checks whose
        outcome is already known."""
        if api_key is None or type(client_id) is not str:
            return None
        return self._hit(self.cache.digest(client_id, api_key))

    def cached_answer_bytes(self, client_id: bytes, api_key: bytes) -> VerifyResult | None:
        """`cached_answer` for a pair as an HTTP server hands it over (the two headers' values,
        bytes): no text and no Secret are made for a key in use. Bytes that are not ASCII, or
        any pair whose digest is not one the cache accepted, give None (then `verify`, which
        says why)."""
        return self._hit(self.cache.digest_bytes(client_id, api_key))

    def _hit(self, digest: bytes) -> VerifyResult | None:
        """The answer for an accepted pair's digest whose key's state is fresh; else None. It
        reads the pair's Accepted and its entry, and nothing else, when nothing is due."""
        accepted = self.cache.find(digest)
        if accepted is None:
            return None
        entry = accepted.entry
        if self._monotonic() - entry.read_at >= self.max_staleness:  # always so for 0
            return None
        entry.used = entry.hot = True
        if self._sweeper is None and self._background_refresh:
            self._start_sweeper()
        if self._wall() < accepted.ok_until:
            return entry.ok
        return self._answer(accepted)

    def _answer(self, accepted: Accepted) -> VerifyResult:
        """A cached key's answer from its state as last read, compared in full with the clock
        (expiry, the end of a roll's grace, "last used" due); sets `Accepted.ok_until`, the
        earliest of them, which lets `_hit` answer the next hits with one reading of the clock."""
        entry = accepted.entry
        if entry.refusal is not None:
            return VerifyResult(False, entry.refusal, entry.key)
        now = self._clock()
        expires = entry.key.expires_at
        if expires is not None and expires <= now:
            return VerifyResult(False, "expired", entry.key)
        stored = entry.secrets.get(accepted.secret_id)
        if stored is None or (stored.expires_at is not None and stored.expires_at <= now):
            return VerifyResult(False, "wrong_secret", entry.key)
        if entry.use_due is None or entry.use_due <= now:
            self._note_use(entry, now)
        ends = [t.timestamp() for t in (expires, stored.expires_at, entry.use_due) if t is not None]
        accepted.ok_until = min(ends) if ends else float("inf")
        return entry.ok  # type: ignore[return-value]  # set by every refresh

    async def _read_state(self, client_id: str) -> tuple[KeyState | None, float, int]:
        """One indexed query, when it started and the cache's epoch then; concurrent hits on the
        same stale key share it."""
        pending = self._refreshes.get(client_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[tuple[KeyState | None, float, int]] = (
            asyncio.get_running_loop().create_future()
        )
        self._refreshes[client_id] = future
        started, epoch = self._monotonic(), self.cache.epoch()
        try:
            state = await self._store.get_key_state(client_id)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else StoreError("cancelled"))
            future.exception()  # retrieved: no "never retrieved" warning when nobody shared it
            raise
        finally:
            self._refreshes.pop(client_id, None)
        future.set_result((state, started, epoch))
        return state, started, epoch

    async def _miss(self, presented: Presented, digest: bytes) -> VerifyResult:
        client_id = presented.client_id
        if self.throttle.blocked(client_id, self._monotonic()):
            return VerifyResult(False, "throttled")
        lock, waiting = self._id_locks.get(client_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        elif waiting > self.pool.workers + self.pool.queue:
            return VerifyResult(False, "busy")
        self._id_locks[client_id] = (lock, waiting + 1)
        try:
            async with lock:  # at most one argon2 check per Client ID at a time
                entry = self.cache.peek(client_id)
                accepted = self.cache.find(digest)
                if accepted is not None:  # the check we waited for accepted this secret
                    return self._answer(accepted)
                if self.throttle.blocked(client_id, self._monotonic()):
                    return VerifyResult(False, "throttled")
                read_at, epoch = self._monotonic(), self.cache.epoch()
                if self._misses >= self._max_misses:
                    return VerifyResult(False, "busy")
                self._misses += 1
                try:
                    outcome = await self._service.check(presented, self.pool)
                finally:
                    self._misses -= 1
                result = outcome.result
                if result.reason == "wrong_secret":
                    self.throttle.failed(client_id, self._monotonic())
                elif result.ok and outcome.state is not None and outcome.secret_id is not None:
                    cached = self.cache.accept(client_id, outcome.state, outcome.secret_id,
                                               digest, read_at, epoch)
                    if cached is not None:  # "last used" was just recorded by the check
                        cached.use_due = self._clock() + LAST_USED_RESOLUTION
                    if self._sweeper is None and self._background_refresh:
                        # From the first key accepted, not the first hit: on SQLite, while
                        # nothing is committed elsewhere, the sweep keeps the keys verified
                        # meanwhile current too, instead of each one's next request after
                        # max_staleness waiting for a query of its own.
                        self._start_sweeper()
                elif outcome.state is not None and entry is not None:
                    self.cache.refresh(entry, outcome.state, read_at, epoch)
                return result
        finally:
            lock_now, count = self._id_locks[client_id]
            if count <= 1:
                del self._id_locks[client_id]
            else:
                self._id_locks[client_id] = (lock_now, count - 1)

    # -- keys in use, read again in the background ---------------------------------------------

    def _start_sweeper(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        """Every max_staleness / 2, the keys answered from the cache since the last sweep are
        read again, together (store.get_key_states): a key in use then never turns stale, and
        its requests never wait for a query of their own. A sweep that fails or comes late
        changes nothing to the bound: a hit on a stale entry still reads it first."""
        period = self.max_staleness / 2
        while True:
            await asyncio.sleep(period)
            with contextlib.suppress(StoreError):
                await self._sweep()

    async def _sweep(self) -> None:
        client_ids = self.cache.take_hot()
        if not client_ids and not (self._sync_version and len(self.cache)):
            return
        started, epoch = self._monotonic(), self.cache.epoch()
        client_ids = await self._changed_since_sweep(client_ids, started)
        if client_ids:
            states = await self._store.get_key_states(client_ids)
            for client_id in client_ids:
                entry = self.cache.peek(client_id)
                if entry is None or entry.read_at >= started:
                    continue
                state = states.get(client_id)
                if state is None:
                    self.cache.drop(client_id)
                else:
                    self.cache.refresh(entry, state, started, epoch)

    async def _changed_since_sweep(self, client_ids: list[str], started: float) -> list[str]:
        """The keys of `client_ids` (those in use since the last sweep) whose state must be read
        again. On SQLite, when no other connection committed anything since the last full sweep
        (`PRAGMA data_version` is the same: one query that reads no table), every entry read
        after that sweep began is still exact, in use or not: it is marked read at `started`
        (so a key used again after a quiet spell needs no query either), and only the older
        entries in use are read. Otherwise (a change anywhere, or PostgreSQL, whose version
        follows announcements that may lag) all of them are, and the version is noted first: a
        commit that lands between the version and the states is seen by the next sweep."""
        if not self._sync_version:
            return client_ids
        version = await self._store.data_version()
        if version != self._version:
            self._version, self._version_at = version, started
            return client_ids
        since = self._version_at
        for entry in self.cache.entries():
            if entry.read_at >= since:
                entry.read_at = started
        older: list[str] = []
        for client_id in client_ids:
            cached = self.cache.peek(client_id)
            if cached is not None and cached.read_at < since:
                older.append(client_id)
        return older

    # -- last used, written behind -------------------------------------------------------------

    def _note_use(self, entry: CachedKey, now: datetime) -> None:
        entry.use_due = now + LAST_USED_RESOLUTION
        if self._store.read_only:
            return
        client_id = entry.key.client_id
        self._uses[client_id] = KeyUse(client_id, now, now - LAST_USED_RESOLUTION)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(USE_FLUSH_SECONDS)
        await self._flush_uses()

    async def _flush_uses(self) -> None:
        uses, self._uses = list(self._uses.values()), {}
        with contextlib.suppress(StoreError):
            await self._store.record_use(uses)


class SyncVerifier:
    """`Verifier` for code without an event loop (Flask, Django, scripts): a private event loop
    in one background thread, shared by every calling thread. Same arguments as Verifier."""

    def __init__(self, db_path: str | Path | DbTarget, *, environment: Environment | str,
                 **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="changeup-verifier", daemon=True
        )
        self._thread.start()
        try:
            self._verifier = self._call(self._make(db_path, environment, options))
        except BaseException:
            self._stop()
            raise
        self.environment = self._verifier.environment

    @staticmethod
    async def _make(db_path: str | Path | DbTarget, environment: Environment | str,
                    options: dict[str, Any]) -> Verifier:
        verifier = Verifier(db_path, environment=environment, **options)
        try:
            return await verifier.open()
        except BaseException:
            verifier.pool.close()
            raise

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def verify(self, client_id: object, api_key: object, *,
               peer: str | None = None) -> VerifyResult:
        api_key = wrap_secret(api_key)  # rebound: no frame local holds the plain text
        return self._call(self._verifier.verify(client_id, api_key, peer=peer))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._loop.is_running() and hasattr(self, "_verifier"):
            self._call(self._verifier.close())
        self._stop()

    def _stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def verify_key(
    db_path: str | Path | DbTarget, client_id: object, api_key: object, *, environment: Environment | str
) -> VerifyResult:
    """One-shot synchronous check; opens and closes the database. For many checks, keep a
    SyncVerifier."""
    api_key = wrap_secret(api_key)  # rebound: no frame local holds the plain text
    with SyncVerifier(db_path, environment=environment) as verifier:
        return verifier.verify(client_id, api_key)
