"""Unit-test helpers. `fast_argon2` swaps the pinned argon2 parameters (about 0.1 s a hash) for
cheap ones, for tests about the service's rules rather than the hash itself. The pinned
parameters are tested in test_hashing.py and by every test marked `real_argon2`."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from changeup_tui.core import hashing
from changeup_tui.core.models import Secret


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "real_argon2: keep the pinned argon2 parameters even where fast_argon2 is used"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: a contract-suite test about the SQLite store alone (not run on PostgreSQL)"
    )


_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


@pytest.fixture
def fast_argon2(request, monkeypatch):
    if request.node.get_closest_marker("real_argon2"):
        return hashing.password_hasher()
    monkeypatch.setattr(hashing, "_hasher", _FAST)
    # sanity: the service really goes through the swapped hasher
    assert hashing.hash_secret_sync(Secret("x")).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    return _FAST


# -- the contract suites on both stores (tests/store_backends.py) ---------------------------------


def pytest_generate_tests(metafunc):
    from tests.store_backends import KINDS, SUITES

    if "backend" not in metafunc.fixturenames or metafunc.module.__name__.rpartition(".")[2] not in SUITES:
        return
    kinds = ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else list(KINDS)
    metafunc.parametrize("backend", kinds)


@pytest.fixture
def backend():
    """Which store a test runs on; the contract suites are parametrised over both."""
    return "sqlite"


@pytest.fixture
def db(request, backend, db_path):
    from tests.store_backends import backend_for

    return backend_for(backend, request, db_path)


@pytest.fixture
async def store(db):
    store = db.make_store()
    await store.open()
    yield store
    await store.close()
