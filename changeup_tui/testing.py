"""Deterministic stand-ins for tests, snapshots and benchmarks: a clock you set by hand and the
seeded key generator. Never wire these into a real run. (The tests' own helpers live in
tests/helpers/, outside the shipped package.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from changeup_tui.core.credentials import SeededKeyGenerator

__all__ = ["FIXED_NOW", "FixedClock", "SeededKeyGenerator"]

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
