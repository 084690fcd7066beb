"""Deterministic apps for the walkthrough snapshots: local time is UTC, a fixed clock, seeded key
generators, a fixed actor and account, a fake local clipboard (or an SSH session), animations and
cursor blink off, a fixed theme, and a database in tmp_path seeded through the service."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from changeup_tui.core.models import Account, Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FIXED_NOW, FixedClock, SeededKeyGenerator
from changeup_tui.tui.app import ChangeupApp
from tests.helpers.apps import build_test_app
from tests.helpers.isolation import isolated_env

__all__ = ["isolated_env"]  # each snapshot gets its own HOME: see tests/helpers/isolation.py

os.environ["TZ"] = "UTC"
time.tzset()

THEME = "textual-dark"
ACCOUNT = Account("Dana Whitfield", "dana@example.com", "Example Ltd")
ACTOR = Actor("dana", "203.0.113.7")
SSH_ENVIRON = {"SSH_CONNECTION": "203.0.113.7 50522 10.0.0.2 22"}

# (environment, name, created days before FIXED_NOW, last used minutes before FIXED_NOW or None),
# oldest first, as they would have been created.
KEYS = (
    (Environment.LIVE, "Production API", 30, 5),
    (Environment.TEST, "Billing service", 20, 120),
    (Environment.TEST, "Staging webhooks", 5, None),
    (Environment.LIVE, "Partner feed", 2, None),
    (Environment.TEST, "CI pipeline", 1, None),
)


async def _seed(path: Path, keys: tuple[tuple[Environment, str, int, int | None], ...]) -> None:
    store = SQLiteStore(path)
    await store.open()
    try:
        clock = FixedClock(FIXED_NOW - timedelta(days=40))
        service = KeyService(store, clock=clock, keygen=SeededKeyGenerator(1, valid_checksum=True),
                             actor=ACTOR)
        await service.save_account(ACCOUNT)
        for environment, name, days, used in keys:
            clock.now = FIXED_NOW - timedelta(days=days)
            created = await service.create(name, environment)
            if used is not None:
                clock.now = FIXED_NOW - timedelta(minutes=used)
                assert await service.verify(created.key.client_id, created.secret)
    finally:
        await store.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    asyncio.run(_seed(path, KEYS))
    return path


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "empty.db"
    asyncio.run(_seed(path, ()))
    return path


@pytest.fixture
def make_app(tmp_path: Path, seeded_template: Path, empty_template: Path) -> Callable[..., ChangeupApp]:
    def make(*, empty: bool = False, ssh: bool = False) -> ChangeupApp:
        db = tmp_path / "changeup.db"
        shutil.copyfile(empty_template if empty else seeded_template, db)
        return build_test_app(
            db, clock=FixedClock(), keygen=SeededKeyGenerator(2), actor=ACTOR,
            environ=SSH_ENVIRON if ssh else {}, theme=THEME,
        )

    return make
