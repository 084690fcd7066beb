"""kill -9 in the middle of creating keys on PostgreSQL, many times over, on one database (the
same as test_kill9.py on SQLite, against the test server).

Each round starts a process that creates keys in a loop through the real KeyService and, only
after `create()` returned (after COMMIT), writes the Client ID and the Secret Key to its stdout,
a pipe to this test (SecureKeyGenerator: real secrets, for a throwaway database, never written to
a file). The test kills it with SIGKILL at a random moment: while it connects or migrates, while
it hashes, inside a transaction. Afterwards no key is half-written (the server rolled back what
the dead client left open), the server holds no session of a killed client, a new writer goes
through, and every key whose secret was shown is stored and verifies."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from changeup_tui.core import hashing
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from tests.helpers.processes import child_env
from tests.store_backends import Backend

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys

    from changeup_tui.core import hashing
    from changeup_tui.core.models import Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.postgres import PostgresStore

    url, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "write-heavy":
        from argon2 import PasswordHasher, Type
        hashing._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

    async def main():
        store = PostgresStore(url)
        await store.open()
        service = KeyService(store)  # SecureKeyGenerator: real secrets for a throwaway DB
        os.write(1, b"open\\n")
        i = 0
        while True:
            env = Environment.TEST if i % 2 else Environment.LIVE
            created = await service.create(f"kill9 {tag} {i}", env)
            # Shown only now, after create() returned: the row and its audit event committed.
            line = f"{created.key.client_id} {created.secret.reveal()}\\n"
            os.write(1, line.encode())
            i += 1

    asyncio.run(main())
    """
)

ROUNDS = [("real", i) for i in range(6)] + [("write-heavy", i) for i in range(8)]

ORPHANS = {
    "key_without_secret": "SELECT client_id FROM api_keys k WHERE NOT EXISTS "
                          "(SELECT 1 FROM key_secrets s WHERE s.key_id = k.id)",
    "key_without_event": "SELECT client_id FROM api_keys k WHERE NOT EXISTS (SELECT 1 FROM "
                         "audit_events a WHERE a.client_id = k.client_id AND a.action = 'key.created')",
    "event_without_key": "SELECT client_id FROM audit_events a WHERE a.action = 'key.created' AND "
                         "NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.client_id = a.client_id)",
}


def run_round(url: str, mode: str, index: int, rng: random.Random) -> list[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, mode, f"{mode}-{index}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
    )
    # "real": from the very start, so some kills land while connecting or migrating.
    time.sleep(rng.uniform(0.05, 1.5) if mode == "real" else rng.uniform(0.3, 0.8))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    if proc.returncode != -signal.SIGKILL:  # it died by itself: that is a failure to report
        pytest.fail(f"child exited {proc.returncode} before the kill: {err.decode()[-2000:]}")
    shown: list[tuple[str, str]] = []
    for raw in out.split(b"\n")[:-1]:  # only complete lines were shown
        line = raw.decode()
        if line != "open":
            client_id, secret = line.split(" ")
            shown.append((client_id, secret))
    return shown


async def test_kill9_while_creating_keys_on_the_server(pg_url, monkeypatch):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    shown: list[tuple[str, str]] = []
    per_mode = {"real": 0, "write-heavy": 0}
    for mode, index in ROUNDS:
        keys = run_round(pg_url, mode, index, rng)
        per_mode[mode] += len(keys)
        shown += keys
    assert per_mode["write-heavy"] >= 30, per_mode  # the kills really interrupted work

    db = Backend("postgres", pg_url)
    assert {name: db.raw(sql) for name, sql in ORPHANS.items()} == {name: [] for name in ORPHANS}
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    missing = [cid for cid, _ in shown if cid not in stored]
    assert not missing, f"{len(missing)} keys were shown but not stored"
    assert len(stored) >= len(shown)  # a committed key the child had no time to show is allowed

    # Nothing a killed client opened is left on the server (its backend ended with the socket,
    # its transaction rolled back), and a writer now goes through.
    deadline = time.monotonic() + 10
    while left := db.raw("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()"):
        assert time.monotonic() < deadline, f"killed clients' sessions still open: {left}"
        await asyncio.sleep(0.1)
    store = PostgresStore(pg_url)
    await store.open()
    try:
        monkeypatch.setattr(hashing, "needs_rehash", lambda phc: False)  # cheap hashes: no upgrade
        service = KeyService(store, actor=Actor("tester", "local"))
        await service.create("after the kills", Environment.TEST)
        failures = []
        for client_id, secret in shown:
            result = await service.verify(client_id, secret)
            if not result:
                failures.append((client_id, result.reason))
        assert not failures, failures[:5]
    finally:
        await store.close()
    print(f"pg kill9: {len(ROUNDS)} rounds, keys shown {per_mode}, stored {len(stored)}")
