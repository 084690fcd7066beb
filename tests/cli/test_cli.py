"""The command line's contract, through real subprocesses: output, exit codes (0 ok, 1 "no",
2 usage or environment), one-line errors, where the database is, and that a secret never
travels in argv."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import changeup_tui
from changeup_tui.core.credentials import checksum, parse_secret
from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.processes import child_env, run_cli

from .cli_subprocess import create, list_keys, snapshot_files, verify

UNKNOWN_TEST_ID = "cu_test_ci_" + "A" * 24


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _other_checksum(secret: str) -> str:
    """The same secret with one body character changed and a correct checksum: well-formed,
    but not the secret that was issued."""
    head = secret[:-6]
    swapped = head[:-1] + ("a" if head[-1] != "a" else "b")
    return swapped + checksum(swapped)


# -- basics ------------------------------------------------------------------------------------


def test_version():
    result = run_cli("--version")
    assert result.code == 0
    assert result.stdout.strip() == f"changeup-tui {changeup_tui.__version__}"


def test_create_json_then_verify(db):
    before = datetime.now(UTC)
    created = create(db, "Billing service", "test")
    assert {"client_id", "secret", "environment", "name", "created_at"} <= created.keys()
    assert created["environment"] == "test"
    assert created["name"] == "Billing service"
    assert re.fullmatch(r"cu_test_ci_[0-9A-Za-z]{24}", created["client_id"])
    assert re.fullmatch(r"cu_test_sk_[0-9A-Za-z]{49}", created["secret"])
    assert parse_secret(created["secret"]).environment is Environment.TEST  # well formed
    at = _parse_time(created["created_at"])
    assert before - timedelta(seconds=5) <= at <= datetime.now(UTC) + timedelta(seconds=5)

    result = verify(db, created["client_id"], created["secret"])
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "ok (test key)"
    assert result.stderr == ""


def test_create_plain_output_shows_secret_once_and_warns(db):
    result = run_cli("keys", "create", "--name", "plain", "--env", "live", db=db)
    assert result.code == 0, result.stderr
    client_id = re.search(r"Client ID:\s+(cu_live_ci_\S+)", result.stdout).group(1)
    secret = re.search(r"Secret Key:\s+(cu_live_sk_\S+)", result.stdout).group(1)
    assert "only time" in result.stderr
    assert verify(db, client_id, secret).code == 0


def test_wrong_secret_is_no(db):
    created = create(db, "svc")
    result = verify(db, created["client_id"], _other_checksum(created["secret"]))
    line = result.assert_one_line_error(1)
    assert "not verified" in line
    assert result.stdout == ""


def test_other_environments_secret_is_no(db):
    test_key = create(db, "svc", "test")
    live_key = create(db, "svc", "live")
    # A live secret presented with a test Client ID, and the other way round.
    verify(db, test_key["client_id"], live_key["secret"]).assert_one_line_error(1)
    verify(db, live_key["client_id"], test_key["secret"]).assert_one_line_error(1)
    # Same environment, another key's secret.
    other = create(db, "svc2", "test")
    verify(db, test_key["client_id"], other["secret"]).assert_one_line_error(1)
    # The right pairs still verify.
    assert verify(db, test_key["client_id"], test_key["secret"]).code == 0
    assert verify(db, live_key["client_id"], live_key["secret"]).code == 0


def _malformed_variants(secret: str) -> list[str]:
    bad_checksum = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    return [
        "not-a-secret",
        secret[:-1],  # truncated
        bad_checksum,  # one character changed: the checksum catches it
        secret.replace("_sk_", "_ci_"),
        secret + "x",
    ]


def test_malformed_secret_does_not_create_a_database(tmp_path):
    missing = tmp_path / "nowhere" / "changeup.db"
    secret = "cu_test_sk_" + "A" * 43
    secret += checksum(secret)
    for text in _malformed_variants(secret):
        result = verify(missing, UNKNOWN_TEST_ID, text)
        line = result.assert_one_line_error(1)
        assert text not in line
        assert not missing.exists()
        assert not missing.parent.exists()
    # A malformed Client ID is a "no" without a database too.
    verify(missing, "cu_test_ci_short", secret).assert_one_line_error(1)
    assert not missing.parent.exists()


def test_malformed_secret_leaves_an_existing_database_untouched(db):
    created = create(db, "svc")
    folder = db.parent
    before = snapshot_files(folder)
    mtime = db.stat().st_mtime_ns
    for text in _malformed_variants(created["secret"]):
        result = verify(db, created["client_id"], text)
        line = result.assert_one_line_error(1)
        assert created["secret"] not in line and text not in line
    assert snapshot_files(folder) == before
    assert db.stat().st_mtime_ns == mtime


def test_unknown_client_id_is_no(db):
    created = create(db, "svc")
    result = verify(db, UNKNOWN_TEST_ID, created["secret"])
    line = result.assert_one_line_error(1)
    assert "unknown" in line
    result = run_cli("keys", "disable", UNKNOWN_TEST_ID, db=db)
    result.assert_one_line_error(1)


def test_empty_stdin_is_a_usage_error(db):
    create(db, "svc")
    result = run_cli("verify", "--client-id", UNKNOWN_TEST_ID, db=db)  # stdin: /dev/null
    line = result.assert_one_line_error(2)
    assert "stdin" in line


def test_non_ascii_stdin_is_malformed_not_a_crash(tmp_path):
    result = verify(tmp_path / "x.db", UNKNOWN_TEST_ID, "cu_test_sk_\u00e9\u202e\x1b[31m")
    result.assert_one_line_error(1)
    assert "\x1b" not in result.stderr


# -- listing never shows a secret or a hash -----------------------------------------------------


def test_list_json_has_no_secret_and_no_hash(db):
    test_key = create(db, "alpha", "test")
    live_key = create(db, "beta", "live")
    result = run_cli("keys", "list", "--json", db=db)
    assert result.code == 0, result.stderr
    out = result.stdout
    with sqlite3.connect(db) as conn:
        hashes = [row[0] for row in conn.execute("SELECT phc FROM key_secrets")]
    conn.close()
    assert len(hashes) == 2
    for secret in (test_key["secret"], live_key["secret"]):
        assert secret not in out
        assert secret[11:54] not in out  # the random body alone
    assert "$argon2" not in out
    for phc in hashes:
        assert phc not in out
        assert phc.rsplit("$", 1)[1] not in out  # the digest alone
        assert phc.rsplit("$", 2)[1] not in out  # the salt alone
    rows = result.json()
    assert {r["client_id"] for r in rows} == {test_key["client_id"], live_key["client_id"]}
    for row in rows:
        assert not {"secret", "hash", "phc", "secret_hash"} & row.keys()
        assert {"client_id", "environment", "name", "created_at", "status"} <= row.keys()
    # The plain listing neither.
    plain = run_cli("keys", "list", db=db)
    assert plain.code == 0
    assert "$argon2" not in plain.stdout
    assert test_key["secret"] not in plain.stdout and live_key["secret"] not in plain.stdout
    assert test_key["client_id"] in plain.stdout


def test_list_env_filtering(db):
    test_key = create(db, "t1", "test")
    live_key = create(db, "l1", "live")
    assert [k["client_id"] for k in list_keys(db, "--env", "test")] == [test_key["client_id"]]
    assert [k["client_id"] for k in list_keys(db, "--env", "live")] == [live_key["client_id"]]
    assert {k["client_id"] for k in list_keys(db, "--env", "all")} == {
        test_key["client_id"], live_key["client_id"]
    }
    assert len(list_keys(db)) == 2
    run_cli("keys", "list", "--env", "prod", db=db).assert_one_line_error(2)


def test_list_empty_database_is_an_empty_array(db):
    import asyncio

    from changeup_tui.core.store.sqlite import SQLiteStore

    async def start_empty() -> None:
        store = SQLiteStore(db)
        await store.open()
        await store.close()

    asyncio.run(start_empty())
    assert list_keys(db) == []


# -- where the database is ----------------------------------------------------------------------


def test_env_var_is_used_when_no_db_flag(tmp_path):
    from_env = tmp_path / "env" / "changeup.db"
    env = child_env(CHANGEUP_TUI_DB=str(from_env))
    result = run_cli("keys", "create", "--name", "via env", "--env", "test", "--json", env=env)
    assert result.code == 0, result.stderr
    assert from_env.exists()
    listed = run_cli("keys", "list", "--json", db=from_env).json()
    assert [k["client_id"] for k in listed] == [result.json()["client_id"]]
    default = Path(os.environ["XDG_DATA_HOME"]) / "changeup-tui" / "changeup.db"
    assert not default.exists()


def test_db_flag_wins_over_env_var(tmp_path):
    from_env = tmp_path / "env" / "changeup.db"
    from_flag = tmp_path / "flag" / "changeup.db"
    env = child_env(CHANGEUP_TUI_DB=str(from_env))
    result = run_cli("keys", "create", "--name", "via flag", "--env", "test", "--json",
                     db=from_flag, env=env)
    assert result.code == 0, result.stderr
    assert from_flag.exists()
    assert not from_env.exists() and not from_env.parent.exists()


def test_default_path_is_the_user_data_folder(tmp_path):
    xdg_data = Path(os.environ["XDG_DATA_HOME"])
    assert str(xdg_data).startswith(os.environ["HOME"])  # the test's own HOME
    result = run_cli("keys", "create", "--name", "default", "--env", "test", "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    expected = xdg_data / "changeup-tui" / "changeup.db"
    assert expected.exists()
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert not (tmp_path / "changeup.db").exists()
    listed = run_cli("keys", "list", "--json", cwd=tmp_path).json()
    assert [k["client_id"] for k in listed] == [result.json()["client_id"]]


# -- a secret in argv ----------------------------------------------------------------------------


def test_secret_in_argv_is_refused_and_not_echoed(tmp_path):
    db = tmp_path / "changeup.db"
    secret = "cu_live_sk_" + "Q" * 43
    secret += checksum(secret)
    for argv in (
        ["verify", "--client-id", secret],
        ["keys", "create", "--name", secret, "--env", "live"],
        ["keys", "create", f"--name=prefix {secret} suffix", "--env", "live"],
        ["keys", "rename", "cu_live_ci_" + "B" * 24, "--name", secret],
        ["audit", "--client-id", secret],
    ):
        result = run_cli(*argv, db=db, stdin=secret + "\n")
        line = result.assert_one_line_error(2)
        assert secret not in result.stderr and secret not in result.stdout
        assert secret[11:30] not in result.stderr
        assert "stdin" in line
    assert not db.exists()


def test_usage_errors_are_one_line_exit_2(db):
    for argv in (
        ["keys"],
        ["keys", "create", "--env", "test"],
        ["keys", "create", "--name", "x", "--env", "staging"],
        ["verify"],
        ["nonsense"],
        ["keys", "roll", UNKNOWN_TEST_ID, "--grace", "2h"],
    ):
        line = run_cli(*argv, db=db).assert_one_line_error(2)
        assert "Traceback" not in line


def test_bad_names_are_exit_2_with_one_line(db):
    create(db, "taken", "test")
    for name in ("", "   ", "x" * 65, "evil\x1b]52;c;AAAA\x07", "line\nbreak", "bidi\u202e"):
        result = run_cli("keys", "create", "--name", name, "--env", "test", db=db)
        result.assert_one_line_error(2)
        assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    run_cli("keys", "create", "--name", "TAKEN", "--env", "test", db=db).assert_one_line_error(2)
    # The same name in the other environment is fine.
    create(db, "taken", "live")
    assert len(list_keys(db)) == 2


# -- audit ---------------------------------------------------------------------------------------


def test_audit_json(db):
    created = create(db, "audited", "live")
    assert verify(db, created["client_id"], created["secret"]).code == 0
    result = run_cli("audit", "--json", db=db)
    assert result.code == 0, result.stderr
    events = result.json()
    mine = [e for e in events if e["client_id"] == created["client_id"]]
    assert [e["action"] for e in mine] == ["key.created"]
    event = mine[0]
    assert event["environment"] == "live"
    assert event["origin"] == "local (CLI)"  # the interface that acted
    assert event["actor"]
    assert {"id", "at", "actor", "origin", "action", "environment", "client_id", "detail"} <= (
        event.keys()
    )
    assert created["secret"] not in result.stdout
    assert "$argon2" not in result.stdout
    filtered = run_cli("audit", "--json", "--client-id", created["client_id"], db=db).json()
    assert [e["action"] for e in filtered] == ["key.created"]
    plain = run_cli("audit", db=db)
    assert plain.code == 0 and "key.created" in plain.stdout


# -- lifecycle -----------------------------------------------------------------------------------


def test_roll_with_grace_both_secrets_verify(db):
    created = create(db, "rolled", "test")
    result = run_cli("keys", "roll", created["client_id"], "--grace", "1h", "--json", db=db)
    assert result.code == 0, result.stderr
    rolled = result.json()
    assert rolled["client_id"] == created["client_id"]
    assert rolled["secret"] != created["secret"]
    assert rolled["secret_confirmed"] is True  # printed: confirmed
    assert [k["secret_confirmed"] for k in list_keys(db)] == [True]
    parse_secret(rolled["secret"])  # well formed, or InvalidCredential
    assert verify(db, created["client_id"], created["secret"]).code == 0
    assert verify(db, created["client_id"], rolled["secret"]).code == 0
    actions = [e["action"] for e in run_cli("audit", "--json", db=db).json()]
    assert "key.rolled" in actions
    assert rolled["secret"] not in run_cli("audit", "--json", db=db).stdout


def test_roll_without_grace_old_secret_stops(db):
    created = create(db, "rolled0", "test")
    rolled = run_cli("keys", "roll", created["client_id"], "--grace", "0", "--json", db=db).json()
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert verify(db, created["client_id"], rolled["secret"]).code == 0


def test_revoke_live_key_needs_confirmation(db):
    created = create(db, "production", "live")
    before = list_keys(db)
    result = run_cli("keys", "revoke", created["client_id"], db=db)  # stdin is not a tty
    line = result.assert_one_line_error(2)
    assert "--yes" in line
    assert list_keys(db) == before
    assert verify(db, created["client_id"], created["secret"]).code == 0
    assert "key.revoked" not in run_cli("audit", "--json", db=db).stdout

    result = run_cli("keys", "revoke", created["client_id"], "--yes", db=db)
    assert result.code == 0, result.stderr
    [row] = list_keys(db)
    assert row["status"] == "revoked"
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    # Final: it cannot be enabled, rolled or revoked again.
    run_cli("keys", "enable", created["client_id"], db=db).assert_one_line_error(1)
    run_cli("keys", "roll", created["client_id"], db=db).assert_one_line_error(1)
    run_cli("keys", "revoke", created["client_id"], "--yes", db=db).assert_one_line_error(1)


def test_revoke_test_key_needs_no_confirmation(db):
    created = create(db, "scratch", "test")
    assert run_cli("keys", "revoke", created["client_id"], db=db).code == 0
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)


def test_disable_and_enable(db):
    created = create(db, "toggled", "test")
    assert run_cli("keys", "disable", created["client_id"], db=db).code == 0
    assert list_keys(db)[0]["status"] == "disabled"
    line = verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert "disabled" in line
    run_cli("keys", "disable", created["client_id"], db=db).assert_one_line_error(1)
    assert run_cli("keys", "enable", created["client_id"], db=db).code == 0
    assert list_keys(db)[0]["status"] == "active"
    assert verify(db, created["client_id"], created["secret"]).code == 0


def test_rename(db):
    created = create(db, "old name", "test")
    create(db, "other", "test")
    result = run_cli("keys", "rename", created["client_id"], "--name", "new name", db=db)
    assert result.code == 0, result.stderr
    names = {k["client_id"]: k["name"] for k in list_keys(db)}
    assert names[created["client_id"]] == "new name"
    run_cli("keys", "rename", created["client_id"], "--name", "OTHER", db=db).assert_one_line_error(2)
    run_cli("keys", "rename", created["client_id"], "--name", "\x07", db=db).assert_one_line_error(2)
    assert {k["client_id"]: k["name"] for k in list_keys(db)} == names
    assert verify(db, created["client_id"], created["secret"]).code == 0


def test_create_with_expiry(db):
    now = datetime.now(UTC)
    in_30 = create(db, "thirty", "test", "--expires", "30d")
    [row] = [k for k in list_keys(db) if k["client_id"] == in_30["client_id"]]
    expires = _parse_time(row["expires_at"])
    # A preset ends at 00:00 UTC, as a date does: the one nearest to 30 days from now.
    assert abs(expires - (now + timedelta(days=30))) <= timedelta(hours=12, minutes=5)
    assert (expires.hour, expires.minute, expires.second) == (0, 0, 0)
    assert verify(db, in_30["client_id"], in_30["secret"]).code == 0

    dated = create(db, "dated", "test", "--expires", "2099-01-02")
    [row] = [k for k in list_keys(db) if k["client_id"] == dated["client_id"]]
    assert _parse_time(row["expires_at"]) == datetime(2099, 1, 2, tzinfo=UTC)

    never = create(db, "never", "test")
    [row] = [k for k in list_keys(db) if k["client_id"] == never["client_id"]]
    assert row["expires_at"] is None

    count = len(list_keys(db))
    for bad in ("tomorrow", "30", "2099-13-01", "2000-01-01"):
        result = run_cli("keys", "create", "--name", f"bad {bad}", "--env", "test",
                         "--expires", bad, db=db)
        result.assert_one_line_error(2)
    assert len(list_keys(db)) == count


def test_opening_tightens_permissions_but_never_adds_write(db):
    create(db, "perm", "test")
    db.chmod(0o644)
    assert run_cli("keys", "list", db=db).code == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # group and others lose read
    if os.geteuid() != 0:  # as root a 0400 file is still writable: the bad-database tests cover it
        db.chmod(0o400)
        assert run_cli("keys", "list", db=db).code == 0
        assert stat.S_IMODE(db.stat().st_mode) == 0o400


def test_json_keeps_printable_non_ascii_readable(db):
    created = run_cli("keys", "create", "--name", "Café ☕ 日本", "--env", "test", "--json", db=db)
    assert created.code == 0, created.stderr
    assert "Café ☕ 日本" in created.stdout  # readable, not \u-escaped
    assert created.json()["name"] == "Café ☕ 日本"
    listed = run_cli("keys", "list", "--json", db=db)
    assert "Café ☕ 日本" in listed.stdout
    assert listed.json()[0]["name"] == "Café ☕ 日本"


def test_reader_leaving_early_is_quiet(db):
    """`changeup-tui keys list | head -1`: a closed pipe is not an error worth a traceback."""
    import subprocess
    import sys

    create(db, "piped", "test")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "changeup_tui", "--db", str(db), "keys", "list", "--json"],
            stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env=child_env(), text=True, timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""


def test_verify_at_a_terminal_prompts_without_echo(db):
    pexpect = pytest.importorskip("pexpect")
    import sys

    created = create(db, "typed", "test")
    child = pexpect.spawn(
        sys.executable, ["-m", "changeup_tui", "--db", str(db), "verify", "--client-id",
                         created["client_id"], "--env", "test"],
        env=child_env(), encoding="utf-8", timeout=30,
    )
    try:
        child.expect("Secret Key: ")
        child.sendline(created["secret"])
        child.expect(pexpect.EOF)
        after_prompt = child.before
    finally:
        child.close()
    assert child.exitstatus == 0
    assert after_prompt.strip() == "ok"
    assert created["secret"] not in after_prompt  # not echoed


def test_revoke_live_key_at_a_terminal_needs_its_name_typed(db):
    pexpect = pytest.importorskip("pexpect")
    import sys

    created = create(db, "Payments", "live")

    def revoke_typing(text: str) -> tuple[int, str]:
        child = pexpect.spawn(
            sys.executable, ["-m", "changeup_tui", "--db", str(db), "keys", "revoke",
                             created["client_id"]],
            env=child_env(), encoding="utf-8", timeout=30,
        )
        try:
            child.expect("Type the name of the Live key")
            child.sendline(text)
            child.expect(pexpect.EOF)
            return child.wait(), child.before
        finally:
            child.close()

    code, _ = revoke_typing("Payment")
    assert code == 1
    assert list_keys(db)[0]["status"] == "active"
    assert verify(db, created["client_id"], created["secret"]).code == 0
    code, output = revoke_typing("payments")  # exactly, case included (issue 13)
    assert code == 1
    assert "case included" in output
    assert list_keys(db)[0]["status"] == "active"
    code, output = revoke_typing("Payments")
    assert code == 0, output
    assert list_keys(db)[0]["status"] == "revoked"
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)


def test_a_missing_database_is_an_error_except_for_create(tmp_path):
    """`verify` or `keys list` against a path with no database exits 2 with one line and
    creates nothing; `keys create` starts the database."""
    missing = tmp_path / "typo" / "changeup.db"
    assert "no database" in run_cli("keys", "list", db=missing).assert_one_line_error(2)
    secret = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.TEST).reveal()
    verified = run_cli("verify", "--client-id", "cu_test_ci_" + "A" * 24, db=missing, stdin=secret + "\n")
    assert "no database" in verified.assert_one_line_error(2)
    assert not missing.exists() and not missing.parent.exists()
    created = run_cli("keys", "create", "--name", "first", "--env", "test", db=missing)
    assert created.code == 0 and missing.exists()
