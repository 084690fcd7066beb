"""Deterministic stand-ins for tests, snapshots and benchmarks: a clock you set by hand and the
seeded key generator. Never wire these into a real run."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from changeup_tui.core.credentials import SeededKeyGenerator

__all__ = ["FIXED_NOW", "FixedClock", "SeededKeyGenerator", "child_env"]

FIXED_NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime = FIXED_NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self.now += delta if delta is not None else timedelta(**kwargs)
        return self.now


PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def child_env(**extra: str | None) -> dict[str, str]:
    """The environment for a child process in a test: this one's (the test's own HOME and XDG
    folders), without CHANGEUP_TUI_DB, with this package importable whatever the working folder.
    `extra` sets variables, or removes those given as None."""
    env = dict(os.environ)
    env.pop("CHANGEUP_TUI_DB", None)
    env["PYTHONPATH"] = PACKAGE_PARENT
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
