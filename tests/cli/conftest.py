"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database path in a folder that does not exist yet (the CLI creates both)."""
    return tmp_path / "data" / "changeup.db"
