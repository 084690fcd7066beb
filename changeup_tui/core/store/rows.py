"""Rows into models, for both stores: one home for how a row of `api_keys`, `key_secrets`,
`audit_events` or `account` becomes a model. A row is read by column name (`sqlite3.Row` and
asyncpg's `Record` both are), a column that cannot be read is noted instead of failing the
query: a hand-edited or damaged row comes back as damaged, with the fields that could be read.

Times arrive as timezone-aware datetimes from PostgreSQL and as ISO-8601 text from SQLite; both
are accepted here. On PostgreSQL the column types make damage rare, but the same rules apply."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec

from changeup_tui.core.models import (
    Account,
    ApiKey,
    AuditEvent,
    Environment,
    KeyRecord,
    KeySecret,
    KeyStatus,
    SecretState,
    StoredSecret,
)

_E = TypeVar("_E", bound=enum.Enum)
_S = TypeVar("_S")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The stand-in of a time that could not be read (its column is in the row's `unreadable`)."""


class Row(Protocol):
    """A database row read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Any: ...


class Undecodable(str):
    """Text of a column that is not valid UTF-8, decoded with U+FFFD for each bad byte: the
    row is read (and shown as damaged) instead of SQLite's "Could not decode" failing the whole
    query, and that error, which quotes the raw bytes, never reaches a terminal. `raw` keeps
    the bytes, so such a value as a page's cursor still compares as stored."""

    raw: bytes


class RowReader:
    """Reads the columns of one row, noting each that cannot be read instead of failing."""

    __slots__ = ("problems", "row", "unreadable")

    def __init__(self, row: Row) -> None:
        self.row = row
        self.problems: list[str] = []
        self.unreadable: set[str] = set()

    def _bad(self, column: str, why: str) -> None:
        self.unreadable.add(column)
        self.problems.append(f"{column} {why}")

    def text(self, column: str) -> str:
        value = self.row[column]
        if type(value) is str:
            return value
        if isinstance(value, Undecodable):
            self._bad(column, "is not UTF-8 text")
            return str(value)
        if isinstance(value, bytes):
            try:
                return value.decode()
            except UnicodeDecodeError:
                self._bad(column, "is not UTF-8 text")
                return value.decode(errors="replace")
        self._bad(column, "is missing" if value is None else "is not text")
        return "" if value is None else str(value)

    def time(self, column: str) -> datetime | None:
        """A time column that may be NULL."""
        value = self.row[column]
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value
        elif type(value) is str:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed
        self._bad(column, "is not a time")
        return EPOCH

    def required_time(self, column: str) -> datetime:
        """A NOT NULL time column."""
        value = self.time(column)
        if value is None:
            self._bad(column, "is missing")
            return EPOCH
        return value

    def choice(self, column: str, kind: type[_E], stand_in: _S) -> _E | _S:
        value = self.row[column]
        try:
            return kind(value)
        except ValueError:
            self._bad(column, f"is not a known {column}")
            return stand_in

    @property
    def damaged(self) -> str:
        return "; ".join(self.problems)


def key_from_row(row: Row, secrets_count: int = 1) -> ApiKey:
    """From the columns client_id, environment, name, created_at, created_by, status,
    last_used_at, expires_at, status_changed_at, hint, secret_confirmed."""
    read = RowReader(row)
    client_id = read.text("client_id")
    return ApiKey(
        client_id=client_id,
        # A stand-in that keeps a damaged key in the more guarded environment unless its
        # Client ID says otherwise.
        environment=read.choice(
            "environment", Environment,
            Environment.TEST if client_id.startswith("cu_test_") else Environment.LIVE,
        ),
        name=read.text("name"),
        created_at=read.required_time("created_at"),
        created_by=read.text("created_by"),
        status=read.choice("status", KeyStatus, KeyStatus.DISABLED),
        last_used_at=read.time("last_used_at"),
        expires_at=read.time("expires_at"),
        status_changed_at=read.time("status_changed_at"),
        hint=read.text("hint"),
        secrets_count=secrets_count,
        damaged=read.damaged,
        unreadable=frozenset(read.unreadable),
        secret_confirmed=bool(row["secret_confirmed"]),
    )


def secret_from_row(row: Row, prefix: str = "") -> tuple[StoredSecret, str]:
    """A stored secret from the columns id, phc, hint, created_at, expires_at (each named with
    `prefix` first), and why it cannot be read whole ('' when it can)."""
    read = RowReader(row)
    secret = StoredSecret(
        id=row[f"{prefix}id"],
        phc=read.text(f"{prefix}phc"),
        hint=read.text(f"{prefix}hint"),
        created_at=read.required_time(f"{prefix}created_at"),
        expires_at=read.time(f"{prefix}expires_at"),
    )
    return secret, read.damaged


def key_record(key: ApiKey, secrets: list[tuple[StoredSecret, str]]) -> KeyRecord:
    """A key and its secrets as read (each with why it cannot be read whole): a secret that
    cannot be read whole is never verified against, and makes its key damaged."""
    problems = [f"secret {secret.id}: {why}" for secret, why in secrets if why]
    if problems:
        key = msgspec.structs.replace(key, damaged="; ".join([key.damaged, *problems] if key.damaged
                                                          else problems))
    return KeyRecord(key, tuple(secret for secret, why in secrets if not why))


def secret_state_from_row(row: Row, prefix: str = "") -> SecretState:
    """A secret's state (no hash) from the columns id, hint, expires_at (named with `prefix`
    first). An end of grace that cannot be read counts as long past: never usable."""
    read = RowReader(row)
    return SecretState(id=row[f"{prefix}id"], hint=read.text(f"{prefix}hint"),
                       expires_at=read.time(f"{prefix}expires_at"))


def grace_secret_from_row(row: Row) -> KeySecret | None:
    """A secret in a roll's grace period from the columns hint, created_at, expires_at; None
    when it cannot be read whole (get_key reports it: its key is damaged)."""
    read = RowReader(row)
    secret = KeySecret(hint=read.text("hint"), created_at=read.required_time("created_at"),
                       expires_at=read.time("expires_at"))
    return None if read.damaged else secret


def _key_name(row: Row) -> str | None:
    """The key's name joined to an event (list_audit): None without a key, or when the name is
    not text (the key's own row then shows as damaged; the event is not)."""
    value = row["key_name"] if "key_name" in row.keys() else None
    return value if isinstance(value, str) else None


def audit_from_row(row: Row) -> AuditEvent:
    """From the columns id, at, actor, origin, action, environment, client_id, detail, and
    key_name when the query joined it."""
    read = RowReader(row)
    environment = row["environment"]
    client_id = row["client_id"]
    return AuditEvent(
        id=row["id"],
        at=read.required_time("at"),
        actor=read.text("actor"),
        origin=read.text("origin"),
        action=read.text("action"),
        environment=read.choice("environment", Environment, None) if environment else None,
        client_id=None if client_id is None else read.text("client_id"),
        detail=read.text("detail"),
        damaged=read.damaged,
        unreadable=frozenset(read.unreadable),
        key_name=_key_name(row),
    )


def account_from_row(row: Row) -> Account:
    """From the columns display_name, email, organisation."""
    return Account(
        display_name=row["display_name"], email=row["email"], organisation=row["organisation"]
    )
