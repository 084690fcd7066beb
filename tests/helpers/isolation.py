"""The one fixture that keeps a test away from the developer's own data, used by tests/conftest.py
and snapshots/conftest.py (a conftest that imports a fixture provides it)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Its own HOME and XDG folders for every test, and no database or SSH variables: nothing reads
    or writes the developer's real data, the clipboard path is predictable, and the environment an
    operator chose last (kept in the user's state folder) does not carry from one test, or one
    snapshot, to the next."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in ("CHANGEUP_TUI_DB", "SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return home
