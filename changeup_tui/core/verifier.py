"""The public API a service uses to check a presented `x-client-id` / `x-api-key` pair.

Async::

    async with Verifier("/var/lib/changeup/changeup.db") as verifier:
        result = await verifier.verify(client_id, api_key)
        if not result:
            ...  # 401; result.reason says why, for your logs

Sync (a private event loop in a background thread; safe to share between threads)::

    verifier = SyncVerifier("/var/lib/changeup/changeup.db")
    ok = verifier.verify(client_id, api_key).ok
    verifier.close()
"""

from __future__ import annotations

import asyncio
import threading

from changeup_tui.core.config import DbTarget
from changeup_tui.core.context import Clock, utc_now
from changeup_tui.core.models import Actor, Secret, VerifyResult
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store


class Verifier:
    def __init__(self, db_path: str | DbTarget, *, clock: Clock = utc_now) -> None:
        """`db_path`: a database file, or a `postgresql://` URL."""
        self._store = make_store(db_path, create=False)  # a wrong path is an error, not a new database
        self._service = KeyService(self._store, clock=clock, actor=Actor("verifier", "local"))

    async def open(self) -> Verifier:
        await self._store.open()
        return self

    async def close(self) -> None:
        await self._store.close()

    async def __aenter__(self) -> Verifier:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def verify(self, client_id: str, api_key: str | Secret) -> VerifyResult:
        return await self._service.verify(client_id, api_key)


class SyncVerifier:
    def __init__(self, db_path: str | DbTarget, *, clock: Clock = utc_now) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="changeup-verifier", daemon=True
        )
        self._thread.start()
        self._verifier = Verifier(db_path, clock=clock)
        try:
            self._call(self._verifier.open())
        except BaseException:
            self._stop()
            raise

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def verify(self, client_id: str, api_key: str | Secret) -> VerifyResult:
        return self._call(self._verifier.verify(client_id, api_key))

    def close(self) -> None:
        if self._loop.is_running():
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


def verify_key(db_path: str | DbTarget, client_id: str, api_key: str | Secret) -> VerifyResult:
    """One-shot synchronous check; opens and closes the database. For many checks, keep a
    SyncVerifier."""
    with SyncVerifier(db_path) as verifier:
        return verifier.verify(client_id, api_key)
