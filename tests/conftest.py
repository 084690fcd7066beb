"""Shared fixtures. Every test gets its own HOME and XDG folders and no SSH variables
(`isolated_env`, tests/helpers/isolation.py), so nothing reads or writes the developer's real
data. The services get the fixed clock and the seeded key generator; `make_app` builds the app
over `db_path`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest

from changeup_tui.core import hashing
from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FixedClock, SeededKeyGenerator
from changeup_tui.tui.app import ChangeupApp
from changeup_tui.tui.clipboard import Copier
from tests.helpers.apps import build_test_app
from tests.helpers.clipboard import FakeClipboard
from tests.helpers.isolation import isolated_env

__all__ = ["isolated_env"]  # provided to every test from here


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "changeup.db"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def keygen() -> SeededKeyGenerator:
    # Valid checksums: these tests verify the keys they create. The secrets stay in memory (a
    # snapshot or any committed file gets the default, fake ones).
    return SeededKeyGenerator(7, valid_checksum=True)


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def service(store: SQLiteStore, clock: FixedClock, keygen: SeededKeyGenerator) -> KeyService:
    return KeyService(store, clock=clock, keygen=keygen, actor=Actor("tester", "local"))


@pytest.fixture
def fake_clipboard() -> FakeClipboard:
    return FakeClipboard()


@pytest.fixture
def make_app(
    db_path: Path, clock: FixedClock, keygen: SeededKeyGenerator, fake_clipboard: FakeClipboard
) -> Callable[..., ChangeupApp]:
    """Builds the app over `db_path` with this test's clock, key generator and fake clipboard
    (every call shares them: a restart sees the same clipboard and time)."""

    def make(
        *,
        copier: Copier | None = None,
        environ: Mapping[str, str] | None = None,
        clipboard_clear_seconds: int = 0,
    ) -> ChangeupApp:
        return build_test_app(
            db_path, clipboard=fake_clipboard, environ=environ, copier=copier, clock=clock,
            keygen=keygen, clipboard_clear_seconds=clipboard_clear_seconds,
        )

    return make


# -- PostgreSQL: a throwaway server for the whole session (tests/pg_cluster.py) ---------------


@pytest.fixture(scope="session")
def pg_server():
    from tests.pg_cluster import server_from_env, start_cluster

    server = server_from_env() or start_cluster()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A new empty database on the test server, dropped after the test: its URL."""
    with pg_server.database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def each_db(request, db_path):
    """The same test on each store (tests/store_backends.py): an SQLite file at `db_path`, then
    a new database on the test PostgreSQL server."""
    from tests.store_backends import backend_for

    return backend_for(request.param, request, db_path)


@pytest.fixture
def team(pg_server, pg_url):
    """The README's team setup on a fresh database: its roles, the schema made by the owner,
    its grants (tests/pg_team.py). The URL of each role, by its README name."""
    from tests.pg_team import team_database

    with team_database(pg_server, pg_url) as urls:
        yield urls


@pytest.fixture
def team_before_init(pg_server, pg_url):
    """The README's roles on a fresh database whose owner has not run `db init` yet."""
    from tests.pg_team import team_database

    with team_database(pg_server, pg_url, init=False) as urls:
        yield urls


@pytest.fixture(autouse=True)
def _pinned_argon2_after_each_test():
    """A test may swap in cheap argon2 parameters (fast_argon2, monkeypatch), never leave them
    for the tests after it: that once made the pinned-parameter tests fail, depending on order."""
    yield
    hasher = hashing._hasher
    assert hasher is None or hasher.memory_cost == hashing.MEMORY_COST_KIB, (
        "this test left argon2 parameters other than the pinned ones in place"
    )
