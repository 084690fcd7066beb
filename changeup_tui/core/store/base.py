"""The store's contract. The service talks only to this; SQLiteStore and a PostgreSQL store both
keep it, and one contract test suite runs on both.

A store holds data and enforces only what one statement can: it knows nothing of the rules.
- Every write method is one transaction that also appends its audit event (`event`); on any
  error, cancellation included, nothing of it is kept.
- The writes that change an existing key are compare-and-set: they change the key only while its
  status is one of `allowed_from` (the service's rule), checked in the write's own statement
  (`UPDATE ... WHERE client_id = ... AND status IN (...)`). They return True when the key was
  changed; False when no key matched (no such Client ID, or another status): then nothing was
  written, no audit event either, and the service reads the key again to say why.
- A name already held by a non-revoked key of the environment raises DuplicateName (the
  database's unique index decides, so two writers at once cannot both win).
- Database trouble raises a StoreError subclass whose message a person can act on.
- Reads return plain models (core/models.py), never driver rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from changeup_tui.core.models import (
    Account,
    ApiKey,
    AuditEvent,
    AuditQuery,
    Environment,
    KeyCursor,
    KeyPage,
    KeyQuery,
    KeyRecord,
    KeySecret,
    KeyState,
    KeyStatus,
    KeyUse,
)

if TYPE_CHECKING:
    from changeup_tui.core.store.copy import DatabaseDump


class Store(Protocol):
    path: Path | None
    """The database file, for messages; None for an in-memory or a server database."""
    read_only: bool
    """True when nothing can be written (a read-only file): the service skips optional writes."""
    exact_data_version: bool
    """True when `data_version` is read from the database itself, so that an equal value proves
    that no other connection committed anything in between (SQLite): a reader may then keep
    what it read since. False when it follows announcements that may lag (PostgreSQL)."""
    announces_changes: bool
    """True when `listen` tells of each key changed anywhere as it commits (PostgreSQL's
    LISTEN/NOTIFY). False when the store has no such announcements (SQLite, whose `listen`
    raises StoreError): readers keep to their staleness bound and `data_version`."""
    acting_role: str | None
    """Who the database itself records as having acted, when it does: on PostgreSQL the role the
    server authenticated (session_user, known once open), which triggers write as a key's
    `created_by` and each event's actor whatever the client sends. None where the client's
    actor is stored as given (SQLite)."""

    async def open(self) -> None:
        """Connect, check what is there and migrate it. Opening twice is harmless."""

    async def close(self) -> None:
        """Close the connection. Closing twice is harmless."""

    # -- reads ---------------------------------------------------------------------------------

    async def get_account(self) -> Account | None: ...

    async def get_setting(self, key: str) -> str | None: ...

    async def get_key(self, client_id: str) -> KeyRecord | None:
        """The key and all its stored secrets, newest first; None when there is no such key."""

    async def get_key_state(self, client_id: str) -> KeyState | None:
        """The key and, for each of its secrets, its id, hint and end (never a hash), in ONE
        query on indexed columns (Client ID, then the secrets' key id). A verifier calls it for
        every cached key older than its `max_staleness` and after every argon2 check, so it must
        stay one round trip. None for an unknown Client ID."""

    async def get_key_states(self, client_ids: Sequence[str]) -> dict[str, KeyState]:
        """`get_key_state` for many keys at once (a verifier re-reads the keys in use in the
        background, every `max_staleness / 2`): few statements (SQLite: one per 250 keys), each
        on the same indexes. Unknown Client IDs are absent from the answer."""

    async def name_taken(
        self, environment: Environment, name_key: str, except_client_id: str | None = None
    ) -> bool:
        """Whether a non-revoked key of `environment` other than `except_client_id` has this
        `name_key` (the casefolded form, names.name_key)."""

    async def list_keys(self, query: KeyQuery) -> KeyPage:
        """One page in the query's order (keyset pagination on `query.after`)."""

    async def list_keys_before(self, query: KeyQuery, before: KeyCursor | None) -> KeyPage:
        """The page that ends at the cursor `before` (the key it names included), or the query's
        last page when `before` is None: a keyset query read backwards, as cheap at the end of
        100,000 keys as `list_keys` is at their start (`home`/`end` in the list). At most
        `query.limit` keys, in the query's order; `query.after` is not used. `next_cursor` names
        the key just before the page (pass it as `before` for the page before this one; as
        `after`, `list_keys` reads this page again); None when the page starts at the first key."""

    async def grace_secrets(
        self, client_ids: Sequence[str], now: datetime
    ) -> dict[str, tuple[KeySecret, ...]]: ...

    async def count_keys(self, query: KeyQuery) -> int: ...

    async def list_audit(self, query: AuditQuery) -> list[AuditEvent]:
        """Newest first."""

    async def data_version(self) -> int:
        """A number that changes when another connection (another process, another operator)
        has committed a change since it was last read; this connection's own writes need not
        change it. Cheap enough to be polled a few times a second (no table is read): an open
        list compares it with the last value and reads its rows again only when it differs."""

    def listen(
        self, callback: Callable[[str], object]
    ) -> AbstractAsyncContextManager[asyncio.Event]:
        """While inside, `callback(client_id)` for each key created or changed anywhere, at its
        commit; yields an Event set when the announcements are lost (leave, and listen again).
        Only where `announces_changes`."""

    # -- writes: each one transaction with its audit event -------------------------------------
    # A key's event names that key (`event.client_id`): a PostgreSQL server refuses a change to
    # a key without an event for it in the same transaction (pg_migrations step 7).

    async def save_account(self, account: Account, event: AuditEvent) -> None: ...

    async def set_setting(self, key: str, value: str) -> None:
        """Per-database settings; the one write without an audit event."""

    async def insert_key(self, key: ApiKey, name_key: str, phc: str, event: AuditEvent) -> int:
        """A new key with its first secret (`phc`, hint `key.hint`), `key.secret_confirmed` as
        given; the id of that secret (what `confirm_secret` takes). DuplicateName when taken."""

    async def add_secret(
        self,
        client_id: str,
        phc: str,
        hint: str,
        at: datetime,
        old_expire_at: datetime,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
        *,
        secret_confirmed: bool = True,
    ) -> int | None:
        """Roll, compare-and-set on `allowed_from`: a new secret (newest hint shown), and every
        secret still valid at `old_expire_at` stops then (an earlier end is kept). The key's
        `secret_confirmed` is set with it (False while the TUI shows the new secret). The new
        secret's id, or None when the key was not in `allowed_from` (nothing written)."""

    async def confirm_secret(self, client_id: str, secret_id: int) -> bool:
        """The showing of the key's secret `secret_id` (from `insert_key` or `add_secret`) ended
        normally: mark the key confirmed. Only while that secret is still the key's newest (a
        later roll is not confirmed by it, even when its hint is the same). No audit event
        (nothing changed for a verifier). True when a mark was changed."""

    async def end_grace(self, client_id: str, at: datetime, event: AuditEvent) -> int: ...

    async def set_status(
        self,
        client_id: str,
        status: KeyStatus,
        at: datetime,
        by: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> bool:
        """Compare-and-set on `allowed_from`: the new status, when and by whom."""

    async def rename_key(
        self,
        client_id: str,
        name: str,
        name_key: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> bool:
        """Compare-and-set on `allowed_from`. DuplicateName when the name is taken."""

    async def export_rows(self) -> DatabaseDump:
        """Every row `db copy` moves (keys, secrets, audit, account, settings), read in one
        consistent snapshot, in the source's order."""

    # -- best-effort writes of a verify (no audit event) ---------------------------------------

    async def record_use(self, uses: Sequence[KeyUse]) -> None:
        """Successful verifications, all in ONE transaction, best effort (a short lock wait: a
        busy database must not hold up verification; the caller ignores a StoreError). For each
        use: `last_used_at = use.at` where it is NULL or older than `use.not_since`; and, when
        `use.new_phc` is set, `UPDATE` the secret `use.secret_id` to it only where its hash is
        still `use.old_phc` (compare-and-set: a concurrent roll or rehash wins). No audit event
        for "last used": a verification is not a change an operator made. A new hash is a
        change to a secret: PostgreSQL, whose server refuses one without an event, writes a
        `key.rehashed` event with it (pg_migrations step 7); SQLite writes none."""
