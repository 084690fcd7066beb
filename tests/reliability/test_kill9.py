"""kill -9 in the middle of creating keys, many times over, on one database: on each store (an
SQLite file; a database on the test PostgreSQL server).

Each round starts a process that creates keys in a loop through the real KeyService and, only
after `create()` returned (after COMMIT), writes the Client ID and the Secret Key to its stdout,
a pipe to this test (the secrets come from SecureKeyGenerator, for a throwaway database, and are
never written to a file). The test kills it with SIGKILL at a random moment: while it opens,
connects or migrates, while it hashes, inside a transaction. Afterwards no key is half-written,
every key whose secret was shown is stored and verifies, and a new writer goes through; an SQLite
file passes `PRAGMA integrity_check` and keeps its 0600 modes; the server holds no session of a
killed client (it rolled back what the dead client left open).

Two kinds of rounds:
- "real": the pinned argon2 parameters, as shipped. Most of the time goes to hashing, so most
  kills land there, some during opening, migrating or committing.
- "write-heavy": the child swaps in a cheap argon2 hasher, so almost all its time goes to the
  transaction (BEGIN IMMEDIATE ... COMMIT and its fsyncs on SQLite), and most kills land inside
  one.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from changeup_tui.core import hashing
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from tests.helpers.processes import child_env
from tests.store_backends import Backend

from .support import integrity

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys

    from changeup_tui.core import hashing
    from changeup_tui.core.models import Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.factory import make_store

    target, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "write-heavy":
        from argon2 import PasswordHasher, Type
        hashing._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

    async def main():
        store = make_store(target)
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

ROUNDS = {
    "sqlite": [("real", i) for i in range(14)] + [("write-heavy", i) for i in range(12)],
    "postgres": [("real", i) for i in range(6)] + [("write-heavy", i) for i in range(8)],
}
WRITE_HEAVY_DELAY_S = {"sqlite": (0.2, 0.6), "postgres": (0.3, 0.8)}
"""When a write-heavy round is killed: after the child opened its store (a connection to the
server takes longer than a file)."""
LEAST_SHOWN = {"sqlite": {"real": 5, "write-heavy": 50}, "postgres": {"real": 0, "write-heavy": 30}}
"""Keys that must have been shown in all the rounds of a kind: the kills really interrupted work."""

ORPHANS = {
    "key_without_secret": "SELECT client_id FROM api_keys k WHERE NOT EXISTS "
                          "(SELECT 1 FROM key_secrets s WHERE s.key_id = k.id)",
    "key_without_event": "SELECT client_id FROM api_keys k WHERE NOT EXISTS (SELECT 1 FROM "
                         "audit_events a WHERE a.client_id = k.client_id AND a.action = 'key.created')",
    "secret_without_key": "SELECT id FROM key_secrets s WHERE NOT EXISTS "
                          "(SELECT 1 FROM api_keys k WHERE k.id = s.key_id)",
    "event_without_key": "SELECT client_id FROM audit_events a WHERE a.action = 'key.created' AND "
                         "NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.client_id = a.client_id)",
}
"""Rows that a half-written create would leave."""


def run_round(db: Backend, mode: str, index: int, rng: random.Random) -> list[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db.target), mode, f"{mode}-{index}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
    )
    if mode == "real":
        # From the very start: some kills land while opening or migrating the database.
        delay = rng.uniform(0.05, 1.5)
    else:
        delay = rng.uniform(*WRITE_HEAVY_DELAY_S[db.kind])
    time.sleep(delay)  # the kill's random moment: the behaviour under test, not a wait
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    if proc.returncode != -signal.SIGKILL:  # it died by itself: that is a failure to report
        pytest.fail(f"child exited {proc.returncode} before the kill: {err.decode()[-2000:]}")
    shown: list[tuple[str, str]] = []
    for raw in out.split(b"\n")[:-1]:  # only complete lines were shown
        line = raw.decode()
        if line == "open":
            continue
        client_id, secret = line.split(" ")
        shown.append((client_id, secret))
    return shown


def file_modes(db_path) -> set[int]:
    """The modes of the database, -wal and -shm files that exist."""
    modes = set()
    for suffix in ("", "-wal", "-shm"):
        path = f"{db_path}{suffix}"
        if os.path.exists(path):
            modes.add(stat.S_IMODE(os.stat(path).st_mode))
    return modes


async def _no_session_left(db: Backend) -> None:
    """Nothing a killed client opened is left on the server (its backend ended with the socket,
    its transaction rolled back): waits until the server has seen every killed client go."""
    deadline = time.monotonic() + 10
    while left := db.raw("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()"):
        assert time.monotonic() < deadline, f"killed clients' sessions still open: {left}"
        await asyncio.sleep(0.1)


async def test_kill9_while_creating_keys(each_db: Backend, monkeypatch):
    db = each_db
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    shown: list[tuple[str, str]] = []
    per_mode = {"real": 0, "write-heavy": 0}
    started = time.monotonic()
    for mode, index in ROUNDS[db.kind]:
        keys = run_round(db, mode, index, rng)
        per_mode[mode] += len(keys)
        shown += keys
    elapsed = time.monotonic() - started

    least = LEAST_SHOWN[db.kind]
    assert all(per_mode[mode] >= least[mode] for mode in per_mode), per_mode

    # Raw checks first, before the app's own code touches the database again.
    if not db.is_postgres:
        assert integrity(db.target) == "ok"
    assert {name: db.raw(sql) for name, sql in ORPHANS.items()} == {name: [] for name in ORPHANS}
    stored = {row[0] for row in db.raw("SELECT client_id FROM api_keys")}
    missing = [cid for cid, _ in shown if cid not in stored]
    assert not missing, f"{len(missing)} keys were shown but not stored"
    # A committed key the child had no time to show is allowed (nobody holds its secret).
    assert len(stored) >= len(shown)
    if db.is_postgres:
        await _no_session_left(db)

    # A writer goes through, and every shown secret verifies, through the service. The
    # write-heavy keys' hashes have cheap parameters; a verify would upgrade each (a full argon2
    # hash): skip that side effect here.
    monkeypatch.setattr(hashing, "needs_rehash", lambda phc: False)
    store = db.make_store(create=False)
    await store.open()
    try:
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

    if not db.is_postgres:
        assert integrity(db.target) == "ok"
        assert file_modes(db.target) <= {0o600}
    print(f"kill9 on {db.kind}: {len(ROUNDS[db.kind])} rounds in {elapsed:.1f} s, keys shown "
          f"{per_mode}, stored {len(stored)}")
