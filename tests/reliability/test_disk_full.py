"""A full disk: creating keys until the writes fail gives a clear one-line error (exit 2 from the
command line), and nothing is half-written: the database passes integrity_check, every key
reported created is stored and verifies, no key row lacks its secret row or its audit event,
and no key was saved that was reported as failed.

Two ways to fill the disk:
- a file-size limit (RLIMIT_FSIZE in the child, SIGXFSZ ignored, so a write past it fails with
  EFBIG, which SQLite reports as SQLITE_FULL); works everywhere;
- a real 512 KiB tmpfs (ENOSPC), where this machine lets the test mount one; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest

from changeup_tui.core.models import Actor
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from tests.helpers.processes import child_env, run_cli

from .hostile import migrate
from .support import client_ids, integrity, no_orphans, orphans

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import asyncio, json, os, sys

    from changeup_tui.core.errors import ChangeupError
    from changeup_tui.core.models import Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.sqlite import SQLiteStore

    def emit(obj):
        os.write(1, (json.dumps(obj) + "\\n").encode())

    async def main():
        store = SQLiteStore(sys.argv[1])
        await store.open()
        service = KeyService(store)
        errors = []
        try:
            for i in range(400):
                try:
                    created = await service.create(f"fill {i}", Environment.TEST)
                except ChangeupError as exc:
                    errors.append({"type": type(exc).__name__, "message": str(exc)})
                    if len(errors) == 2:  # the failure, then a retry that fails the same way
                        break
                    continue
                emit({"client_id": created.key.client_id, "secret": created.secret.reveal()})
            # Reading still works on the full disk.
            emit({"listed": await service.count()})
        finally:
            await store.close()
        emit({"errors": errors})

    asyncio.run(main())
    """
)


def limit_file_size(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def fill(db_path, preexec_fn=None) -> tuple[list[tuple[str, str]], list[dict], int]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db_path)], capture_output=True, env=child_env(),
        preexec_fn=preexec_fn, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    shown, errors, listed = [], [], None
    for line in proc.stdout.decode().splitlines():
        obj = json.loads(line)
        if "client_id" in obj:
            shown.append((obj["client_id"], obj["secret"]))
        elif "errors" in obj:
            errors = obj["errors"]
        elif "listed" in obj:
            listed = obj["listed"]
    return shown, errors, listed


async def assert_whole(db_path, shown, before: set[str]) -> None:
    assert integrity(db_path) == "ok"
    assert no_orphans(db_path), orphans(db_path)
    stored = client_ids(db_path)
    # Exactly the keys reported created were saved: none lost, none saved behind a failure.
    assert stored - before == {cid for cid, _ in shown}
    store = SQLiteStore(db_path)
    await store.open()
    try:
        service = KeyService(store, actor=Actor("tester", "local"))
        for client_id, secret in shown:
            assert (await service.verify(client_id, secret)).ok, client_id
    finally:
        await store.close()


def assert_disk_full_errors(errors: list[dict]) -> None:
    assert len(errors) == 2, errors  # it failed, and a retry failed the same clean way
    for error in errors:
        assert error["type"] == "DiskFull", errors
        assert "disk is full" in error["message"], errors
        assert "\n" not in error["message"]


async def test_file_size_limit_while_creating_keys(db_path):
    migrate(db_path)
    shown, errors, listed = fill(db_path, limit_file_size(160 * 1024))
    assert shown, "the limit left no room for a single key: the test proves nothing"
    assert_disk_full_errors(errors)
    assert listed == len(shown)
    await assert_whole(db_path, shown, before=set())

    # Room again: the same database takes new keys.
    again = run_cli("keys", "create", "--name", "after the disk freed up", "--env", "test", "--json",
                    db=db_path)
    assert again.code == 0, again.stderr
    assert integrity(db_path) == "ok"


def test_cli_create_on_full_disk_is_one_line_exit_2(db_path):
    first = run_cli("keys", "create", "--name", "before", "--env", "test", "--json", db=db_path)
    assert first.code == 0, first.stderr
    before = client_ids(db_path)
    # Room for the 32 KiB -shm file, none for the first WAL frames of a create.
    result = run_cli("keys", "create", "--name", "no room", "--env", "test",
                     db=db_path, preexec_fn=limit_file_size(32 * 1024))
    line = result.assert_one_line_error(2)
    assert "disk is full" in line, line
    assert "Secret Key" not in result.stdout and "cu_test_sk_" not in result.stdout
    assert client_ids(db_path) == before
    assert integrity(db_path) == "ok"
    assert no_orphans(db_path)
    # Reading under the same limit still works.
    listing = run_cli("keys", "list", db=db_path, preexec_fn=limit_file_size(32 * 1024))
    assert listing.code == 0, listing.stderr
    assert "before" in listing.stdout


@pytest.fixture
def small_tmpfs(tmp_path):
    mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


def fill_up(path) -> None:
    block = b"\0" * 4096
    with open(path, "wb", buffering=0) as handle:
        with contextlib.suppress(OSError):
            while True:
                handle.write(block)
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0")


async def test_real_full_filesystem_while_creating_keys(small_tmpfs):
    db_path = small_tmpfs / "data" / "changeup.db"
    migrate(db_path)
    shown, errors, listed = fill(db_path)
    assert len(shown) >= 3, shown
    assert_disk_full_errors(errors)
    assert listed == len(shown)
    await assert_whole(db_path, shown, before=set())

    # Verifying and closing checkpointed the WAL and freed its space: fill what is left.
    fill_up(small_tmpfs / "filler")
    # The command line on the full filesystem: one clear line, exit 2; listing still works.
    result = run_cli("keys", "create", "--name", "one more", "--env", "live", db=db_path)
    line = result.assert_one_line_error(2)
    assert "disk is full" in line, line
    assert "cu_live_sk_" not in result.stdout
    # Reading on a filesystem with not one free block: SQLite must create the 32 KiB -shm file
    # to read a WAL database, so a listing may fail too, but only with the same clean line.
    listing = run_cli("keys", "list", "--json", db=db_path)
    if listing.code != 0:
        assert "disk is full" in listing.assert_one_line_error(2)
    else:
        assert {k["client_id"] for k in json.loads(listing.stdout)} == {c for c, _ in shown}
    # Space again: everything is there, and creating works.
    (small_tmpfs / "filler").unlink()
    listing = run_cli("keys", "list", "--json", db=db_path)
    assert listing.code == 0, listing.stderr
    assert {k["client_id"] for k in json.loads(listing.stdout)} == {c for c, _ in shown}
    assert run_cli("keys", "create", "--name", "room again", "--env", "live", db=db_path).code == 0
    assert integrity(db_path) == "ok"
    assert no_orphans(db_path)
