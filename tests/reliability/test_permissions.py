"""Permissions: the database folder is 0700 and the database, -wal and -shm files are 0600 while
a connection is open, whatever the process umask; a database the user cannot read, or cannot
write, gives a clear one-line message (exit 2) and nothing is changed.

The test runs as root here, which reads and writes anything: the "cannot" cases run the command
line under `unshare --user` (an unprivileged user namespace, without root's DAC override), or
make the file immutable with `chattr +i`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.helpers.processes import child_env, run_cli

from .support import client_ids, integrity

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import asyncio, json, os, stat, sys
    from pathlib import Path

    from changeup_tui.core.models import Environment
    from changeup_tui.core.service import KeyService
    from changeup_tui.core.store.sqlite import SQLiteStore
    from changeup_tui.testing import SeededKeyGenerator

    def mode(path):
        try:
            return stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            return None

    async def main():
        path = Path(sys.argv[1])
        store = SQLiteStore(path)
        await store.open()
        try:
            service = KeyService(store, keygen=SeededKeyGenerator(int(sys.argv[2])))
            await service.create(f"perm {sys.argv[2]}", Environment.TEST)
            # While the connection is open: the -wal and -shm files exist.
            modes = {s or "db": mode(f"{path}{s}") for s in ("", "-wal", "-shm")}
            modes["folder"] = mode(path.parent)
            print(json.dumps(modes))
        finally:
            await store.close()

    asyncio.run(main())
    """
)


def open_and_create(db_path, umask: int, seed: int = 1) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db_path), str(seed)], capture_output=True,
        env=child_env(), preexec_fn=lambda: os.umask(umask), timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def test_new_database_folder_0700_files_0600_with_any_umask(tmp_path, umask):
    db_path = tmp_path / "fresh" / "data" / "changeup.db"
    modes = open_and_create(db_path, umask)
    assert modes == {"db": 0o600, "-wal": 0o600, "-shm": 0o600, "folder": 0o700}, {
        k: oct(v) if v is not None else v for k, v in modes.items()}
    # A second process, with the same umask, re-creating the -wal and -shm files.
    modes = open_and_create(db_path, umask, seed=2)
    assert modes == {"db": 0o600, "-wal": 0o600, "-shm": 0o600, "folder": 0o700}
    # The folders the store had to create above the database folder are 0700 too (XDG: create
    # missing data folders 0700), not 0777 minus the umask as `mkdir -p` would.
    assert mode(tmp_path / "fresh") == 0o700, oct(mode(tmp_path / "fresh"))


def test_loose_existing_files_are_tightened_on_open(tmp_path):
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o022)
    os.chmod(db_path, 0o644)
    modes = open_and_create(db_path, 0o000, seed=3)
    assert modes["db"] == 0o600 and modes["-wal"] == 0o600 and modes["-shm"] == 0o600, modes


def test_unreadable_database_is_one_clear_line(tmp_path):
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o077)
    before = digest(db_path)
    os.chmod(db_path, 0o000)
    try:
        for args in (("keys", "list"), ("keys", "create", "--name", "x", "--env", "test"),
                     ("audit",)):
            result = run_cli(*args, db=db_path, prefix=["unshare", "--user"])
            line = result.assert_one_line_error(2)
            assert "cannot read" in line and "permission denied" in line, line
            assert str(db_path) in line
    finally:
        os.chmod(db_path, 0o600)
    assert digest(db_path) == before


def test_unreadable_folder_is_one_clear_line(tmp_path):
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o077)
    os.chmod(db_path.parent, 0o000)
    try:
        result = run_cli("keys", "list", db=db_path, prefix=["unshare", "--user"])
    finally:
        os.chmod(db_path.parent, 0o700)
    line = result.assert_one_line_error(2)
    assert "unexpected" not in line, line
    assert "permission denied" in line.lower(), line
    assert integrity(db_path) == "ok"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def immutable(path):
    if shutil.which("chattr") is None:
        pytest.skip("no chattr here")
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i refused: {proc.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def assert_read_only_behaviour(db_path, prefix=()) -> None:
    keys_before = client_ids(db_path)
    listing = run_cli("keys", "list", "--json", db=db_path, prefix=prefix)
    assert listing.code == 0, listing.stderr
    assert {k["client_id"] for k in json.loads(listing.stdout)} == keys_before
    for args in (("keys", "create", "--name", "nope", "--env", "test"),
                 ("keys", "disable", sorted(keys_before)[0])):
        result = run_cli(*args, db=db_path, prefix=prefix)
        line = result.assert_one_line_error(2)
        assert "read-only" in line, line
        assert "cu_test_sk_" not in result.stdout
    assert client_ids(db_path) == keys_before


def test_immutable_database_lists_but_refuses_writes(tmp_path):
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o077)
    before = digest(db_path)
    with immutable(db_path):
        assert_read_only_behaviour(db_path)
    assert digest(db_path) == before
    assert integrity(db_path) == "ok"


def test_read_only_file_mode_lists_refuses_writes_and_stays_read_only(tmp_path):
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o077)
    before = digest(db_path)
    os.chmod(db_path, 0o400)
    try:
        assert_read_only_behaviour(db_path, prefix=["unshare", "--user"])
        # Opening never made the owner's read-only file writable again.
        assert mode(db_path) == 0o400
        assert_read_only_behaviour(db_path, prefix=["unshare", "--user"])
    finally:
        os.chmod(db_path, 0o600)
    assert digest(db_path) == before


def test_read_only_folder_is_one_clear_line(tmp_path):
    """A WAL database in a folder the user cannot write: SQLite cannot create the -shm file it
    needs even to read, so the command says so in one line; nothing changes."""
    db_path = tmp_path / "data" / "changeup.db"
    open_and_create(db_path, 0o077)
    before = digest(db_path)
    os.chmod(db_path.parent, 0o500)
    try:
        result = run_cli("keys", "create", "--name", "nope", "--env", "test", db=db_path,
                         prefix=["unshare", "--user"])
        line = result.assert_one_line_error(2)
        assert "folder" in line, line
        listing = run_cli("keys", "list", db=db_path, prefix=["unshare", "--user"])
        if listing.code != 0:
            assert "folder" in listing.assert_one_line_error(2)
    finally:
        os.chmod(db_path.parent, 0o700)
    assert digest(db_path) == before
