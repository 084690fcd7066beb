"""A create cancelled in the middle of its transaction leaves no row and holds no lock: another
process writes at once, and this process can write again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import changeup_tui
from changeup_tui.core.models import Environment

PACKAGE_PARENT = str(Path(changeup_tui.__file__).resolve().parent.parent)

# Another process, with no busy timeout at all: it writes now or reports that it could not.
WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("PRAGMA busy_timeout = 0")
try:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('probe', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (sys.argv[2],))
    conn.execute("COMMIT")
except sqlite3.OperationalError as exc:
    print(exc)
    sys.exit(3)
print("ok")
"""


def other_process_writes(db: Path, value: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(db), value], capture_output=True, text=True, timeout=30
    )


def _counts(db: Path) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("api_keys", "key_secrets", "audit_events")
        }
    finally:
        conn.close()


async def _in_transaction_counts(store) -> dict[str, int]:
    """What this connection sees inside its own open transaction."""
    db = store._conn()
    counts = {}
    for table in ("api_keys", "key_secrets", "audit_events"):
        cursor = await db.execute(f"SELECT count(*) FROM {table}")
        counts[table] = (await cursor.fetchone())[0]
    return counts


@pytest.mark.slow
async def test_create_cancelled_mid_transaction_leaves_nothing_and_holds_no_lock(
    service, store, db_path, monkeypatch
):
    kept = await service.create("kept", Environment.TEST)
    before = _counts(db_path)
    assert before == {"api_keys": 1, "key_secrets": 1, "audit_events": 1}

    reached = asyncio.Event()
    never = asyncio.Event()
    original_audit = store._audit

    async def audit_then_hang(db, event):
        await original_audit(db, event)  # the key, its secret and its event are all inserted
        reached.set()
        await never.wait()  # ... and the transaction is still open when the task is cancelled

    monkeypatch.setattr(store, "_audit", audit_then_hang)
    task = asyncio.create_task(service.create("cancelled", Environment.LIVE))
    await asyncio.wait_for(reached.wait(), timeout=30)

    # Really in the middle: this connection sees the uncommitted rows, and it holds the write
    # lock (another process cannot write).
    assert store._conn().in_transaction
    assert await _in_transaction_counts(store) == {
        "api_keys": 2, "key_secrets": 2, "audit_events": 2
    }
    blocked = await asyncio.to_thread(other_process_writes, db_path, "while held")
    assert blocked.returncode == 3 and "locked" in blocked.stdout, blocked

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.setattr(store, "_audit", original_audit)

    # No row: no key, no secret, no audit event, seen from this connection and from outside.
    assert not store._conn().in_transaction
    assert await _in_transaction_counts(store) == before
    assert _counts(db_path) == before
    page = await service.list()
    assert [k.client_id for k in page.keys] == [kept.key.client_id]
    assert [e.action for e in await service.audit()] == ["key.created"]

    # No lock: another process writes at once, with no busy timeout ...
    started = time.monotonic()
    result = await asyncio.to_thread(other_process_writes, db_path, "after cancel")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result
    assert time.monotonic() - started < 5
    # ... so does the command line (its 5 s busy timeout would show as a wait and exit 2) ...
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    env.pop("CHANGEUP_TUI_DB", None)
    started = time.monotonic()
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "changeup_tui", "--db", str(db_path), "keys", "create",
         "--name", "from the cli", "--env", "test", "--json"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60,
    )
    cli_elapsed = time.monotonic() - started
    assert cli.returncode == 0, cli.stderr
    assert cli_elapsed < 4.5, cli_elapsed
    from_cli = json.loads(cli.stdout)
    # ... and this process again: the asyncio lock was released too.
    again = await asyncio.wait_for(service.create("cancelled", Environment.LIVE), timeout=30)
    assert await service.verify(again.key.client_id, again.secret)
    assert await service.verify(from_cli["client_id"], from_cli["secret"])
    assert await service.verify(kept.key.client_id, kept.secret)
    assert _counts(db_path) == {"api_keys": 3, "key_secrets": 3, "audit_events": 3}


@pytest.mark.slow
async def test_cancelled_while_waiting_for_the_write_lock_leaves_nothing(
    service, store, db_path, monkeypatch
):
    """A second create queued behind a hanging one: cancelling both leaves nothing, and the
    store writes again."""
    reached = asyncio.Event()
    never = asyncio.Event()
    original_audit = store._audit

    async def audit_then_hang(db, event):
        await original_audit(db, event)
        reached.set()
        await never.wait()

    monkeypatch.setattr(store, "_audit", audit_then_hang)
    first = asyncio.create_task(service.create("first", Environment.TEST))
    await asyncio.wait_for(reached.wait(), timeout=30)
    second = asyncio.create_task(service.create("second", Environment.TEST))
    await asyncio.sleep(0.5)  # its hash is done (or nearly): it waits on the store's lock
    second.cancel()
    first.cancel()
    for task in (first, second):
        with pytest.raises(asyncio.CancelledError):
            await task
    monkeypatch.setattr(store, "_audit", original_audit)
    assert _counts(db_path) == {"api_keys": 0, "key_secrets": 0, "audit_events": 0}
    assert (await asyncio.to_thread(other_process_writes, db_path, "after")).returncode == 0
    created = await asyncio.wait_for(service.create("second", Environment.TEST), timeout=30)
    assert await service.verify(created.key.client_id, created.secret)


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@pytest.mark.slow
async def test_cancel_while_begin_waits_for_another_process_leaves_no_transaction(
    store, service, db_path
):
    """A write cancelled while BEGIN IMMEDIATE waits for another process's lock must not leave
    a transaction open once that BEGIN finally succeeds (the late BEGIN is rolled back): other
    processes can write afterwards, and so can this store."""
    holder = subprocess.Popen(  # noqa: ASYNC220 - a plain child process, read line by line
        [sys.executable, "-c", HOLDER, str(db_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        task = asyncio.ensure_future(store.set_setting("probe", "cancelled"))
        await asyncio.sleep(0.3)  # BEGIN IMMEDIATE is now waiting on the busy handler
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
        await asyncio.sleep(0.3)  # the late BEGIN lands on aiosqlite's thread, then the ROLLBACK
        assert not store._conn().in_transaction
        assert other_process_writes(db_path, "after").returncode == 0
        await store.set_setting("probe", "written")
        assert await store.get_setting("probe") == "written"
    finally:
        holder.kill()
