"""Hostile key names, written straight into a database by raw SQL, past the name rules: what
another program (or a person with `sqlite3`) could leave in a shared database file.

Shared by the command-line tests (test_hostile_cli.py) and the pseudo-terminal tests
(test_hostile_pty.py). Every name is distinct, so all of them can be active keys of one
environment at once."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

from changeup_tui.core.credentials import BASE62, client_id_from_body
from changeup_tui.core.models import Environment
from changeup_tui.core.names import name_key, sort_key
from changeup_tui.core.store.sqlite import SQLiteStore

# (label, name). Labels are for test ids and messages; names are the payloads.
HOSTILE: list[tuple[str, str]] = [
    ("osc0_title", "title \x1b]0;pwned\x07 end"),
    ("osc52_clipboard", "clip \x1b]52;c;cHduZWQ=\x07 end"),
    ("csi_clear_home", "clear \x1b[2J\x1b[H end"),
    ("csi_colour", "red \x1b[31mRED\x1b[0m end"),
    ("dcs", "dcs \x1bPq#0;2;0;0;0\x1b\\ end"),
    ("c1_csi_8bit", "c1 \x9b2J end"),
    ("bel", "bell \x07 end"),
    ("backspace", "back\x08\x08\x08space"),
    ("carriage_return", "carriage\rreturn"),
    ("newline", "line\nbreak"),
    ("nul", "nul\x00byte"),
    ("markup_close", "markup [/] end"),
    ("markup_click", "[@click=app.quit]x[/]"),
    ("markup_link", "[link=https://evil.example]x[/link]"),
    ("markup_bold", "[bold red]loud[/bold red]"),
    ("bidi_rlo", "bidi \u202eevil.exe\u202c end"),
    ("zero_width", "zero\u200bwidth"),
    ("long_10000", "L" * 10_000),
]

NAMES: list[str] = [name for _, name in HOSTILE]

# Raw sequences that must never reach a terminal.
FORBIDDEN_STR: list[str] = [
    "\x1b]0;pwned",
    "\x1b]52;c;cHduZWQ=",
    "\x1b[2J\x1b[H end",
    "\x1bPq",
    "\x9b",
    "\u202e",
    "\u200b",
]
FORBIDDEN_BYTES: list[bytes] = [
    b"\x1b]0;pwned",
    b"\x1b]52;c;cHduZWQ=",
    b"\x1bPq",
    "\x9b".encode(),  # C1 CSI as UTF-8 (C2 9B)
    b"\x9b",  # ... and as a raw 8-bit byte
    "\u202e".encode(),
    "\u200b".encode(),
]


def fake_client_id(environment: Environment, index: int) -> str:
    """A well-formed Client ID, distinct per index."""
    body = "H0st1le" + BASE62[index // 62 % 62] + BASE62[index % 62]
    return client_id_from_body(environment, body.ljust(24, "x"))


# A PHC string of the pinned parameters that matches nothing anyone holds.
DUMMY_PHC = (
    "$argon2id$v=19$m=65536,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)


def migrate(path: Path) -> None:
    """Create (or migrate) the database at `path` through the real store. Works from sync code
    and from inside a running event loop (it runs in its own thread)."""

    async def open_close() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(open_close())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def insert_hostile(
    path: Path,
    names: list[str] | None = None,
    *,
    environment: Environment = Environment.TEST,
    created_at: str = "2026-03-14T09:26:53.000000Z",
    audit: bool = True,
) -> list[tuple[str, str]]:
    """Migrate `path` if needed, then write one active key per name (with a dummy hash, hint
    'xxxx') by raw SQL, and, with `audit`, one audit event per name whose actor, origin and
    detail are the hostile text. Returns [(client_id, name)]."""
    migrate(path)
    names = NAMES if names is None else names
    rows: list[tuple[str, str]] = []
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for index, name in enumerate(names):
            client_id = fake_client_id(environment, index)
            cursor = db.execute(
                "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
                "created_at, created_by, status) VALUES (?, ?, ?, ?, ?, 'xxxx', ?, ?, 'active')",
                (client_id, environment.value, name, name_key(name), sort_key(name), created_at,
                 name[:200]),
            )
            db.execute(
                "INSERT INTO key_secrets (key_id, phc, hint, created_at) VALUES (?, ?, 'xxxx', ?)",
                (cursor.lastrowid, DUMMY_PHC, created_at),
            )
            if audit:
                db.execute(
                    "INSERT INTO audit_events (at, actor, origin, action, environment, "
                    "client_id, detail) VALUES (?, ?, ?, 'key.created', ?, ?, ?)",
                    (created_at, name[:200], name[:200], environment.value, client_id, name),
                )
            rows.append((client_id, name))
    return rows
