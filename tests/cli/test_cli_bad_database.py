"""A database the command line cannot use: exit 2, exactly one line on stderr, never a traceback,
and nothing already stored is lost (or even rewritten)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from changeup_tui.core.credentials import checksum
from changeup_tui.core.store.migrations import LATEST_VERSION
from tests.helpers.processes import run_cli

from .cli_subprocess import (
    create,
    list_keys,
    set_immutable,
    snapshot_files,
    unprivileged_prefix,
    verify,
)

UNKNOWN_TEST_ID = "cu_test_ci_" + "A" * 24


def _well_formed_secret() -> str:
    head = "cu_test_sk_" + "Z" * 43
    return head + checksum(head)


def _every_command_fails(db: Path, *, prefix: list[str] | None = None,
                         reads_fail: bool = True) -> list[str]:
    """Run the write commands (and the read commands when `reads_fail`) and check each exits 2
    with one line. Returns the lines."""
    lines = [
        run_cli("keys", "create", "--name", "new", "--env", "test", db=db, prefix=prefix)
        .assert_one_line_error(2)
    ]
    if reads_fail:
        lines.append(run_cli("keys", "list", db=db, prefix=prefix).assert_one_line_error(2))
        lines.append(run_cli("keys", "list", "--json", db=db, prefix=prefix).assert_one_line_error(2))
        lines.append(run_cli("audit", "--json", db=db, prefix=prefix).assert_one_line_error(2))
        lines.append(
            verify(db, UNKNOWN_TEST_ID, _well_formed_secret(), prefix=prefix)
            .assert_one_line_error(2)
        )
    return lines


def _still_there(db: Path, key: dict) -> None:
    """With a working setup again, the key that was stored lists and verifies."""
    assert [k["client_id"] for k in list_keys(db) if k["client_id"] == key["client_id"]] == [
        key["client_id"]
    ]
    result = verify(db, key["client_id"], key["secret"])
    assert result.code == 0, result.stderr


def test_path_is_a_folder(tmp_path):
    folder = tmp_path / "data"
    key = create(folder / "changeup.db", "kept")
    before = snapshot_files(folder)
    lines = _every_command_fails(folder)
    assert all("folder" in line for line in lines), lines
    assert snapshot_files(folder) == before
    _still_there(folder / "changeup.db", key)


def test_file_is_random_bytes(tmp_path):
    db = tmp_path / "changeup.db"
    db.write_bytes(os.urandom(8192))
    before = snapshot_files(tmp_path)
    lines = _every_command_fails(db)
    assert all("not a changeup-tui database" in line for line in lines), lines
    assert snapshot_files(tmp_path) == before  # same bytes, no -wal or -shm beside it


def test_file_is_a_damaged_database(tmp_path):
    """A real SQLite header, garbage after it."""
    db = tmp_path / "changeup.db"
    create(db, "kept")
    data = bytearray(db.read_bytes())
    data[100:] = os.urandom(len(data) - 100)
    db.write_bytes(bytes(data))
    before = snapshot_files(tmp_path)
    lines = _every_command_fails(db)
    assert all("not a changeup-tui database" in line or "damaged" in line for line in lines), lines
    assert snapshot_files(tmp_path) == before


def test_file_is_empty_text(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("these are my notes, not a database\n")
    before = snapshot_files(tmp_path)
    _every_command_fails(db)
    assert snapshot_files(tmp_path) == before


def _read_only_checks(db: Path, key: dict, prefix: list[str]) -> None:
    before = db.read_bytes()
    mode = stat.S_IMODE(os.stat(db).st_mode)
    line = run_cli("keys", "create", "--name", "new", "--env", "test", db=db, prefix=prefix)\
        .assert_one_line_error(2)
    assert "read-only" in line
    for verb in ("disable", "enable"):
        run_cli("keys", verb, key["client_id"], db=db, prefix=prefix).assert_one_line_error(2)
    # Reading still works: list, audit and verify.
    listed = run_cli("keys", "list", "--json", db=db, prefix=prefix)
    assert listed.code == 0, listed.stderr
    assert [k["client_id"] for k in listed.json()] == [key["client_id"]]
    assert listed.json()[0]["status"] == "active"
    assert run_cli("audit", db=db, prefix=prefix).code == 0
    result = verify(db, key["client_id"], key["secret"], prefix=prefix)
    assert result.code == 0, result.stderr
    assert db.read_bytes() == before
    # Opening it did not make it writable again ("keep the database 0600" only takes away).
    assert stat.S_IMODE(os.stat(db).st_mode) == mode


def test_file_is_immutable_as_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chattr +i needs root (the chmod variant covers other users)")
    db = tmp_path / "data" / "changeup.db"
    key = create(db, "kept")
    if not set_immutable(db, True):
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        _read_only_checks(db, key, prefix=[])
    finally:
        assert set_immutable(db, False)
    _still_there(db, key)
    create(db, "writable again")


def test_file_is_read_only_by_permissions(tmp_path):
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without a working `unshare --user`")
    db = tmp_path / "data" / "changeup.db"
    key = create(db, "kept")
    db.chmod(0o400)
    try:
        _read_only_checks(db, key, prefix=prefix)
    finally:
        db.chmod(0o600)
    _still_there(db, key)
    create(db, "writable again")


def test_folder_is_not_writable(tmp_path):
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without a working `unshare --user`")
    folder = tmp_path / "data"
    db = folder / "changeup.db"
    key = create(db, "kept")
    before = snapshot_files(folder)
    folder.chmod(0o500)
    try:
        line = run_cli("keys", "create", "--name", "new", "--env", "test", db=db, prefix=prefix)\
            .assert_one_line_error(2)
        assert "writable" in line or "read-only" in line
        # Reading a WAL database needs its -shm file: either it works, or one clear line says
        # what to fix.
        listed = run_cli("keys", "list", "--json", db=db, prefix=prefix)
        if listed.code == 0:
            assert [k["client_id"] for k in listed.json()] == [key["client_id"]]
        else:
            assert "folder is not writable" in listed.assert_one_line_error(2)
        # A new database cannot be made there.
        line = run_cli("keys", "create", "--name", "n", "--env", "test", db=folder / "new.db",
                       prefix=prefix).assert_one_line_error(2)
        assert "not writable" in line
        assert snapshot_files(folder) == before
    finally:
        folder.chmod(0o700)
    _still_there(db, key)


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.readline()  # hold until the test says so
conn.execute("ROLLBACK")
conn.close()
"""


def test_database_stays_locked_past_the_timeout(tmp_path):
    db = tmp_path / "data" / "changeup.db"
    key = create(db, "kept")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        held_since = time.monotonic()
        started = time.monotonic()
        result = run_cli("keys", "create", "--name", "blocked", "--env", "test", db=db)
        elapsed = time.monotonic() - started
        line = result.assert_one_line_error(2)
        assert "locked" in line
        assert 4.5 <= elapsed < 30, elapsed  # it waited the 5 s busy timeout, then gave up
        run_cli("keys", "disable", key["client_id"], db=db).assert_one_line_error(2)
        # In WAL mode a writer does not block readers: listing still works meanwhile.
        assert [k["client_id"] for k in list_keys(db)] == [key["client_id"]]
        assert time.monotonic() - held_since > 6  # the lock outlived the timeout
        assert holder.poll() is None
    finally:
        holder.communicate("release\n", timeout=30)
    assert holder.returncode == 0
    _still_there(db, key)
    names = {k["name"] for k in list_keys(db)}
    assert names == {"kept"}  # the blocked create left nothing behind
    create(db, "after the lock")


def test_schema_newer_than_the_code(tmp_path):
    folder = tmp_path / "data"
    db = folder / "changeup.db"
    key = create(db, "kept")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = snapshot_files(folder)
    lines = _every_command_fails(db)
    assert all("newer" in line for line in lines), lines
    assert snapshot_files(folder) == before
    # Nothing was lost: with the schema version the code knows, the key is all there.
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
    conn.commit()
    conn.close()
    _still_there(db, key)
