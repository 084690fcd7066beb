"""The store's interface. The service talks only to this, so a PostgreSQL store can follow.
Every write method is one transaction that also appends its audit event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from changeup_tui.core.models import (
    Account,
    ApiKey,
    AuditEvent,
    AuditQuery,
    Environment,
    KeyPage,
    KeyQuery,
    KeyRecord,
    KeySecret,
    KeyStatus,
)


class Store(Protocol):
    path: Path | None
    read_only: bool

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # reads
    async def get_account(self) -> Account | None: ...

    async def get_setting(self, key: str) -> str | None: ...

    async def get_key(self, client_id: str) -> KeyRecord | None: ...

    async def name_taken(
        self, environment: Environment, name_key: str, except_client_id: str | None = None
    ) -> bool: ...

    async def list_keys(self, query: KeyQuery) -> KeyPage: ...

    async def grace_secrets(
        self, client_ids: Sequence[str], now: datetime
    ) -> dict[str, tuple[KeySecret, ...]]: ...

    async def count_keys(self, query: KeyQuery) -> int: ...

    async def list_audit(self, query: AuditQuery) -> list[AuditEvent]: ...

    # writes: each one transaction
    async def save_account(self, account: Account, event: AuditEvent) -> None: ...

    async def set_setting(self, key: str, value: str) -> None: ...

    async def insert_key(
        self, key: ApiKey, name_key: str, phc: str, event: AuditEvent
    ) -> None: ...

    async def add_secret(
        self,
        client_id: str,
        phc: str,
        hint: str,
        at: datetime,
        old_expire_at: datetime,
        event: AuditEvent,
    ) -> None: ...

    async def end_grace(self, client_id: str, at: datetime, event: AuditEvent) -> int: ...

    async def set_status(
        self,
        client_id: str,
        status: KeyStatus,
        at: datetime,
        by: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> None: ...

    async def rename_key(
        self, client_id: str, name: str, name_key: str, event: AuditEvent
    ) -> None: ...

    async def replace_hash(self, secret_id: int, phc: str) -> None: ...

    async def touch_last_used(self, client_id: str, at: datetime, not_since: datetime) -> None: ...

    async def append_audit(self, event: AuditEvent) -> None: ...
