"""The operator's day on the command line (issue 13): `keys show`, `keys end-grace`, the grace
secrets in `keys list --json`, `keys roll`'s 24 h default and its guard for a Live roll with no grace,
the `keys list` table, and every default said in `--help`."""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.processes import child_env, run_cli

from .cli_subprocess import create, list_keys, verify

UNKNOWN_TEST_ID = "cu_test_ci_" + "A" * 24


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _audit(db: Path, client_id: str, action: str) -> list[dict]:
    result = run_cli("audit", "--client-id", client_id, "--action", action, "--json", db=db)
    assert result.code == 0, result.stderr
    return result.json()


def _roll(db: Path, client_id: str, *extra: str) -> dict:
    result = run_cli("keys", "roll", client_id, "--json", *extra, db=db)
    assert result.code == 0, result.stderr
    return result.json()


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- keys roll -----------------------------------------------------------------------------------


def test_roll_keeps_the_old_secret_24_hours_by_default(db):
    created = create(db, "Billing", "live")
    before = datetime.now(UTC)
    rolled = _roll(db, created["client_id"])
    assert rolled["secret"] != created["secret"]
    assert verify(db, created["client_id"], created["secret"]).code == 0  # still works
    assert verify(db, created["client_id"], rolled["secret"]).code == 0
    [grace] = rolled["grace_secrets"]
    assert grace["hint"] == "cu_live_sk_…" + created["secret"][-4:]
    end = _time(grace["expires_at"])
    assert before + timedelta(hours=24) <= end <= datetime.now(UTC) + timedelta(hours=24)
    [event] = _audit(db, created["client_id"], "key.rolled")
    assert event["detail"] == "grace 24h"


def test_roll_plain_output_says_until_when_the_old_secret_works(db):
    created = create(db, "Billing", "test")
    result = run_cli("keys", "roll", created["client_id"], db=db, env=child_env(TZ="UTC"))
    assert result.code == 0, result.stderr
    secret = re.search(r"Secret Key:\s+(cu_test_sk_\S+)", result.stdout).group(1)
    assert secret not in result.stderr
    assert f"cu_test_sk_…{created['secret'][-4:]}" in result.stderr
    assert "keeps working until" in result.stderr and "end-grace" in result.stderr


def test_live_roll_with_no_grace_needs_yes_without_a_terminal(db):
    created = create(db, "Payments", "live")
    line = run_cli("keys", "roll", created["client_id"], "--grace", "0", db=db).assert_one_line_error(2)
    assert "--yes" in line
    assert created["secret"] not in line
    assert verify(db, created["client_id"], created["secret"]).code == 0  # nothing was rolled
    assert _audit(db, created["client_id"], "key.rolled") == []
    rolled = _roll(db, created["client_id"], "--grace", "0", "--yes")
    assert rolled["grace_secrets"] == []
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert verify(db, created["client_id"], rolled["secret"]).code == 0


def test_test_roll_with_no_grace_does_not_ask(db):
    created = create(db, "Payments", "test")
    rolled = _roll(db, created["client_id"], "--grace", "0")
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert verify(db, created["client_id"], rolled["secret"]).code == 0


def test_live_roll_with_no_grace_at_a_terminal_needs_the_exact_name(db):
    pexpect = pytest.importorskip("pexpect")
    created = create(db, "Payments", "live")

    def roll_typing(text: str) -> tuple[int, str]:
        child = pexpect.spawn(
            sys.executable, ["-m", "changeup_tui", "--db", str(db), "keys", "roll",
                             created["client_id"], "--grace", "0"],
            env=child_env(), encoding="utf-8", timeout=30,
        )
        try:
            child.expect("Type the name of the Live key")
            child.sendline(text)
            child.expect(pexpect.EOF)
            return child.wait(), child.before
        finally:
            child.close()

    for wrong in ("Payment", "payments"):
        code, output = roll_typing(wrong)
        assert code == 2, output
        assert "nothing was rolled" in output
        assert verify(db, created["client_id"], created["secret"]).code == 0
    code, output = roll_typing("Payments")
    assert code == 0, output
    new_secret = re.search(r"Secret Key:\s+(cu_live_sk_\w+)", output).group(1)
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert verify(db, created["client_id"], new_secret).code == 0


# -- keys end-grace and grace secrets ---------------------------------------------------------------


def test_end_grace_stops_the_old_secret_at_once(db):
    created = create(db, "Billing", "live")
    rolled = _roll(db, created["client_id"], "--grace", "7d")
    other = create(db, "Other", "live")
    _roll(db, other["client_id"], "--grace", "1h")
    listed = {k["client_id"]: k for k in list_keys(db)}
    assert [g["hint"] for g in listed[created["client_id"]]["grace_secrets"]] == [
        "cu_live_sk_…" + created["secret"][-4:]
    ]
    result = run_cli("keys", "end-grace", created["client_id"], db=db)
    assert result.code == 0, result.stderr
    assert created["client_id"] in result.stdout and rolled["secret"][-4:] in result.stdout
    verify(db, created["client_id"], created["secret"]).assert_one_line_error(1)
    assert verify(db, created["client_id"], rolled["secret"]).code == 0
    listed = {k["client_id"]: k for k in list_keys(db)}
    assert listed[created["client_id"]]["grace_secrets"] == []
    assert len(listed[other["client_id"]]["grace_secrets"]) == 1  # another key is untouched
    assert verify(db, other["client_id"], other["secret"]).code == 0
    [event] = _audit(db, created["client_id"], "key.grace_ended")
    assert event["environment"] == "live" and created["secret"] not in str(event)
    # Nothing left to end: a "no", one line, and no second event.
    line = run_cli("keys", "end-grace", created["client_id"], db=db).assert_one_line_error(1)
    assert "grace" in line
    assert len(_audit(db, created["client_id"], "key.grace_ended")) == 1


def test_end_grace_of_unknown_and_revoked_keys(db):
    created = create(db, "Billing", "test")
    run_cli("keys", "end-grace", UNKNOWN_TEST_ID, db=db).assert_one_line_error(1)
    _roll(db, created["client_id"])
    assert run_cli("keys", "revoke", created["client_id"], db=db).code == 0
    assert "revoked" in run_cli("keys", "end-grace", created["client_id"], db=db).assert_one_line_error(1)
    assert list_keys(db)[0]["grace_secrets"] == []


# -- keys show ----------------------------------------------------------------------------------------


def test_show_json_has_the_whole_detail(db):
    name = "A very long name for the billing worker of the payments team, v2"
    assert len(name) == 64
    created = create(db, name, "live", "--expires", "2099-01-02")
    rolled = _roll(db, created["client_id"], "--grace", "1h")
    assert verify(db, created["client_id"], rolled["secret"]).code == 0
    result = run_cli("keys", "show", created["client_id"], "--json", db=db)
    assert result.code == 0, result.stderr
    shown = result.json()
    assert shown["name"] == name
    assert (shown["client_id"], shown["status"], shown["environment"]) == (
        created["client_id"], "active", "live"
    )
    assert shown["created_at"] == created["created_at"] and shown["created_by"]
    assert _time(shown["expires_at"]) == datetime(2099, 1, 2, tzinfo=UTC)
    assert shown["last_used_at"] is not None
    hints = [s["hint"] for s in shown["secrets"]]
    assert hints == [f"cu_live_sk_…{rolled['secret'][-4:]}", f"cu_live_sk_…{created['secret'][-4:]}"]
    assert shown["secrets"][0]["expires_at"] is None
    assert shown["secrets"][1]["expires_at"] == rolled["grace_secrets"][0]["expires_at"]
    assert [e["action"] for e in shown["activity"]] == ["key.rolled", "key.created"]
    for secret in (created["secret"], rolled["secret"]):
        assert secret not in result.stdout
    assert "$argon2" not in result.stdout


def test_show_plain_reads_as_a_page(db):
    name = "Billing worker with a long name that the table cuts at forty columns"[:64]
    created = create(db, name, "test", "--expires", "2099-01-02")
    _roll(db, created["client_id"], "--grace", "7d")
    result = run_cli("keys", "show", created["client_id"], db=db, env=child_env(TZ="UTC"))
    assert result.code == 0, result.stderr
    out = result.stdout
    assert f"Name:        {name}\n" in out  # whole, not cut
    assert "Status:      active\n" in out and f"Client ID:   {created['client_id']}\n" in out
    assert "Expires:     2099-01-02 00:00:00 UTC\n" in out
    assert "Last used:   never\n" in out
    assert re.search(r"Created:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by \S+", out)
    assert f"cu_test_sk_…{created['secret'][-4:]}  until " in out  # the old one, with its end
    assert "grace period" in out
    assert "key.rolled" in out and "key.created" in out
    assert created["secret"] not in out


def test_show_unknown_key_is_a_no(db):
    create(db, "Billing", "test")
    line = run_cli("keys", "show", UNKNOWN_TEST_ID, db=db).assert_one_line_error(1)
    assert UNKNOWN_TEST_ID in line


def test_show_hostile_name_is_inert(db):
    created = create(db, "Billing", "test")
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE api_keys SET name = ? WHERE client_id = ?",
                     ("evil \x1b]0;pwned\x07 \u202e end", created["client_id"]))
    conn.close()
    out = run_cli("keys", "show", created["client_id"], db=db).stdout
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert r"evil \x1b]0;pwned\x07 \u202e end" in out


# -- keys list (the table) ---------------------------------------------------------------------------


def test_list_prints_an_aligned_table_with_a_header(db):
    long_name = "L" * 64
    wide_name = "日本語のキー"
    keys = [create(db, name, env) for name, env in
            (("Billing", "live"), (long_name, "test"), (wide_name, "test"))]
    dated = create(db, "Dated", "test", "--expires", "2099-01-02")
    assert verify(db, keys[0]["client_id"], keys[0]["secret"]).code == 0
    result = run_cli("keys", "list", db=db, env=child_env(TZ="UTC"))
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 4  # the header, one row per key
    header = lines[0]
    assert header.split() == ["Name", "Status", "Client", "ID", "Last", "used", "Expires", "Secret"]
    starts = [header.index(h) for h in ("Status", "Client ID", "Last used", "Expires", "Secret")]
    by_id = {}
    for line in lines[1:]:
        client_id = re.search(r"cu_(live|test)_ci_\w{24}", line).group(0)
        by_id[client_id] = line
        # Aligned: every column starts at its header's column (wide characters count two).
        prefix = line[: line.index(client_id)]
        assert _cells(prefix) == starts[1], (line, header)
        cells_before_status = _cells(line[: line.index(" active ")]) + 1
        assert cells_before_status == starts[0]
    billing = by_id[keys[0]["client_id"]]
    assert billing.startswith("Billing ")
    assert re.search(r"  \d{4}-\d\d-\d\d \d\d:\d\d  never  +cu_live_sk_…" + keys[0]["secret"][-4:] + "$",
                     billing)
    long_row = by_id[keys[1]["client_id"]]
    assert long_row.startswith("L" * 39 + "…") and "L" * 41 not in long_row  # cut to 40 columns
    assert by_id[keys[2]["client_id"]].startswith(wide_name)
    assert re.search(r"  never +2099-01-02 00:00  cu_test_sk_…", by_id[dated["client_id"]])
    for key in (*keys, dated):
        assert key["secret"] not in result.stdout


def test_list_table_shows_status_and_filters(db):
    kept = create(db, "kept", "test")
    gone = create(db, "gone", "test")
    assert run_cli("keys", "revoke", gone["client_id"], db=db).code == 0
    lines = run_cli("keys", "list", db=db).stdout.splitlines()
    statuses = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert statuses == {"kept": "active", "gone": "revoked"}
    only = run_cli("keys", "list", "--search", "kep", db=db).stdout.splitlines()
    assert len(only) == 2 and kept["client_id"] in only[1]
    empty = run_cli("keys", "list", "--env", "live", db=db)
    assert empty.code == 0 and empty.stdout.splitlines() == [
        "Name  Status  Client ID  Last used  Expires  Secret"
    ]  # the header alone


# -- defaults in --help -------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "expected"), [
    (["keys", "roll", "--help"], ["--grace", "(default: 24h)", "--yes"]),
    (["keys", "list", "--help"], ["--env", "(default: all)", "(default: every key)"]),
    (["keys", "create", "--help"], ["--expires", "(default: never)"]),
    (["audit", "--help"], ["(default: 1000)"]),
    (["--help"], ["$CHANGEUP_TUI_DB", "default: changeup.db in your user data folder",
                  "(else $CHANGEUP_TUI_CLEAR_CLIPBOARD; default 0: never)"]),
    (["keys", "--help"], ["show", "end-grace"]),
])
def test_help_says_every_default(argv, expected):
    result = run_cli(*argv)
    assert result.code == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps lines anywhere
    for part in expected:
        assert part in text, (part, text)


def test_show_says_when_no_secret_verifies(db):
    created = create(db, "Billing", "live")
    assert "Secret Keys that verify:" in run_cli("keys", "show", created["client_id"], db=db).stdout
    assert run_cli("keys", "disable", created["client_id"], db=db).code == 0
    out = run_cli("keys", "show", created["client_id"], db=db).stdout
    assert "none verifies while the key is disabled" in out and "Status:      disabled" in out
    assert run_cli("keys", "revoke", created["client_id"], "--yes", db=db).code == 0
    out = run_cli("keys", "show", created["client_id"], db=db).stdout
    assert "none verifies, the key is revoked" in out and "…" + created["secret"][-4:] not in out
    # A revoked Live key is not asked for its name before a roll: it cannot be rolled at all.
    line = run_cli("keys", "roll", created["client_id"], "--grace", "0", db=db).assert_one_line_error(1)
    assert "revoked" in line
