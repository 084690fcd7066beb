"""kill -9 in the middle of creating keys, many times over, on one database.

Each round starts a process that creates keys in a loop through the real KeyService and, only
after `create()` returned (after COMMIT), writes the Client ID and the Secret Key to its stdout,
a pipe to this test (the secrets come from SecureKeyGenerator, for a throwaway database, and are
never written to a file). The test kills it with SIGKILL at a random moment. Afterwards the
database passes `PRAGMA integrity_check`, no key is half-written, and every key whose secret
was shown is stored and verifies.

Two kinds of rounds:
- "real": the pinned argon2 parameters, as shipped. Most of the time goes to hashing, so most
  kills land there, some during opening, migrating or committing.
- "write-heavy": the child swaps in a cheap argon2 hasher, so almost all its time goes to the
  BEGIN IMMEDIATE ... COMMIT path and its fsyncs, and most kills land inside a transaction.
"""

from __future__ import annotations

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
from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from tests.helpers.processes import child_env

from .support import client_ids, integrity, no_orphans, orphans

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys

    from changeup_tui.core import hashing
    from changeup_tui.core.models import Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.sqlite import SQLiteStore

    db_path, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "write-heavy":
        from argon2 import PasswordHasher, Type
        hashing._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

    async def main():
        store = SQLiteStore(db_path)
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

ROUNDS = [("real", i) for i in range(14)] + [("write-heavy", i) for i in range(12)]


def run_round(db_path, mode: str, index: int, rng: random.Random) -> list[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), mode, f"{mode}-{index}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
    )
    if mode == "real":
        # From the very start: some kills land while opening or migrating the database.
        delay = rng.uniform(0.05, 1.5)
    else:
        delay = rng.uniform(0.2, 0.6)
    time.sleep(delay)
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


async def test_kill9_while_creating_keys(db_path, monkeypatch):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    shown: list[tuple[str, str]] = []
    per_mode = {"real": 0, "write-heavy": 0}
    started = time.monotonic()
    for mode, index in ROUNDS:
        keys = run_round(db_path, mode, index, rng)
        per_mode[mode] += len(keys)
        shown += keys
    elapsed = time.monotonic() - started

    # The kills really interrupted work: many keys were shown, in both kinds of rounds.
    assert per_mode["real"] >= 5, per_mode
    assert per_mode["write-heavy"] >= 50, per_mode

    # Raw checks first, before the app's own code touches the file again.
    assert integrity(db_path) == "ok"
    assert no_orphans(db_path), orphans(db_path)
    stored = client_ids(db_path)
    missing = [cid for cid, _ in shown if cid not in stored]
    assert not missing, f"{len(missing)} keys were shown but not stored"
    # A committed key the child had no time to show is allowed (nobody holds its secret).
    assert len(stored) >= len(shown)

    # Every shown secret verifies, through the service. The write-heavy keys' hashes have cheap
    # parameters; a verify would upgrade each (a full argon2 hash): skip that side effect here.
    monkeypatch.setattr(hashing, "needs_rehash", lambda phc: False)
    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("tester", "local"))
        failures = []
        for client_id, secret in shown:
            result = await service.verify(client_id, secret)
            if not result:
                failures.append((client_id, result.reason))
        assert not failures, failures[:5]
    finally:
        await store.close()

    assert integrity(db_path) == "ok"
    assert file_modes(db_path) <= {0o600}
    print(f"kill9: {len(ROUNDS)} rounds in {elapsed:.1f} s, keys shown {per_mode}, "
          f"stored {len(stored)}")
