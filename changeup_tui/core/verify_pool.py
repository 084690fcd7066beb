"""A bounded pool for argon2 checks: a fixed number of threads (by default one per core but one,
so that the event loop answering keys in use keeps a core of its own) and a bounded queue in front
of them. Beyond the bound a check is refused at once (`PoolBusy`, which a
verifier answers as `busy`) instead of waiting behind a flood for seconds. The bound also caps
memory: at most `workers` checks run at a time, each using the pinned argon2 memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from changeup_tui.core import hashing

T = TypeVar("T")

DEFAULT_QUEUE_PER_WORKER = 4
"""With about 10 ms a check, a full queue is a wait of about 40 ms: long enough to absorb a burst
of new keys, short enough that `busy` is the answer under a flood rather than a slow one."""

DEFAULT_NICENESS = 10
"""When the pool's threads have every core (a one-core machine, or `workers` set as high as the
cores), they run at nice +10: under a flood of forged requests, requests for keys in use (answered
from memory on the event loop) get the CPU first, argon2 gets what is left. With a core left to the
loop (the default on two cores or more) they keep the process's priority: a lower one would only
make a new key's first check wait behind unrelated processes."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int | None = None) -> int:
    """One argon2 thread per core but one, at least one."""
    return max(1, (cores if cores is not None else usable_cores()) - 1)


class PoolBusy(Exception):
    """The pool and its queue are full."""


class HashPool:
    """Runs argon2 off the event loop. `run(..., admit=True)` raises PoolBusy when `workers`
    checks are running and `queue` more are waiting; `admit=False` (a rehash after a success,
    rare) always gets in. `niceness` None: DEFAULT_NICENESS when the threads have every core,
    else 0."""

    def __init__(
        self, workers: int | None = None, queue: int | None = None, *,
        niceness: int | None = None,
    ) -> None:
        cores = usable_cores()
        self.workers = max(1, workers if workers is not None else default_workers(cores))
        self.queue = max(0, queue if queue is not None else DEFAULT_QUEUE_PER_WORKER * self.workers)
        if niceness is None:
            niceness = DEFAULT_NICENESS if self.workers >= cores else 0
        self.niceness = niceness
        self._in_flight = 0
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="changeup-argon2",
            initializer=self._init_thread,
        )

    @property
    def in_flight(self) -> int:
        """Checks running or waiting now."""
        return self._in_flight

    @property
    def memory_bound(self) -> int:
        """Bytes argon2 may use at once through this pool."""
        return self.workers * hashing.MEMORY_COST_KIB * 1024

    def _init_thread(self) -> None:
        if self.niceness > 0:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)

    def _release(self, _future: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1

    async def run(self, function: Callable[..., T], *args: object, admit: bool = True) -> T:
        with self._lock:
            if admit and self._in_flight >= self.workers + self.queue:
                raise PoolBusy
            self._in_flight += 1
        try:
            future = self._executor.submit(function, *args)
        except BaseException:
            self._release(Future())
            raise
        # Released when the thread is done, not when the caller stops waiting: a cancelled
        # request does not free a slot that argon2 still uses.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class SharedPool:
    """The hashing module's own threads, never busy: for the TUI and the command line, which
    verify one key at a time."""

    workers = 4
    queue = 0

    async def run(self, function: Callable[..., T], *args: object, admit: bool = True) -> T:
        return await hashing.off_loop(function, *args)
