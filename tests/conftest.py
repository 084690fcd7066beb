"""Shared fixtures. Every test gets its own HOME and XDG folders and no SSH variables, so nothing
reads or writes the developer's real data and the clipboard path is predictable."""

from __future__ import annotations

import pytest

from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FixedClock, SeededKeyGenerator


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in ("CHANGEUP_TUI_DB", "SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "changeup.db"


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def keygen():
    return SeededKeyGenerator(7)


@pytest.fixture
async def store(db_path):
    store = SQLiteStore(db_path)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def service(store, clock, keygen):
    return KeyService(store, clock=clock, keygen=keygen, actor=Actor("tester", "local"))
