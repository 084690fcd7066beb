"""A hang-up (SIGHUP: the SSH connection dropped) while the reveal modal shows a new Secret Key
cannot ask anything: the key stays marked "secret never confirmed", in the TUI's list, in
`keys show` and `keys list`, so the operator knows to roll it. The real app, in a pty."""

from __future__ import annotations

import asyncio
import json
import re
import signal

import pytest

from changeup_tui.core.models import NEVER_CONFIRMED, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from tests.helpers.processes import run_cli

from .pty_app import PtyApp

pytestmark = pytest.mark.slow

SECRET_RE = re.compile(r"cu_test_sk_[0-9A-Za-z]{49}")


async def _keys(db_path) -> dict[str, tuple[str, bool]]:
    store = SQLiteStore(db_path)
    await store.open()
    try:
        page = await KeyService(store).list(Environment.TEST)
    finally:
        await store.close()
    return {k.name: (k.client_id, k.secret_confirmed) for k in page.keys}


def _create_in_tui(app: PtyApp, name: str) -> None:
    app.press("n", pause=0.4)
    app.wait_for("Create New API Key")
    app.type(name)
    app.press("enter")
    app.wait_for(lambda t: SECRET_RE.search(t) is not None, timeout=30)


def test_sighup_while_the_secret_shows_leaves_the_key_marked(db_path):
    app = PtyApp.module("--db", str(db_path))
    try:
        app.wait_for("API Keys")
        _create_in_tui(app, "hung up")
        app.child.kill(signal.SIGHUP)
        app.wait_exit()
    finally:
        app.kill()
    keys = asyncio.run(_keys(db_path))
    client_id, confirmed = keys["hung up"]
    assert confirmed is False

    shown = run_cli("keys", "show", client_id, db=db_path)
    assert shown.code == 0, shown.stderr
    assert NEVER_CONFIRMED in shown.stdout
    listed = run_cli("keys", "list", db=db_path)
    assert NEVER_CONFIRMED in listed.stdout
    as_json = json.loads(run_cli("keys", "list", "--json", db=db_path).stdout)
    assert [k["secret_confirmed"] for k in as_json] == [False]

    again = PtyApp.module("--db", str(db_path))
    try:
        screen = again.wait_for(NEVER_CONFIRMED)
        assert "hung up" in screen
        # A key whose showing ends normally is not marked (copied: Escape closes at once).
        _create_in_tui(again, "kept")
        again.press("escape", pause=0.4)
        again.wait_for("Secret Key not copied")
        again.press("tab", "enter")
        again.wait_for(lambda t: "kept" in t and "Copy your Secret Key" not in t)
        assert again.quit() == 0
    finally:
        again.kill()
    keys = asyncio.run(_keys(db_path))
    assert keys["kept"][1] is True
    assert keys["hung up"][1] is False
