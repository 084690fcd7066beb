"""The command line over a database with one damaged key: `keys list` (table and --json) prints
the others and exits 1 with one line naming the damaged Client ID; `keys show` prints what it
could read and exits 1; `verify` refuses it with "damaged"; `audit` prints the readable events
and exits 1. Nothing raw from the damaged row reaches the output."""

from __future__ import annotations

import json

import pytest

from tests.helpers.processes import run_cli

from .damaged import DAMAGES, NOT_UTF8_NAME, damage, damage_sql

pytestmark = pytest.mark.slow

CONTROLS = ("\x1b", "\x07", "\x9b", "\udc9b", "\udcff")


def assert_inert(text: str) -> None:
    found = [repr(ch) for ch in CONTROLS if ch in text]
    assert not found, f"raw bytes of the damaged row reached the output: {found}\n{text!r}"


def create(db, name: str) -> tuple[str, str]:
    result = run_cli("keys", "create", "--name", name, "--env", "test", "--json", db=db)
    assert result.code == 0, result.stderr
    payload = result.json()
    return payload["client_id"], payload["secret"]


@pytest.fixture
def one_damaged(db_path):
    """Two good keys and one whose name is not UTF-8 (with a title-setting escape in it)."""
    good = [create(db_path, "alpha"), create(db_path, "gamma")]
    bad_id, bad_secret = create(db_path, "beta")
    damage(db_path, bad_id, f"name = {NOT_UTF8_NAME}")
    return db_path, good, bad_id, bad_secret


def test_keys_list_prints_the_others_and_names_the_damaged_key(one_damaged):
    db, good, bad_id, _ = one_damaged
    result = run_cli("keys", "list", db=db)
    line = result.assert_one_line_error(code=1)
    assert bad_id in line and "damaged" in line and "name is not UTF-8 text" in line, line
    _header, *rows = result.stdout.splitlines()
    assert len(rows) == 2 and all(any(cid in row for row in rows) for cid, _ in good), rows
    assert bad_id not in result.stdout
    assert_inert(result.stdout + result.stderr)


def test_keys_list_json_prints_the_others_and_names_the_damaged_key(one_damaged):
    db, good, bad_id, _ = one_damaged
    result = run_cli("keys", "list", "--json", db=db)
    line = result.assert_one_line_error(code=1)
    assert bad_id in line, line
    assert sorted(k["client_id"] for k in result.json()) == sorted(c for c, _ in good)
    assert_inert(result.stdout + result.stderr)


def test_keys_show_prints_what_it_could_read_and_exits_1(one_damaged):
    db, _, bad_id, _ = one_damaged
    result = run_cli("keys", "show", bad_id, db=db)
    line = result.assert_one_line_error(code=1)
    assert f"key {bad_id} is damaged: name is not UTF-8 text" in line, line
    assert "Status:      damaged" in result.stdout and bad_id in result.stdout
    assert r"\x1b]0;pwned\x07" in result.stdout  # the name's escape shown, made visible
    assert_inert(result.stdout + result.stderr)
    as_json = run_cli("keys", "show", bad_id, "--json", db=db)
    as_json.assert_one_line_error(code=1)
    payload = json.loads(as_json.stdout)
    assert payload["damaged"] == "name is not UTF-8 text" and payload["name"] is None
    assert payload["state"] == "damaged"


def test_verify_refuses_a_damaged_key_clearly(one_damaged):
    db, good, bad_id, bad_secret = one_damaged
    result = run_cli("verify", "--client-id", bad_id, db=db, stdin=bad_secret.encode() + b"\n")
    assert result.assert_one_line_error(code=1) == "changeup-tui: not verified: damaged"
    cid, secret = good[0]
    assert run_cli("verify", "--client-id", cid, db=db, stdin=secret.encode() + b"\n").code == 0


@pytest.mark.parametrize(("label", "assignments", "column"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_keys_list_survives_every_kind_of_damage(db_path, label, assignments, column):
    good, _ = create(db_path, "alpha")
    bad, _ = create(db_path, "beta")
    damage(db_path, bad, assignments)
    result = run_cli("keys", "list", "--json", db=db_path)
    line = result.assert_one_line_error(code=1)
    assert bad in line and f"{column} is " in line, line
    assert [k["client_id"] for k in result.json()] == [good]
    assert_inert(result.stdout + result.stderr)


def test_audit_prints_the_readable_events_and_names_the_damaged_one(db_path):
    create(db_path, "alpha")
    damage_sql(db_path, "INSERT INTO audit_events (at, actor, origin, action, environment, "
                        "client_id, detail) VALUES ('soon \x1b]0;pwned\x07', 'x', 'x', "
                        "'key.created', 'test', NULL, '')")
    for args in (("audit",), ("audit", "--json")):
        result = run_cli(*args, db=db_path)
        line = result.assert_one_line_error(code=1)
        assert "1 damaged audit event" in line and "at is not a time" in line, line
        assert "key.created" in result.stdout
        assert_inert(result.stdout + result.stderr)
