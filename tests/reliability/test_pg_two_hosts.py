"""Two "hosts" on one PostgreSQL database at once: the TUI (Pilot, its own pool) creates keys by
keyboard, the whole flow each time, while another process runs `changeup-tui keys create` over
and over on its own connections. Afterwards every key either side was shown is stored, the
counts of keys, secrets and `key.created` events match, and a sample from each side verifies."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import pytest
from textual.widgets import Input, Static

from changeup_tui.core.config import PostgresTarget, Settings
from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.clipboard import FakeClipboard
from tests.helpers.pilot import wait_for
from tests.helpers.processes import child_env
from tests.store_backends import Backend

pytestmark = pytest.mark.slow

DURATION_S = float(os.environ.get("CHANGEUP_CONCURRENT_SECONDS", "30"))

CLI_LOOP = """
import json, subprocess, sys, time
db, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
i = 0
while time.monotonic() < deadline:
    out = subprocess.run(
        [sys.executable, "-m", "changeup_tui", "--db", db, "keys", "create",
         "--name", f"cli-{i}", "--env", "test", "--json"],
        capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        print(json.dumps({"error": out.stderr.strip()}), flush=True)
    else:
        made = json.loads(out.stdout)
        print(json.dumps({"client_id": made["client_id"], "secret": made["secret"]}), flush=True)
    i += 1
"""


async def test_tui_and_cli_on_two_hosts_at_once(pg_url):
    from changeup_tui.tui.app import build_app
    from changeup_tui.tui.clipboard import Copier
    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

    store = PostgresStore(pg_url)
    await store.open()  # the schema first, so both sides start on it
    await store.close()
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI_LOOP, pg_url, str(DURATION_S),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=child_env(),
    )
    clipboard = FakeClipboard()
    app = build_app(
        Settings(PostgresTarget(pg_url)), keygen=SeededKeyGenerator(4243, valid_checksum=True),
        actor=Actor("tui", "host-a"),
        copier=Copier(clipboard.copy, clipboard.paste, environ={}),
    )
    app.animation_level = "none"
    tui_keys: dict[str, str] = {}
    deadline = time.monotonic() + DURATION_S
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), limit=30)
        i = 0
        while time.monotonic() < deadline:
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal)
                           and isinstance(app.focused, Input), limit=30)
            await pilot.press(*f"tui-{i}")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RevealModal), limit=30)
            modal = app.screen
            client_id = str(modal.query_one("#reveal-client-id", Static).content)
            secret = str(modal.query_one("#reveal-secret", Static).content)
            await pilot.press("s")
            await wait_for(pilot, lambda shown=secret: clipboard.text == shown, limit=30)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), limit=30)
            tui_keys[client_id] = secret
            i += 1
        await app.workers.wait_for_complete()

    out, err = await asyncio.wait_for(cli.communicate(), timeout=120)
    assert cli.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert [line["error"] for line in lines if "error" in line] == []
    cli_keys = {line["client_id"]: line["secret"] for line in lines}
    assert len(tui_keys) >= 2 and len(cli_keys) >= 2, (len(tui_keys), len(cli_keys))

    db = Backend("postgres", pg_url)
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    assert stored == set(tui_keys) | set(cli_keys)
    total = len(tui_keys) + len(cli_keys)
    assert db.raw("SELECT count(*) FROM key_secrets") == [(total,)]
    assert db.raw("SELECT count(*) FROM audit_events WHERE action = 'key.created'") == [(total,)]

    store = PostgresStore(pg_url)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("checker", "local"))
        sample = list(tui_keys.items())[::max(1, len(tui_keys) // 4)]
        sample += list(cli_keys.items())[::max(1, len(cli_keys) // 4)]
        for client_id, secret in sample:
            assert (await service.verify(client_id, secret)).ok, client_id
    finally:
        await store.close()
