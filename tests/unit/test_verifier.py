"""The public verify API a service uses: Verifier (async), SyncVerifier and verify_key (sync):
the environment it serves, the order of the checks and what each costs, bad input."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest

from changeup_tui.core import SyncVerifier, Verifier, hashing, verify_key
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Environment, Secret
from changeup_tui.testing import SeededKeyGenerator

pytestmark = pytest.mark.usefixtures("fast_argon2")


def _verifier_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "changeup-verifier"]


@pytest.fixture
async def created(service):
    test_key = await service.create("Billing", Environment.TEST)
    live_key = await service.create("Payments", Environment.LIVE)
    return test_key, live_key


@pytest.fixture
def argon2_count(monkeypatch):
    counts = {"verify": 0}
    real = hashing.verify_sync

    def counting(phc, secret):
        counts["verify"] += 1
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", counting)
    return counts


async def test_async_verifier(db, created, service):
    test_key, live_key = created
    other = SeededKeyGenerator(1000, valid_checksum=True)
    async with Verifier(db.target, environment="test") as verifier:
        ok = await verifier.verify(test_key.key.client_id, test_key.secret.reveal())
        assert ok and ok.reason == "ok" and ok.key.client_id == test_key.key.client_id
        assert (await verifier.verify(test_key.key.client_id, test_key.secret)).ok  # Secret too
        cases = [
            (test_key.key.client_id, other.secret(Environment.TEST).reveal(), "wrong_secret"),
            (test_key.key.client_id, live_key.secret.reveal(), "environment_mismatch"),
            (test_key.key.client_id, test_key.secret.reveal()[:-1], "malformed"),
            (other.client_id(Environment.TEST), other.secret(Environment.TEST).reveal(), "unknown_key"),
            # a Live key, well formed and valid, in a verifier that serves Test
            (live_key.key.client_id, live_key.secret.reveal(), "environment_mismatch"),
        ]
        for client_id, api_key, reason in cases:
            result = await verifier.verify(client_id, api_key)
            assert (result.ok, result.reason) == (False, reason)
    # the verifier's successful check is visible to the service (last used)
    assert (await service.get(test_key.key.client_id)).last_used_at is not None


async def test_environment_is_a_required_keyword(db, created):
    with pytest.raises(TypeError):
        Verifier(db.target)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Verifier(db.target, "live")  # type: ignore[misc]
    with pytest.raises(ValueError, match="environment must be"):
        Verifier(db.target, environment="prod")
    with pytest.raises(TypeError):
        verify_key(db.target, "x", "y")  # type: ignore[call-arg]
    assert Verifier(db.target, environment=Environment.LIVE).environment is Environment.LIVE


async def test_other_environment_is_refused_before_any_database_or_argon2_work(
    db, created, argon2_count
):
    """The verifier is never opened: any database access would raise."""
    test_key, live_key = created
    verifier = Verifier(db.target, environment="live")
    try:
        result = await verifier.verify(test_key.key.client_id, test_key.secret)
        assert (result.ok, result.reason) == (False, "environment_mismatch")
        # even a malformed secret: the environment comes first
        result = await verifier.verify(test_key.key.client_id, "nonsense")
        assert result.reason == "environment_mismatch"
        assert argon2_count["verify"] == 0
        with pytest.raises(StoreError):  # it really is not open
            await verifier.verify(live_key.key.client_id, live_key.secret)
    finally:
        verifier.pool.close()


BAD_VALUES = [None, b"cu_test_sk_bytes", "", "x" * 1025, "cu_test_sk_\u00e9" + "a" * 48, 42,
              ["list"], "a" * 10_000_000]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda v: type(v).__name__ + str(len(repr(v))))
async def test_bad_input_is_malformed_never_an_exception(db, created, bad, argon2_count):
    test_key, _ = created
    async with Verifier(db.target, environment="test") as verifier:
        for client_id, api_key in ((test_key.key.client_id, bad), (bad, test_key.secret.reveal()),
                                   (bad, bad)):
            result = await verifier.verify(client_id, api_key)
            assert (result.ok, result.reason) == (False, "malformed")
        assert argon2_count["verify"] == 0


async def test_bad_input_through_sync_verifier_and_verify_key(db, created):
    test_key, _ = created

    def check() -> None:
        with SyncVerifier(db.target, environment="test") as verifier:
            for bad in BAD_VALUES:
                assert verifier.verify(test_key.key.client_id, bad).reason == "malformed"
                assert verifier.verify(bad, test_key.secret.reveal()).reason == "malformed"
        assert verify_key(db.target, None, None, environment="test").reason == "malformed"

    await asyncio.to_thread(check)


async def test_presented_secret_never_in_an_exception_log_or_traceback_locals(
    db, created, caplog
):
    """A database that fails mid-verification raises StoreError; neither it, its traceback with
    every frame's locals, nor any log line holds the presented secret."""
    test_key, _ = created
    presented = test_key.secret.reveal()
    wrong = SeededKeyGenerator(55, valid_checksum=True).secret(Environment.TEST).reveal()
    caplog.set_level(logging.DEBUG)
    verifier = await Verifier(db.target, environment="test").open()
    await verifier._store.close()  # the database goes away under the verifier
    texts = []
    try:
        for secret in (presented, wrong, presented + "\u00e9"):
            try:
                result = await verifier.verify(test_key.key.client_id, secret)
            except StoreError as exc:
                # from the verifier's frame down (this test's own frame holds the secret)
                below_test = exc.__traceback__.tb_next
                assert below_test.tb_frame.f_code.co_name == "verify"
                texts.append("".join(traceback.TracebackException(
                    type(exc), exc, below_test, capture_locals=True).format()))
                texts.append(str(exc) + repr(exc))
            else:
                texts.append(repr(result))
    finally:
        await verifier.close()
    assert len(texts) >= 4 and any("Traceback" in t for t in texts)
    joined = "\n".join(texts) + caplog.text
    assert "Secret('********')" in joined  # the locals were captured, redacted
    for secret in (presented, wrong):
        assert secret not in joined
        assert secret[11:30] not in joined


def _sync_checks(db_path, test_key, live_key):
    wrong = SeededKeyGenerator(1001, valid_checksum=True).secret(Environment.TEST).reveal()
    with SyncVerifier(db_path, environment="test") as verifier:
        assert verifier.verify(test_key.key.client_id, test_key.secret.reveal()).ok
        assert verifier.verify(live_key.key.client_id, live_key.secret.reveal()).reason == (
            "environment_mismatch"
        )
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
    assert verify_key(db_path, test_key.key.client_id, test_key.secret.reveal(),
                      environment="test").ok
    assert verify_key(db_path, live_key.key.client_id, live_key.secret.reveal(),
                      environment=Environment.LIVE).ok
    result = verify_key(db_path, live_key.key.client_id, test_key.secret.reveal(),
                        environment="live")
    assert (result.ok, result.reason) == (False, "environment_mismatch")


async def test_sync_verifier_and_verify_key(db, created):
    # the sync API is for code without an event loop: call it from a plain thread
    await asyncio.to_thread(_sync_checks, db.target, *created)
    assert _verifier_threads() == []  # its loop threads stopped


def test_sync_verifier_on_a_bad_path_raises_and_leaves_no_thread(tmp_path):
    with pytest.raises(StoreError):
        SyncVerifier(tmp_path, environment="test")  # a folder
    with pytest.raises(StoreError):
        verify_key(tmp_path, "cu_test_ci_" + "a" * 24, "x", environment="test")
    assert _verifier_threads() == []
    assert not [t for t in threading.enumerate() if t.name.startswith("changeup-argon2")]


async def test_verifier_refuses_a_missing_database(tmp_path):
    """A service pointed at the wrong path must fail loudly, not answer unknown_key forever."""
    missing = tmp_path / "nowhere" / "changeup.db"
    with pytest.raises(StoreError, match="no database"):
        async with Verifier(missing, environment="test"):
            pass
    assert not missing.exists() and not missing.parent.exists()


async def test_verifier_refuses_a_server_database_without_keys(pg_url):
    """The same on PostgreSQL: an empty database (no schema) is refused and left empty."""
    import asyncpg

    with pytest.raises(StoreError, match="no changeup-tui keys"):
        async with Verifier(pg_url, environment="test"):
            pass
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()


def test_secret_wrapper_is_what_verify_keeps():
    """The redaction the traceback test relies on."""
    assert "cu_" not in repr(Secret("cu_test_sk_x"))


def test_a_process_that_forgets_to_close_a_sync_verifier_still_exits(db_path, tmp_path):
    """A WSGI process that never calls close() must not hang at exit (every thread a verifier
    starts is a daemon: its loop thread and aiosqlite's connection thread)."""
    import subprocess
    import sys

    from tests.helpers.processes import child_env

    created = asyncio.run(_create_one(db_path))
    script = (
        "import sys\n"
        "from changeup_tui.core import SyncVerifier\n"
        "v = SyncVerifier(sys.argv[1], environment='test')\n"
        "print(v.verify(sys.argv[2], None).reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(db_path), created],
                          capture_output=True, text=True, timeout=60, env=child_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "malformed"


async def _create_one(db_path) -> str:
    from changeup_tui.core.models import Actor
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.sqlite import SQLiteStore

    store = SQLiteStore(db_path)
    await store.open()
    try:
        made = await KeyService(store, actor=Actor("t", "local")).create("x", Environment.TEST)
        return made.key.client_id
    finally:
        await store.close()


@pytest.mark.sqlite_only  # reads and breaks the SQLite file behind the verifier
def test_each_sync_entry_point_keeps_the_secret_out_of_traceback_locals(
    db_path, created, monkeypatch
):
    """Issue 12: a store error raised under SyncVerifier.verify and verify_key (the async
    Verifier.verify is the test above): the traceback with every frame's locals, from the entry
    point down, never holds the presented secret."""
    from changeup_tui.core.store.sqlite import SQLiteStore

    test_key, _ = created
    presented = test_key.secret.reveal()

    async def failing(self, *args, **kwargs):
        raise StoreError("the database failed mid-verification")

    def rendered(exc: BaseException) -> str:
        below_test = exc.__traceback__.tb_next  # this test's own frame holds the secret
        assert below_test.tb_frame.f_code.co_name in {"verify", "verify_key"}
        return "".join(traceback.TracebackException(
            type(exc), exc, below_test, capture_locals=True).format())

    texts = []
    with SyncVerifier(db_path, environment="test") as verifier:
        for name in ("get_key", "get_key_state"):
            monkeypatch.setattr(SQLiteStore, name, failing)
        with pytest.raises(StoreError) as info:
            verifier.verify(test_key.key.client_id, presented)
        texts.append(rendered(info.value))
    with pytest.raises(StoreError) as info:
        verify_key(db_path, test_key.key.client_id, presented, environment="test")
    texts.append(rendered(info.value))
    joined = "\n".join(texts)
    assert joined.count("Traceback") >= 2 and "Secret('********')" in joined
    assert presented not in joined and presented[11:30] not in joined


async def test_the_store_capabilities_the_verifier_uses_are_in_the_contract(db, tmp_path, created):
    """data_version's exactness and change announcements are declared by each store (the
    contract, core/store/base.py), not guessed by the verifier from the store's class: SQLite
    has an exact data_version and no announcements (its listen refuses), PostgreSQL the
    opposite; the verifier listens only where the store announces."""
    from changeup_tui.core.store.postgres import PostgresStore
    from changeup_tui.core.store.sqlite import SQLiteStore

    assert SQLiteStore.exact_data_version and not SQLiteStore.announces_changes
    assert PostgresStore.announces_changes and not PostgresStore.exact_data_version
    with pytest.raises(StoreError):
        SQLiteStore(tmp_path / "any.db").listen(lambda client_id: None)
    async with Verifier(db.target, environment="test") as verifier:
        if db.kind == "sqlite":
            assert verifier._listener is None and verifier._sync_version
        else:
            assert verifier._listener is not None and not verifier._sync_version
