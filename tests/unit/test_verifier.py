"""The public verify API a service uses: Verifier (async), SyncVerifier and verify_key (sync)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from changeup_tui.core import SyncVerifier, Verifier, verify_key
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator

pytestmark = pytest.mark.usefixtures("fast_argon2")


def _verifier_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "changeup-verifier"]


@pytest.fixture
async def created(service):
    test_key = await service.create("Billing", Environment.TEST)
    live_key = await service.create("Payments", Environment.LIVE)
    return test_key, live_key


async def test_async_verifier(db, created, service):
    test_key, live_key = created
    other = SeededKeyGenerator(1000)
    async with Verifier(db.target) as verifier:
        ok = await verifier.verify(test_key.key.client_id, test_key.secret.reveal())
        assert ok and ok.reason == "ok" and ok.key.client_id == test_key.key.client_id
        assert (await verifier.verify(live_key.key.client_id, live_key.secret)).ok  # Secret too
        cases = [
            (test_key.key.client_id, other.secret(Environment.TEST).reveal(), "wrong_secret"),
            (test_key.key.client_id, live_key.secret.reveal(), "environment_mismatch"),
            (test_key.key.client_id, test_key.secret.reveal()[:-1], "malformed"),
            (other.client_id(Environment.TEST), other.secret(Environment.TEST).reveal(), "unknown_key"),
        ]
        for client_id, api_key, reason in cases:
            result = await verifier.verify(client_id, api_key)
            assert (result.ok, result.reason) == (False, reason)
    # the verifier's successful check is visible to the service (last used)
    assert (await service.get(test_key.key.client_id)).last_used_at is not None


def _sync_checks(db_path, test_key, live_key):
    wrong = SeededKeyGenerator(1001).secret(Environment.TEST).reveal()
    with SyncVerifier(db_path) as verifier:
        assert verifier.verify(test_key.key.client_id, test_key.secret.reveal()).ok
        assert verifier.verify(live_key.key.client_id, live_key.secret.reveal()).ok
        result = verifier.verify(test_key.key.client_id, wrong)
        assert (result.ok, result.reason) == (False, "wrong_secret")
        # shared between threads
        with ThreadPoolExecutor(4) as pool:
            results = list(
                pool.map(
                    lambda i: (
                        verifier.verify(
                            test_key.key.client_id, test_key.secret.reveal() if i % 2 else wrong
                        ).ok
                    ),
                    range(8),
                )
            )
        assert results == [bool(i % 2) for i in range(8)]
        assert len(_verifier_threads()) == 1
    assert verify_key(db_path, test_key.key.client_id, test_key.secret.reveal()).ok
    result = verify_key(db_path, live_key.key.client_id, test_key.secret.reveal())
    assert (result.ok, result.reason) == (False, "environment_mismatch")


async def test_sync_verifier_and_verify_key(db, created):
    import asyncio

    # the sync API is for code without an event loop: call it from a plain thread
    await asyncio.to_thread(_sync_checks, db.target, *created)
    assert _verifier_threads() == []  # its loop threads stopped


def test_sync_verifier_on_a_bad_path_raises_and_leaves_no_thread(tmp_path):
    with pytest.raises(StoreError):
        SyncVerifier(tmp_path)  # a folder
    with pytest.raises(StoreError):
        verify_key(tmp_path, "cu_test_ci_" + "a" * 24, "x")
    assert _verifier_threads() == []


async def test_verifier_refuses_a_missing_database(tmp_path):
    """A service pointed at the wrong path must fail loudly, not answer unknown_key forever."""
    missing = tmp_path / "nowhere" / "changeup.db"
    with pytest.raises(StoreError, match="no database"):
        async with Verifier(missing):
            pass
    assert not missing.exists() and not missing.parent.exists()


async def test_verifier_refuses_a_server_database_without_keys(pg_url):
    """The same on PostgreSQL: an empty database (no schema) is refused and left empty."""
    import asyncpg

    with pytest.raises(StoreError, match="no changeup-tui keys"):
        async with Verifier(pg_url):
            pass
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()
