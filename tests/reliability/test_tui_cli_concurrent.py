"""The TUI and the CLI writing to one database at once, for a minute: nothing lost.

The app runs headless (Pilot) and creates keys by keyboard, the whole flow each time (n, a name,
Enter, the reveal modal, copy, Done); meanwhile another process runs `changeup-tui keys create`
over and over. Afterwards every key either side was shown a secret for is stored, the counts of
keys and `key.created` events match what both sides reported, the database passes
`integrity_check`, and a sample of the secrets from each side verifies."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from changeup_tui.core.context import utc_now
from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from tests.helpers.apps import build_test_app
from tests.helpers.clipboard import FakeClipboard
from tests.helpers.pilot import wait_for

pytestmark = pytest.mark.slow

LIMIT_S = 30.0  # for each step of the TUI side, under the load of the CLI side

DURATION_S = float(os.environ.get("CHANGEUP_CONCURRENT_SECONDS", "60"))

# The CLI side: `changeup-tui keys create` as separate processes, one after another, until the
# deadline; prints one JSON line per key it was shown (test data from a throwaway database).
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


async def test_tui_and_cli_write_at_once_for_a_minute(db_path: Path):
    store = SQLiteStore(db_path)
    await store.open()  # migrate first, so both sides start on the same schema
    await store.close()

    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI_LOOP, str(db_path), str(DURATION_S),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    clipboard = FakeClipboard()
    app = build_test_app(db_path, clipboard=clipboard, clock=utc_now,
                         keygen=SeededKeyGenerator(4242, valid_checksum=True), actor=Actor("tui", "local"))
    tui_keys: dict[str, str] = {}
    deadline = time.monotonic() + DURATION_S
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), LIMIT_S)
        i = 0
        while time.monotonic() < deadline:
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal)
                           and isinstance(app.focused, Input), LIMIT_S)
            await pilot.press(*f"tui-{i}")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RevealModal), LIMIT_S)
            modal = app.screen
            client_id = str(modal.query_one("#reveal-client-id", Static).content)
            secret = str(modal.query_one("#reveal-secret", Static).content)
            await pilot.press("s")
            await wait_for(pilot, lambda shown=secret: clipboard.text == shown, LIMIT_S)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), LIMIT_S)
            tui_keys[client_id] = secret
            i += 1
        await app.workers.wait_for_complete()

    out, err = await asyncio.wait_for(cli.communicate(), timeout=120)
    assert cli.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    errors = [line["error"] for line in lines if "error" in line]
    assert errors == [], errors
    cli_keys = {line["client_id"]: line["secret"] for line in lines}
    assert len(tui_keys) >= 5 and len(cli_keys) >= 5, (len(tui_keys), len(cli_keys))

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT client_id FROM api_keys")}
        created_events = conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'key.created'"
        ).fetchone()[0]
        secrets_rows = conn.execute("SELECT count(*) FROM key_secrets").fetchone()[0]
    finally:
        conn.close()
    assert stored == set(tui_keys) | set(cli_keys)
    assert created_events == secrets_rows == len(tui_keys) + len(cli_keys)

    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("checker", "local"))
        sample = list(tui_keys.items())[::max(1, len(tui_keys) // 5)]
        sample += list(cli_keys.items())[::max(1, len(cli_keys) // 5)]
        for client_id, secret in sample:
            assert (await service.verify(client_id, secret)).ok, client_id
    finally:
        await store.close()
