"""Small helpers for the reliability tests: run the real command line in a subprocess, read a
database with plain sqlite3, and check it is whole."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from changeup_tui.testing import child_env

PROG_PREFIX = "changeup-tui: "


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", errors="surrogateescape")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", errors="surrogateescape")

    def one_line_error(self, code: int = 2) -> str:
        """Assert exit `code`, exactly one line on stderr, no traceback; return the line."""
        assert self.code == code, (self.code, self.out, self.err)
        assert "Traceback" not in self.err, self.err
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith(PROG_PREFIX), self.err
        return lines[0]




def cli(
    *args: str | Path,
    db: Path | None = None,
    prefix: Sequence[str] = (),
    stdin: bytes | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 60,
) -> Result:
    """Run `python -m changeup_tui [--db DB] ARGS...`; `prefix` (say, ['unshare', '--user'])
    goes before the interpreter."""
    argv = [*prefix, sys.executable, "-m", "changeup_tui"]
    if db is not None:
        argv += ["--db", str(db)]
    argv += [str(a) for a in args]
    proc = subprocess.run(
        argv, input=stdin if stdin is not None else b"", capture_output=True,
        env=child_env(), timeout=timeout, preexec_fn=preexec_fn,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


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
