"""Fixtures for the Pilot tests: the app built by the real factory over a database in tmp_path,
with the fixed clock, the seeded key generator, a fixed actor and a fake local clipboard."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ui_helpers import FakeClipboard

from changeup_tui.core.config import Settings
from changeup_tui.core.models import Actor
from changeup_tui.tui.app import ChangeupApp, build_app
from changeup_tui.tui.clipboard import Copier


@pytest.fixture
def fake_clipboard() -> FakeClipboard:
    return FakeClipboard()


@pytest.fixture
def make_app(db_path, clock, keygen, fake_clipboard) -> Callable[..., ChangeupApp]:
    def make(*, copier: Copier | None = None, environ: dict | None = None) -> ChangeupApp:
        copier = copier or Copier(fake_clipboard.copy, fake_clipboard.paste, environ=environ or {})
        app = build_app(
            Settings(db_path), clock=clock, keygen=keygen, actor=Actor("tester", "local"),
            copier=copier,
        )
        app.animation_level = "none"
        return app

    return make
