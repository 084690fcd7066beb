"""Hostile names written into the database by raw SQL reach the command line's output inert:
no escape or control byte gets to the terminal, each key stays on its own line, and the text is
shown visibly escaped. JSON output stays valid and exact."""

from __future__ import annotations

import json
import sqlite3

import pytest

from changeup_tui.core.models import Environment
from tests.helpers.processes import run_cli

from .hostile import HOSTILE, NAMES, insert_hostile, migrate
from .support import raw_db

pytestmark = pytest.mark.slow

# Characters that drive or deceive a terminal, looked for in the decoded output (a lone 8-bit
# 0x9b byte decodes to U+DC9B with surrogateescape, so it is caught as well as U+009B in UTF-8).
CONTROLS = {
    "ESC": "\x1b",
    "C1 CSI (UTF-8)": "\x9b",
    "C1 CSI (8-bit byte)": "\udc9b",
    "BEL": "\x07",
    "BS": "\x08",
    "CR": "\r",
    "NUL": "\x00",
    "RLO U+202E": "\u202e",
    "PDF U+202C": "\u202c",
    "ZWSP U+200B": "\u200b",
}


def assert_inert(data: bytes) -> None:
    text = data.decode("utf-8", errors="surrogateescape")
    found = {label: text.count(ch) for label, ch in CONTROLS.items() if ch in text}
    assert not found, f"raw control characters reached the output: {found}"


@pytest.fixture
def hostile_db(db_path):
    rows = insert_hostile(db_path)
    assert len(rows) == len(HOSTILE)
    return db_path


def test_keys_list_plain_output_is_inert_and_visible(hostile_db):
    result = run_cli("keys", "list", db=hostile_db)
    assert result.code == 0, result.stderr
    assert_inert(result.stdout_bytes)
    header, *lines = result.stdout.splitlines()
    assert header.startswith("Name ")
    # A newline, CR or NUL in a name does not split or hide a row: one line per key.
    assert len(lines) == len(NAMES), lines
    # The injected sequences are shown, escaped, for a person to see.
    for shown in (
        r"title \x1b]0;pwned\x07 end",
        r"clip \x1b]52;c;cHduZWQ=\x07 end",
        r"clear \x1b[2J\x1b[H end",
        r"dcs \x1bPq#0;2;0;0;0\x1b\\ end",
        r"c1 \x9b2J end",
        r"bell \x07 end",
        r"back\x08\x08\x08space",
        r"carriage\x0dreturn",
        r"line\x0abreak",
        r"nul\x00byte",
        r"bidi \u202eevil.exe\u202c end",
        r"zero\u200bwidth",
        # Markup is plain text on the command line: printed as it is, never interpreted.
        "markup [/] end",
        "[@click=app.quit]x[/]",
        "[link=https://evil.example]x[/link]",
        "[bold red]loud[/bold red]",
    ):
        assert any(line.startswith(shown + " ") for line in lines), (shown, lines)
    # The 10,000-character name is cut, so a row stays readable.
    long_rows = [line for line in lines if "LLLL" in line]
    assert len(long_rows) == 1
    assert len(long_rows[0]) < 300 and long_rows[0].startswith("L" * 39 + "… ")


def test_keys_list_json_is_valid_and_exact(hostile_db):
    result = run_cli("keys", "list", "--json", db=hostile_db)
    assert result.code == 0, result.stderr
    assert b"\x1b" not in result.stdout_bytes and b"\x07" not in result.stdout_bytes
    keys = json.loads(result.stdout)
    assert sorted(k["name"] for k in keys) == sorted(NAMES)
    assert all(k["environment"] == "test" for k in keys)


def test_keys_list_json_carries_no_raw_c1_or_bidi(hostile_db):
    result = run_cli("keys", "list", "--json", db=hostile_db)
    assert result.code == 0, result.stderr
    assert_inert(result.stdout_bytes)


def test_keys_list_search_with_hostile_text_is_inert(hostile_db):
    result = run_cli("keys", "list", "--search", "pwned", db=hostile_db)
    assert result.code == 0, result.stderr
    assert_inert(result.stdout_bytes)
    assert len(result.stdout.splitlines()) == 1 + 1  # the header and the matching key


def _audit_row(path, column: str, text: str) -> None:
    values = {"actor": "alice", "origin": "local", "detail": "", column: text}
    with raw_db(path) as db, db:
        db.execute(
            "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, detail) "
            "VALUES ('2026-03-14T09:26:53.000000Z', ?, ?, 'key.created', 'test', NULL, ?)",
            (values["actor"], values["origin"], values["detail"]),
        )


@pytest.mark.parametrize(
    "column",
    [
        "detail",
        "actor",
        "origin",
        "action",
    ],
)
def test_audit_plain_output_is_inert(db_path, column):
    migrate(db_path)
    for name in NAMES:
        if column == "action":
            with raw_db(db_path) as db, db:
                db.execute(
                    "INSERT INTO audit_events (at, actor, origin, action, environment, client_id,"
                    " detail) VALUES ('2026-03-14T09:26:53.000000Z', 'alice', 'local', ?, NULL, "
                    "NULL, '')", (name,),
                )
        else:
            _audit_row(db_path, column, name)
    result = run_cli("audit", db=db_path)
    assert result.code == 0, result.stderr
    assert_inert(result.stdout_bytes)
    assert len(result.stdout.splitlines()) == len(NAMES)
    assert r"\x1b]52;c;cHduZWQ=\x07" in result.stdout


def test_audit_json_is_valid_and_exact(hostile_db):
    result = run_cli("audit", "--json", db=hostile_db)
    assert result.code == 0, result.stderr
    assert_inert(result.stdout_bytes)  # ensure_ascii: every non-ASCII character is escaped
    events = json.loads(result.stdout)
    assert sorted(e["detail"] for e in events) == sorted(NAMES)
    assert sorted(e["actor"] for e in events) == sorted(n[:200] for n in NAMES)


def test_error_message_echoing_hostile_client_id_is_one_inert_line(db_path):
    migrate(db_path)
    result = run_cli("keys", "disable", "cu_test_ci_\x1b]0;pwned\x07\nsecond line", db=db_path)
    line = result.assert_one_line_error(1)
    assert_inert(result.stderr_bytes)
    assert "pwned" in line


def test_create_and_list_beside_hostile_rows(hostile_db):
    """Writes beside hostile rows work: create a clean key and list everything."""
    created = run_cli("keys", "create", "--name", "clean key", "--env", "test", "--json",
                      db=hostile_db)
    assert created.code == 0, created.stderr
    listing = run_cli("keys", "list", "--env", "test", db=hostile_db)
    assert listing.code == 0, listing.stderr
    assert_inert(listing.stdout_bytes)
    assert len(listing.stdout.splitlines()) == 1 + len(NAMES) + 1  # the header, the keys
    with raw_db(hostile_db) as db:
        stored = {row[0] for row in db.execute("SELECT name FROM api_keys")}
    assert set(NAMES) <= stored  # nothing rewrote the hostile rows


def test_fixture_names_are_really_stored_raw(hostile_db):
    """The fixture itself: the names went in byte for byte (a test of the test)."""
    with raw_db(hostile_db) as db:
        stored = sorted(row[0] for row in db.execute(
            "SELECT name FROM api_keys WHERE environment = ?", (Environment.TEST.value,)))
    assert stored == sorted(NAMES)
    with pytest.raises(sqlite3.IntegrityError):  # the audit table still refuses rewriting
        with raw_db(hostile_db) as db, db:
            db.execute("DELETE FROM audit_events")
