"""The command line under hostile conditions (issue 12): a secret that cannot be written (stdout on
/dev/full), a FIFO or a dangling symlink at --db, an endless stdin for `verify`, an unknown audit
action. Each ends in one line on stderr and exit 2; nothing hangs, nothing grows without bound,
and no key is left active whose secret nobody received."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.processes import PROG_PREFIX, child_env
from tests.helpers.processes import run_cli as cli

from .support import raw_db

AUDIT_ACTIONS = ("key.created", "key.rolled", "key.revoked", "key.disabled", "key.enabled",
                 "key.renamed", "key.grace_ended", "account.created", "account.updated")


def run_to(stdout_path: str, *args: str, db: Path) -> tuple[int, str]:
    with open(stdout_path, "wb") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "changeup_tui", "--db", str(db), *args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=child_env(),
            timeout=60,
        )
    return proc.returncode, proc.stderr.decode()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("env", "extra"), [("test", ["--json"]), ("test", []), ("live", ["--json"])],
    ids=["json", "plain", "live"],
)
def test_create_to_a_full_stdout_revokes_the_new_key_and_says_so(tmp_path, env, extra):
    db = tmp_path / "data" / "c.db"
    code, err = run_to("/dev/full", "keys", "create", "--name", "lost", "--env", env, *extra,
                       db=db)
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith(PROG_PREFIX)
    assert "could not write the Secret Key" in err and "No space left on device" in err
    assert "was revoked" in err and "unexpected" not in err
    with raw_db(db, readonly=True) as conn:
        rows = conn.execute("SELECT client_id, status FROM api_keys").fetchall()
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_events ORDER BY id")]
    assert len(rows) == 1 and rows[0][1] == "revoked"
    assert rows[0][0] in err
    assert actions[-2:] == ["key.created", "key.revoked"]


def test_create_to_a_closed_pipe_revokes_the_new_key(tmp_path):
    """A reader that is gone (the pipe closed before the secret was written): the same."""
    db = tmp_path / "data" / "c.db"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "changeup_tui", "--db", str(db), "keys", "create", "--name",
             "gone", "--env", "test", "--json"],
            stdin=subprocess.DEVNULL, stdout=write_end, stderr=subprocess.PIPE,
            env=child_env(), timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 2 and b"was revoked" in proc.stderr, proc.stderr
    with raw_db(db, readonly=True) as conn:
        assert conn.execute("SELECT status FROM api_keys").fetchall() == [("revoked",)]


def test_create_to_a_working_stdout_still_prints_the_secret(tmp_path):
    db = tmp_path / "data" / "c.db"
    result = cli("keys", "create", "--name", "fine", "--env", "test", "--json", db=db)
    assert result.code == 0
    payload = json.loads(result.stdout)
    assert payload["status"] == "active" and payload["secret"].startswith("cu_test_sk_")


@pytest.mark.parametrize(
    "args", [("keys", "list"), ("keys", "create", "--name", "x", "--env", "test"),
             ("verify", "--client-id", "cu_test_ci_" + "a" * 24)],
    ids=["list", "create", "verify"],
)
def test_fifo_at_db_is_one_line_and_does_not_hang(tmp_path, args):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    start = time.monotonic()
    # a well-formed secret, so verify gets past its checks that touch no database
    secret = SeededKeyGenerator(1, valid_checksum=True).secret(Environment.TEST).reveal()
    secret = (secret + "\n").encode()
    line = cli(*args, db=fifo, stdin=secret, timeout=30).assert_one_line_error(2)
    assert time.monotonic() - start < 20
    assert "FIFO" in line and str(fifo) in line


@pytest.mark.parametrize("args", [("keys", "list"), ("keys", "create", "--name", "x", "--env",
                                                     "test")], ids=["list", "create"])
def test_dangling_symlink_at_db_is_one_line(tmp_path, args):
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "missing" / "c.db")
    line = cli(*args, db=link).assert_one_line_error(2)
    assert "symbolic link" in line and "does not exist" in line
    assert not (tmp_path / "missing").exists()  # nothing created at the link's target


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_verify_reads_a_bounded_stdin(tmp_path):
    """An endless stdin without a line end (/dev/zero): before, verify read it all (400 MB read,
    819 MB of memory); now it stops after 4 KiB with a usage error, in bounded memory."""
    db = tmp_path / "data" / "c.db"
    assert cli("keys", "create", "--name", "x", "--env", "test", db=db).code == 0
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.Popen(
            [sys.executable, "-m", "changeup_tui", "--db", str(db), "verify", "--client-id",
             "cu_test_ci_" + "a" * 24],
            stdin=zero, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
            preexec_fn=_limit_memory,
        )
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
    err = stderr.decode()
    assert proc.returncode == 2, err
    assert len(err.splitlines()) == 1 and "at most 4096 bytes" in err, err


PEAK_MEMORY_CHILD = """
import sys
from changeup_tui.cli import main
code = main(sys.argv[1:])
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(peak.split()[1], file=sys.stdout)  # the peak resident set of this process, KiB
sys.exit(code)
"""


def test_verify_memory_stays_small_on_a_large_stdin(tmp_path):
    """The child's own peak resident memory (VmHWM, measured after exec: a fork's copy of the
    test process does not count) while 64 MiB without a line end wait on stdin."""
    db = tmp_path / "data" / "c.db"
    assert cli("keys", "create", "--name", "x", "--env", "test", db=db).code == 0
    blob = tmp_path / "blob"
    with open(blob, "wb") as handle:
        handle.truncate(64 << 20)  # 64 MiB of NUL bytes, no line end
    with open(blob, "rb") as data:
        proc = subprocess.run(
            [sys.executable, "-c", PEAK_MEMORY_CHILD, "--db", str(db), "verify", "--client-id",
             "cu_test_ci_" + "a" * 24],
            stdin=data, capture_output=True, env=child_env(), timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert b"at most 4096 bytes" in proc.stderr
    peak_kib = int(proc.stdout.split()[-1])
    assert peak_kib < 60 * 1024, peak_kib  # well under the 64 MiB offered


def test_audit_with_an_unknown_action_is_a_usage_error_listing_the_valid_ones(tmp_path):
    db = tmp_path / "data" / "c.db"
    assert cli("keys", "create", "--name", "x", "--env", "test", db=db).code == 0
    line = cli("audit", "--action", "bogus", db=db).assert_one_line_error(2)
    for action in AUDIT_ACTIONS:
        assert action in line
    ok = cli("audit", "--action", "key.created", db=db)
    assert ok.code == 0 and "key.created" in ok.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("grace", "extra"), [([], []), ([], ["--json"]), (["--grace", "0", "--yes"], [])],
    ids=["grace-plain", "grace-json", "no-grace"],
)
def test_roll_to_a_full_stdout_says_nobody_received_the_new_secret(tmp_path, grace, extra):
    """A rolled key is in use, so it is not revoked like an undelivered new key: the operator is
    told, in one line, that nobody received the new secret, how long the old one still works,
    and how to roll again. Never a traceback, never "unexpected", never the secret."""
    db = tmp_path / "data" / "c.db"
    created = cli("--db", str(db), "keys", "create", "--name", "rolled", "--env", "test",
                  "--json")
    assert created.code == 0, created.stderr
    client_id = json.loads(created.stdout)["client_id"]
    code, err = run_to("/dev/full", "keys", "roll", client_id, *grace, *extra, db=db)
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith(PROG_PREFIX) and "unexpected" not in err
    assert "could not write the new Secret Key" in err and "No space left on device" in err
    assert "nobody received it" in err and f"keys roll {client_id}" in err
    assert "_sk_" not in err  # neither secret, not even masked beyond its hint
    if grace:
        assert "old Secret Key stopped" in err
    else:
        assert "old Secret Key keeps working until" in err
    with raw_db(db, readonly=True) as conn:
        status, confirmed = conn.execute("SELECT status, secret_confirmed FROM api_keys").fetchone()
    assert status == "active"
    assert confirmed == 0  # "secret never confirmed" in the list and keys show: roll it again
    shown = cli("--db", str(db), "keys", "show", client_id)
    assert "secret never confirmed: roll this key" in shown.stdout, shown.stderr
