"""Moving a database to a PostgreSQL server (`changeup-tui db copy --to URL`): every key with its
hashes, Client ID, times and status, the account, the settings and the audit trail.

The source is read in one consistent snapshot; the target is written in ONE transaction that
first checks (under a table lock) that it holds no key: a copy that fails, or is refused, leaves
the target as it was. Key and secret ids are kept; audit events keep their order, times and
contents (the target numbers them after any event it already holds), and one `db.copied` event
closes the trail. Only hashes travel, never a secret: every Secret Key issued before still
verifies against the target."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, AuditEvent
from changeup_tui.core.store.base import Store

KEY_COLUMNS = (
    "id", "client_id", "environment", "name", "name_key", "hint", "created_at", "created_by",
    "last_used_at", "expires_at", "status", "status_changed_at", "status_changed_by",
    "secret_confirmed", "name_sort",
)
SECRET_COLUMNS = ("id", "key_id", "phc", "hint", "created_at", "expires_at", "shared_hash")
AUDIT_COLUMNS = ("at", "actor", "origin", "action", "environment", "client_id", "detail")
ACCOUNT_COLUMNS = ("display_name", "email", "organisation", "updated_at")
TIME_COLUMNS = frozenset(
    {"created_at", "last_used_at", "expires_at", "status_changed_at", "at", "updated_at"}
)
BOOL_COLUMNS = frozenset({"secret_confirmed"})
"""Stored by SQLite as 0 or 1, by PostgreSQL as a boolean."""


class DatabaseDump(msgspec.Struct):
    """Every row worth moving, as tuples in the column orders above (times as aware datetimes)."""

    keys: list[tuple[Any, ...]] = msgspec.field(default_factory=list)
    secrets: list[tuple[Any, ...]] = msgspec.field(default_factory=list)
    audit: list[tuple[Any, ...]] = msgspec.field(default_factory=list)
    """In the source's order (oldest first)."""
    account: tuple[Any, ...] | None = None
    settings: list[tuple[str, str]] = msgspec.field(default_factory=list)


class CopyReport(msgspec.Struct, frozen=True):
    keys: int
    secrets: int
    audit_events: int


async def export(store: Store) -> DatabaseDump:
    """Every row worth moving, from either store (its `export_rows`, one consistent snapshot)."""
    return await store.export_rows()


async def copy_database(
    source: Store, target: Store, *, actor: Actor, at: datetime, source_label: str
) -> CopyReport:
    """Copy everything from `source` to `target` (a PostgresStore holding no key), in one
    transaction on the target, closed by a `db.copied` audit event by `actor`."""
    from changeup_tui.core.store.postgres import PostgresStore

    if not isinstance(target, PostgresStore):
        raise StoreError("db copy writes to a PostgreSQL server: --to takes a postgresql:// URL")
    dump = await export(source)
    event = AuditEvent(
        at=at, actor=actor.user, origin=actor.origin, action="db.copied",
        detail=f"{len(dump.keys)} keys, {len(dump.audit)} events from {source_label}",
    )
    await target.import_rows(dump, event)
    return CopyReport(len(dump.keys), len(dump.secrets), len(dump.audit))

