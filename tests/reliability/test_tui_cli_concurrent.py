"""The TUI and the CLI writing to one database at once, for a minute (half a minute on PostgreSQL:
two "hosts", two processes with their own connections): nothing lost. On each store.

The app runs headless (Pilot) and creates keys by keyboard, the whole flow each time (n, a name,
Enter, the reveal modal, copy, Done); meanwhile another process runs `changeup-tui keys create`
over and over. Afterwards every key either side was shown a secret for is stored, the counts of
keys, secrets and `key.created` events match what both sides reported, an SQLite file passes
`integrity_check`, and a sample of the secrets from each side verifies."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import pytest
from textual.widgets import Input, Static

from changeup_tui.core.config import PostgresTarget
from changeup_tui.core.context import utc_now
from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.reveal_modal import RevealModal
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from tests.helpers.apps import build_test_app
from tests.helpers.clipboard import FakeClipboard
from tests.helpers.pilot import wait_for
from tests.helpers.processes import child_env
from tests.store_backends import Backend

pytestmark = pytest.mark.slow

LIMIT_S = 30.0  # for each step of the TUI side, under the load of the CLI side

DURATION_S = {
    kind: float(os.environ.get("CHANGEUP_CONCURRENT_SECONDS", default))
    for kind, default in (("sqlite", "60"), ("postgres", "30"))
}
MIN_KEYS = {"sqlite": 5, "postgres": 2}
"""Keys each side must have made: fewer on PostgreSQL, in half the time, with its round trips."""

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


async def test_tui_and_cli_write_at_once_for_a_minute(each_db: Backend):
    db = each_db
    store = db.make_store()
    await store.open()  # migrate first, so both sides start on the same schema
    await store.close()
    duration = DURATION_S[db.kind]

    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI_LOOP, str(db.target), str(duration),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=child_env(),
    )
    clipboard = FakeClipboard()
    target = PostgresTarget(str(db.target)) if db.is_postgres else db.target
    app = build_test_app(target, clipboard=clipboard, clock=utc_now,  # type: ignore[arg-type]
                         keygen=SeededKeyGenerator(4242, valid_checksum=True), actor=Actor("tui", "local"))
    tui_keys: dict[str, str] = {}
    deadline = time.monotonic() + duration
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
    least = MIN_KEYS[db.kind]
    assert len(tui_keys) >= least and len(cli_keys) >= least, (len(tui_keys), len(cli_keys))

    if not db.is_postgres:
        assert db.raw("PRAGMA integrity_check") == [("ok",)]
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    [(created_events,)] = db.raw("SELECT count(*) FROM audit_events WHERE action = 'key.created'")
    [(secrets_rows,)] = db.raw("SELECT count(*) FROM key_secrets")
    assert stored == set(tui_keys) | set(cli_keys)
    assert created_events == secrets_rows == len(tui_keys) + len(cli_keys)

    store = db.make_store(create=False)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("checker", "local"))
        sample = list(tui_keys.items())[::max(1, len(tui_keys) // 5)]
        sample += list(cli_keys.items())[::max(1, len(cli_keys) // 5)]
        for client_id, secret in sample:
            assert (await service.verify(client_id, secret)).ok, client_id
    finally:
        await store.close()
