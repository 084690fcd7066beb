"""Another user's files: a database folder that group or others can write, a database or a file
beside it (`-journal`, `-wal`, `-shm`) owned by another user, a symbolic link owned by another
user on the way to the database. Each is refused before SQLite reads anything: one line that names
the cause, exit 2 from the command line, the same line on stderr from the TUI, and
UnsafeDatabaseLocation (a StoreError) from the verifiers. The files are left as they were.

Planting needs another user's files: the tests run as root and chown to `nobody`."""

from __future__ import annotations

import os
import pwd
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from changeup_tui.core.errors import StoreError, UnsafeDatabaseLocation
from changeup_tui.core.verifier import SyncVerifier, Verifier
from tests.helpers.processes import run_cli as cli

from .support import raw_db

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's file needs root")


def nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def victim(tmp_path) -> Path:
    """A real database with one key, in a private folder."""
    db = tmp_path / "data" / "changeup.db"
    result = cli("keys", "create", "--name", "mine", "--env", "test", db=db)
    assert result.code == 0, result.stderr
    return db


def client_ids(path: Path) -> set[str]:
    with raw_db(path) as db:
        return {row[0] for row in db.execute("SELECT client_id FROM api_keys")}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def hot_journal(tmp_path: Path) -> bytes:
    """A real hot rollback journal: a process changes an attacker's database (journal_mode
    DELETE) and dies before COMMIT, leaving the journal SQLite would roll back on next open."""
    attacker = tmp_path / "attacker" / "a.db"
    attacker.parent.mkdir()
    script = textwrap.dedent(
        f"""
        import os, sqlite3
        db = sqlite3.connect({str(attacker)!r}, isolation_level=None)
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (zeroblob(5000))")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE t SET x = zeroblob(9000)")
        db.execute("PRAGMA cache_size = 1")  # spill the change to the file, journal first
        db.execute("INSERT INTO t SELECT zeroblob(9000) FROM t")
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    journal = Path(f"{attacker}-journal")
    assert journal.exists() and journal.stat().st_size > 0
    return journal.read_bytes()


def test_planted_journal_is_refused_and_named(victim, tmp_path):
    """The attack from issue 12: another user plants a hot `-journal` beside the database. Before,
    `keys list` said "disk is full or failing" and SQLite rolled the journal into the database."""
    journal = Path(f"{victim}-journal")
    journal.write_bytes(hot_journal(tmp_path))
    os.chown(journal, *nobody())
    before = snapshot(victim.parent)

    line = cli("keys", "list", db=victim).assert_one_line_error(2)
    assert f"{journal} belongs to another user" in line
    assert "planted" in line and "disk" not in line
    assert snapshot(victim.parent) == before  # the journal was not rolled back, nothing written

    # Once the planted file is gone, the database is as it was.
    journal.unlink()
    assert cli("keys", "list", db=victim).code == 0
    assert len(client_ids(victim)) == 1


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_foreign_wal_or_shm_is_refused(victim, suffix):
    side = Path(f"{victim}{suffix}")
    side.write_bytes(b"")
    os.chown(side, *nobody())
    line = cli("keys", "list", db=victim).assert_one_line_error(2)
    assert f"{side} belongs to another user" in line


def test_foreign_database_file_is_refused_and_left_as_it_is(victim):
    """Before: a database owned by another user, mode 0666, was used without a word, and "kept
    0600" was silently not done."""
    os.chown(victim, *nobody())
    os.chmod(victim, 0o666)
    before = victim.read_bytes()
    line = cli("keys", "list", db=victim).assert_one_line_error(2)
    assert "the database file belongs to another user" in line and "nobody" in line
    assert oct(victim.stat().st_mode & 0o777) == oct(0o666)
    assert victim.read_bytes() == before
    assert not Path(f"{victim}-wal").exists()


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770, 0o720, 0o702])
def test_folder_writable_by_group_or_others_is_refused(victim, mode):
    """A sticky, /tmp-like folder too: the sticky bit keeps others from removing the database,
    not from creating a `-journal` beside it."""
    os.chmod(victim.parent, mode)
    line = cli("keys", "list", db=victim).assert_one_line_error(2)
    assert f"refusing the database folder {victim.parent}" in line
    assert f"mode {mode:04o}" in line and "chmod go-w" in line


def test_new_database_in_a_world_writable_folder_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    cli("keys", "create", "--name", "x", "--env", "test", db=folder / "c.db").assert_one_line_error(2)
    assert list(folder.iterdir()) == []


def test_folder_owned_by_another_user_is_refused(victim):
    os.chown(victim.parent, *nobody())
    line = cli("keys", "list", db=victim).assert_one_line_error(2)
    assert "belongs to another user" in line and str(victim.parent) in line


def test_symlink_owned_by_another_user_is_refused(victim, tmp_path):
    link = tmp_path / "data" / "link.db"
    link.symlink_to(victim)
    os.lchown(link, *nobody())
    line = cli("keys", "list", db=link).assert_one_line_error(2)
    assert f"through the symbolic link {link}" in line


def test_symlinked_folder_owned_by_another_user_is_refused(victim, tmp_path):
    link = tmp_path / "dir-link"
    link.symlink_to(victim.parent)
    os.lchown(link, *nobody())
    cli("keys", "list", db=link / victim.name).assert_one_line_error(2)


def test_own_symlink_is_followed_and_the_files_stay_beside_the_real_database(victim, tmp_path):
    link = tmp_path / "own-link.db"
    link.symlink_to(victim)
    result = cli("keys", "create", "--name", "via link", "--env", "test", db=link)
    assert result.code == 0, result.stderr
    assert link.is_symlink()
    assert len(client_ids(victim)) == 2


def test_default_style_private_folder_is_unaffected(tmp_path):
    db = tmp_path / "new" / "deep" / "c.db"
    assert cli("keys", "create", "--name", "x", "--env", "test", db=db).code == 0
    assert (db.parent.stat().st_mode & 0o777) == 0o700


def test_tui_prints_the_same_line_and_exits_2(victim):
    journal = Path(f"{victim}-journal")
    journal.write_bytes(b"planted")
    os.chown(journal, *nobody())
    import pexpect

    child = pexpect.spawn(
        sys.executable, ["-m", "changeup_tui", "--db", str(victim)], dimensions=(30, 100),
        timeout=30, env={**os.environ, "TERM": "xterm-256color"},
    )
    child.expect(pexpect.EOF)
    child.close()
    text = child.before.decode("utf-8", "replace")
    assert child.exitstatus == 2
    assert f"changeup-tui: refusing {victim}: {journal} belongs to another user" in text
    assert "Traceback" not in text


async def test_async_verifier_raises_a_store_error(victim):
    os.chown(victim, *nobody())
    with pytest.raises(UnsafeDatabaseLocation) as caught:
        await Verifier(victim, environment="test").open()
    assert isinstance(caught.value, StoreError)
    assert "belongs to another user" in str(caught.value)


def test_sync_verifier_raises_a_store_error(victim):
    os.chmod(victim.parent, 0o777)
    with pytest.raises(UnsafeDatabaseLocation, match="refusing the database folder"):
        SyncVerifier(victim, environment="test")


def test_the_planted_journal_would_have_been_read_without_the_check(victim, tmp_path):
    """Why the check must come first: plain SQLite, given the same planted journal, reads it
    (here it rolls the journal back, or fails on it): the database is not what it was."""
    Path(f"{victim}-journal").write_bytes(hot_journal(tmp_path))
    before = victim.read_bytes()
    try:
        with sqlite3.connect(victim) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        return  # SQLite acted on the journal: an error instead of the real data
    assert victim.read_bytes() != before
