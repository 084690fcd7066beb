"""Start-up as the operator meets it: the real `changeup-tui` in a pseudo-terminal, read through a
terminal emulator. The first key shows; keys typed while the app starts (before anything is
drawn, or the instant the first frame is) are not lost and do what they do on the page: `n`
opens the name modal over the page (not into a hidden field), `?` opens Help on top of the page
(never under it), `e` switches to Live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FixedClock, SeededKeyGenerator

from .pty_app import PtyApp

pytestmark = pytest.mark.slow

FILTER_PLACEHOLDER = "Filter by name or Client ID"


@dataclass(frozen=True)
class Keys:
    db: Path
    test: str
    """The Client ID of the one Test key."""
    live: str
    """The Client ID of the one Live key."""


@pytest.fixture
async def keys(db_path: Path) -> Keys:
    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(store, clock=FixedClock(), keygen=SeededKeyGenerator(11),
                             actor=Actor("tester", "local"))
        test = await service.create("Billing", Environment.TEST)
        live = await service.create("Payments", Environment.LIVE)
    finally:
        await store.close()
    return Keys(db_path, test.key.client_id, live.key.client_id)


def start(keys: Keys) -> PtyApp:
    return PtyApp.module("--db", str(keys.db))


def type_ahead(app: PtyApp, key: str, when: str) -> None:
    """`key` sent at once after the spawn, or the instant the first frame shows the header."""
    if when == "at the first frame":
        app.wait_for(lambda text: "ChangeUp" in text, timeout=30)
    app.child.send(key)


def test_the_first_key_shows(keys: Keys) -> None:
    app = start(keys)
    try:
        text = app.wait_for(keys.test, timeout=30)
        assert keys.live not in text  # Test is the first environment
        assert "Billing" in text
        assert app.quit() == 0
    finally:
        app.kill()


WHEN = ["before anything is drawn", "at the first frame"]


@pytest.mark.parametrize("when", WHEN)
def test_n_typed_during_start_up_opens_the_name_modal_over_the_page(keys: Keys, when: str) -> None:
    app = start(keys)
    try:
        type_ahead(app, "n", when)
        app.wait_for("e.g. Billing service", timeout=30)  # the name field's placeholder
        app.press("escape")
        text = app.wait_for(lambda t: "e.g. Billing service" not in t and keys.test in t)
        assert FILTER_PLACEHOLDER not in text  # the key did not open (or type into) the filter
        assert app.quit() == 0
    finally:
        app.kill()


@pytest.mark.parametrize("when", WHEN)
def test_help_asked_for_during_start_up_ends_on_top_of_the_page(keys: Keys, when: str) -> None:
    app = start(keys)
    try:
        type_ahead(app, "?", when)
        app.wait_for("Keyboard", timeout=30)  # the Help screen's title
        app.pump(0.5)
        assert "Keyboard" in app.text(), "Help was covered by the page"
        app.press("escape")
        text = app.wait_for(lambda t: "Keyboard" not in t and keys.test in t)
        assert "API Keys" in text
        assert app.quit() == 0
    finally:
        app.kill()


@pytest.mark.parametrize("when", WHEN)
def test_e_typed_during_start_up_switches_to_live(keys: Keys, when: str) -> None:
    app = start(keys)
    try:
        type_ahead(app, "e", when)
        text = app.wait_for(keys.live, timeout=30)
        assert "Live API Keys" in text
        assert keys.test not in text
        assert app.quit() == 0
    finally:
        app.kill()
