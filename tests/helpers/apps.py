"""The app for a test, built by the real factory (`build_app`) over a database in the test's
folder: a fixed clock and the seeded key generator unless told otherwise, a fixed actor, a fake
local clipboard (no SSH unless `environ` says so), animations off on the instance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from changeup_tui.core.config import Settings
from changeup_tui.core.context import Clock
from changeup_tui.core.credentials import KeyGenerator
from changeup_tui.core.models import Actor
from changeup_tui.testing import FixedClock, SeededKeyGenerator
from changeup_tui.tui.app import ChangeupApp, build_app
from changeup_tui.tui.clipboard import Copier

from .clipboard import FakeClipboard

TESTER = Actor("tester", "local")
KEYGEN_SEED = 7


def build_test_app(
    db_path: Path,
    *,
    clipboard: FakeClipboard | None = None,
    environ: Mapping[str, str] | None = None,
    copier: Copier | None = None,
    clock: Clock | None = None,
    keygen: KeyGenerator | None = None,
    actor: Actor = TESTER,
    theme: str | None = None,
    clipboard_clear_seconds: int = 0,
) -> ChangeupApp:
    """The app over `db_path`. The copier copies to `clipboard` (a new FakeClipboard if none)
    in a session whose environment is `environ` (empty: local, not SSH), unless a `copier` is
    given. `clock` defaults to a FixedClock, `keygen` to SeededKeyGenerator(7)."""
    if copier is None:
        local = clipboard if clipboard is not None else FakeClipboard()
        copier = Copier(local.copy, local.paste, environ=dict(environ or {}))
    app = build_app(
        Settings(db_path, clipboard_clear_seconds=clipboard_clear_seconds),
        clock=clock if clock is not None else FixedClock(),
        keygen=keygen if keygen is not None else SeededKeyGenerator(KEYGEN_SEED),
        actor=actor,
        copier=copier,
    )
    app.animation_level = "none"  # on the instance: TEXTUAL_ANIMATIONS in a conftest is too late
    if theme is not None:
        app.theme = theme
    return app
