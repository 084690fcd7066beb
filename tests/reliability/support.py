"""Small helpers for the reliability tests: read a database with plain sqlite3 and check it is
whole. Running the command line is `run_cli` (tests/helpers/processes.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


@contextlib.contextmanager
def raw_db(path: Path, *, readonly: bool = False):
    uri = f"file:{path}?mode={'ro' if readonly else 'rw'}"
    db = sqlite3.connect(uri, uri=True)
    try:
        yield db
    finally:
        db.close()


def integrity(path: Path) -> str:
    with raw_db(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def orphans(path: Path) -> dict[str, list]:
    """Rows that a half-written create would leave: keys without a secret or without their
    'key.created' event, secrets without a key."""
    with raw_db(path) as db:
        return {
            "key_without_secret": db.execute(
                "SELECT client_id FROM api_keys k WHERE NOT EXISTS "
                "(SELECT 1 FROM key_secrets s WHERE s.key_id = k.id)"
            ).fetchall(),
            "key_without_event": db.execute(
                "SELECT client_id FROM api_keys k WHERE NOT EXISTS (SELECT 1 FROM audit_events "
                "a WHERE a.client_id = k.client_id AND a.action = 'key.created')"
            ).fetchall(),
            "secret_without_key": db.execute(
                "SELECT id FROM key_secrets s WHERE NOT EXISTS "
                "(SELECT 1 FROM api_keys k WHERE k.id = s.key_id)"
            ).fetchall(),
            "event_without_key": db.execute(
                "SELECT client_id FROM audit_events a WHERE a.action = 'key.created' AND NOT "
                "EXISTS (SELECT 1 FROM api_keys k WHERE k.client_id = a.client_id)"
            ).fetchall(),
        }


def no_orphans(path: Path) -> bool:
    return not any(orphans(path).values())


def client_ids(path: Path) -> set[str]:
    with raw_db(path) as db:
        return {row[0] for row in db.execute("SELECT client_id FROM api_keys")}
