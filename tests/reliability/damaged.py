"""Damaged rows, written straight into a database by raw SQL, past every CHECK: what a hand edit,
another program or a damaged file could leave. Shared by the store, CLI, Pilot and pty tests.

Each case is (label, SQL assignments for `UPDATE api_keys SET ...`, the column that cannot be
read). Several carry an escape sequence too, so that a message quoting them would change the
terminal's title."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

# "\xff" is not UTF-8; what follows is an OSC 0 (set the title) sequence.
NOT_UTF8_NAME = "CAST(X'ff1b5d303b70776e6564075f6e616d65' AS TEXT)"

DAMAGES: list[tuple[str, str, str]] = [
    ("name_not_utf8", f"name = {NOT_UTF8_NAME}", "name"),
    ("created_at_not_a_time", "created_at = 'yesterday \x1b]0;pwned\x07'", "created_at"),
    ("created_at_without_zone", "created_at = '2026-03-14T09:26:53'", "created_at"),
    ("created_at_a_blob", "created_at = X'00ff'", "created_at"),
    ("status_unknown", "status = 'bogus'", "status"),
    ("environment_unknown", "environment = 'staging'", "environment"),
    ("expires_at_not_a_time", "expires_at = '2026-13-45T99:00:00Z'", "expires_at"),
    ("last_used_at_a_number", "last_used_at = 12345", "last_used_at"),
    ("hint_not_utf8", "hint = CAST(X'ff1b5d30' AS TEXT)", "hint"),
]


def damage(path: Path, client_id: str, assignments: str) -> None:
    """`UPDATE api_keys SET <assignments>` for one key, CHECK constraints ignored."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        cursor = db.execute(f"UPDATE api_keys SET {assignments} WHERE client_id = ?", (client_id,))
        assert cursor.rowcount == 1


def damage_sql(path: Path, sql: str, *params: object) -> None:
    """Any statement, CHECK constraints ignored."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute(sql, params)
