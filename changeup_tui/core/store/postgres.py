"""The PostgreSQL store (asyncpg), behind the same contract as the SQLite one (base.Store).

A connection pool, closed by close(). Every write is one transaction holding its audit event,
rolled back on any exception, cancellation included; once COMMIT is sent it is waited for. The
rules the database enforces: names unique per environment among keys that are not revoked
(case-insensitive, a partial unique index), the audit append-only (a trigger; the README's roles
hold no UPDATE or DELETE on it), status changes as compare-and-set. Errors are recognised by
asyncpg's exception classes (SQLSTATE), never by message text, and come out as StoreErrors: a
server that cannot be reached or went away is a ServerUnavailable, and the next call tries again
on a fresh connection.

Who acted is the database's to say: triggers record the role the server authenticated as the
actor of each audit event and as a key's `created_by` (pg_migrations step 4), whatever the client
sends; `import_rows` (db copy) alone, run by the tables' owner, keeps the copied rows' actors.
And no change to a key without its audit event: the server refuses at COMMIT a transaction that
changed a key or its secrets (but for "last used" and the confirmed mark) without writing an event
for that key's Client ID (pg_migrations step 7), so each write's event names its key."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.exceptions as pgerr

from changeup_tui.core.config import PostgresTarget
from changeup_tui.core.errors import (
    DatabaseLocked,
    DiskFull,
    DuplicateName,
    NotADatabase,
    ReadOnlyDatabase,
    SchemaTooNew,
    ServerUnavailable,
    StoreError,
)
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
    SortField,
)
from changeup_tui.core.names import name_key, sort_key
from changeup_tui.core.store.copy import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    KEY_COLUMNS,
    SECRET_COLUMNS,
    DatabaseDump,
)
from changeup_tui.core.store.pg_migrations import LATEST_VERSION, MIGRATIONS
from changeup_tui.core.store.rows import (
    account_from_row,
    audit_from_row,
    grace_secret_from_row,
    key_from_row,
    key_record,
    secret_from_row,
    secret_state_from_row,
)
from changeup_tui.core.store.search import CLIENT_ID_CHARS, like_pattern

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
BEST_EFFORT_LOCK_MS = 200
"""How long a verify waits for a row lock to record "last used" or a rehash before giving up."""
CHANGES_CHANNEL = "changeup_keys"
REHASH_ACTION = "key.rehashed"
REHASH_ORIGIN = "verify"
REHASH_DETAIL = "hash upgraded to the current argon2 parameters on a successful verify"
"""The audit event of a hash upgrade (record_use), which the server requires (pg_migrations step
7); its actor is the role, as for every event."""
SERVER_SETTINGS = {"application_name": "changeup-tui"}
# asyncpg prepares every statement; after five runs the server may switch to a generic plan,
# chosen without the parameters: for a search '%k%' it walked the whole trigram index (400 ms
# instead of 50 at 100,000 keys, bench/filter.py). The list, count and audit reads plan afresh
# each time (SET LOCAL in their own read-only transaction: two more round trips, well under 1 ms);
# every other statement keeps its cached plan, so a verify's look-ups are not planned again each
# time (about 100 µs each on the server when this was set for every connection).
_CUSTOM_PLAN = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan"
# pg_advisory_xact_lock takes a bigint: a fixed one derived from a name, for the migrations.
MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"changeup-tui migrations").digest()[:8], "big", signed=True)

_KEY_COLUMNS = (
    "k.id, k.client_id, k.environment, k.name, k.created_at, k.created_by, k.status, "
    "k.last_used_at, k.expires_at, k.status_changed_at, k.hint, k.secret_confirmed"
)
_NEVER = "'-infinity'::timestamptz"
_STATE_SQL = (
    f"SELECT {_KEY_COLUMNS}, s.id AS secret_id, s.hint AS secret_hint, "
    "s.expires_at AS secret_expires_at FROM api_keys k "
    "LEFT JOIN key_secrets s ON s.key_id = k.id "
    "WHERE {where} ORDER BY k.client_id, s.id DESC"
)

# Keyset pagination: per sort, the ORDER BY, the cursor expression and its comparison.
_SORTS: dict[SortField, tuple[str, str, str]] = {
    SortField.CREATED: ("k.created_at DESC, k.id DESC", "(k.created_at, k.id)", "<"),
    SortField.NAME: ("k.name_sort ASC, k.id ASC", "(k.name_sort, k.id)", ">"),
    SortField.LAST_USED: (
        f"coalesce(k.last_used_at, {_NEVER}) DESC, k.id DESC",
        f"(coalesce(k.last_used_at, {_NEVER}), k.id)",
        "<",
    ),
}
_CURSOR_COLUMNS = {
    SortField.CREATED: "k.created_at AS cursor_a, k.id AS cursor_b",
    SortField.NAME: "k.name_sort AS cursor_a, k.id AS cursor_b",
    SortField.LAST_USED: f"coalesce(k.last_used_at, {_NEVER}) AS cursor_a, k.id AS cursor_b",
}

_UNAVAILABLE = (
    pgerr.PostgresConnectionError,  # incl. ConnectionDoesNotExistError, CannotConnectNowError
    pgerr.OperatorInterventionError,  # admin or crash shutdown, query cancelled by the server
    pgerr.ClientCannotConnectError,
    OSError,  # refused, no socket file, unreachable
    asyncio.TimeoutError,
)



def translate(
    exc: BaseException, where: str, environment: Environment | None = None
) -> StoreError | DuplicateName:
    """Turn an asyncpg (or socket) error into a message a person can act on, by its class."""
    if isinstance(exc, pgerr.UniqueViolationError) and exc.constraint_name == "api_keys_live_name":
        label = environment.label if environment else "this environment"
        return DuplicateName(f"A {label} key with this name already exists.")
    if isinstance(exc, pgerr.InvalidCatalogNameError):
        return StoreError(f"no such database on the server: {where}")
    if isinstance(exc, pgerr.InvalidAuthorizationSpecificationError):  # incl. a wrong password
        return StoreError(f"the server refused the login ({exc.sqlstate}): {where}")
    if isinstance(exc, pgerr.InsufficientPrivilegeError):
        return StoreError(f"this database role may not do that ({exc.message}): {where}")
    if isinstance(exc, pgerr.ReadOnlySQLTransactionError):
        return ReadOnlyDatabase(f"the server is read-only (a standby?): {where}")
    if isinstance(exc, pgerr.DiskFullError | pgerr.InsufficientResourcesError):
        return DiskFull(
            f"the server cannot write (disk full or out of resources); nothing was saved: {where}"
        )
    if isinstance(exc, pgerr.TooManyConnectionsError):
        return ServerUnavailable(f"the server has no free connection (too many clients); try again: {where}")
    if isinstance(exc, pgerr.LockNotAvailableError | pgerr.DeadlockDetectedError | pgerr.SerializationError):
        return DatabaseLocked(f"the change met another one at the same time; try again: {where}")
    if isinstance(exc, _UNAVAILABLE):
        return ServerUnavailable(
            f"the database server is not answering (or went away); try again when it is back: {where}"
        )
    if isinstance(exc, pgerr.IntegrityConstraintViolationError | pgerr.RaiseError):
        return StoreError(f"the database refused the change: {exc.message}")
    if isinstance(exc, pgerr.InterfaceError):
        return StoreError(f"database connection error ({exc}): {where}")
    if isinstance(exc, pgerr.PostgresError):
        return StoreError(f"database error {exc.sqlstate}: {exc.message}: {where}")
    return StoreError(f"database error ({type(exc).__name__}): {where}")


_DB_ERRORS = (pgerr.PostgresError, pgerr.InterfaceError, OSError, asyncio.TimeoutError)


class _Params:
    """Positional parameters ($1, $2...) collected while a query is built."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


async def _no_session_state(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release, after asyncpg rolled back any transaction left open: nothing
    more. This store leaves no session state on a pooled connection (settings are SET LOCAL, the
    advisory lock is per transaction, LISTEN has its own connection), so the default reset query
    (UNLISTEN, RESET ALL, ...) would be one more round trip per statement for nothing."""


class PostgresStore:
    """The system of record on a PostgreSQL server. `await store.open()` before use, `await
    store.close()` after. `create=False`: a database without the schema is refused, not set up.

    `min_size=0`: the pool keeps the connections it opened but never reconnects in the background
    (asyncpg logs a traceback to stderr when that fails while the server is away); the next call
    connects again."""

    exact_data_version = False  # follows the announcements, which may lag a commit
    announces_changes = True  # LISTEN/NOTIFY: see listen()

    def __init__(
        self, target: PostgresTarget | str, *, create: bool = True, min_size: int = 0, max_size: int = 10
    ) -> None:
        self.target = target if isinstance(target, PostgresTarget) else PostgresTarget(target)
        self.path: Path | None = None
        self.read_only = False
        self._create = create
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._where = self.target.display
        self._data_version = 0
        self._version_task: asyncio.Task[None] | None = None
        self.acting_role: str | None = None
        """The role the server authenticated (session_user), once open: what the triggers
        record as a key's `created_by` and each event's actor (pg_migrations step 4)."""

    # -- opening and closing -------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self.target.url, min_size=self._min_size, max_size=self._max_size,
                timeout=CONNECT_TIMEOUT_S, server_settings=SERVER_SETTINGS, reset=_no_session_state,
            )
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None
        except pgerr.ClientConfigurationError as exc:
            raise StoreError(f"cannot use the database URL ({exc}): {self._where}") from None
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._version_task is not None:
            self._version_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._version_task
            self._version_task = None
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
        except BaseException:
            pool.terminate()

    def _need_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the database is not open")
        return self._pool

    # -- migrations ----------------------------------------------------------------------------

    @staticmethod
    async def _version(conn: PoolConnectionProxy) -> tuple[int, int]:
        """(schema version, how many other tables the current schema holds)."""
        row = await conn.fetchrow(
            "SELECT to_regclass('schema_version') IS NOT NULL AS versioned, "
            "(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            " AND tablename <> 'schema_version') AS tables"
        )
        assert row is not None  # one row, always
        tables = int(row["tables"])
        if not row["versioned"]:
            return 0, tables
        version = await conn.fetchval("SELECT max(version) FROM schema_version")
        return int(version or 0), tables

    def _check_version(self, version: int, tables: int) -> None:
        if version > LATEST_VERSION:
            raise SchemaTooNew(
                f"the database was written by a newer changeup-tui (schema {version}; this one "
                f"knows {LATEST_VERSION}): upgrade changeup-tui: {self._where}"
            )
        if version == 0 and tables:
            raise NotADatabase(
                f"the database holds another program's tables, not a changeup-tui schema; "
                f"nothing was changed: {self._where}"
            )
        if version == 0 and not self._create:
            raise StoreError(
                f"no changeup-tui keys in this database yet (no schema: run `changeup-tui db init` "
                f"as the database's owner role): {self._where}"
            )

    async def _migrate(self) -> None:
        """Bring the schema up to date: one transaction under an advisory lock, so two processes
        starting at once on a new database migrate it once, and a failed step leaves it as it was."""
        try:
            async with self._need_pool().acquire() as conn:
                # The server reports it at connection start (a ParameterStatus): no query.
                role = getattr(conn.get_settings(), "session_authorization", None)
                self.acting_role = str(role) if role else await conn.fetchval("SELECT session_user")
                version, tables = await self._version(conn)
                self._check_version(version, tables)
                if version == LATEST_VERSION:
                    return
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                        version, tables = await self._version(conn)  # another process may have done it
                        self._check_version(version, tables)
                        await conn.execute(
                            "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"
                        )
                        for number in range(version, LATEST_VERSION):
                            await conn.execute(MIGRATIONS[number])
                            await conn.execute(
                                "INSERT INTO schema_version (version) VALUES ($1)", number + 1
                            )
                except pgerr.InsufficientPrivilegeError:
                    # An operator's or a verifier's role met a schema that is missing or older
                    # than this changeup-tui ("must be owner of table ..."): only the owner may
                    # create or change it.
                    raise StoreError(
                        f"the database's schema is missing or older than this changeup-tui "
                        f"(version {version}, needs {LATEST_VERSION}): run `changeup-tui db init` "
                        f"as the database's owner role: {self._where}"
                    ) from None
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None

    # -- transactions --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _write(
        self, environment: Environment | None = None, *, lock_timeout_ms: int | None = None
    ) -> AsyncIterator[PoolConnectionProxy]:
        """One transaction. Rolled back on any exception, cancellation included; once COMMIT is
        sent it is waited for, so a cancelled caller never leaves the outcome unknown."""
        try:
            async with self._need_pool().acquire() as conn:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    if lock_timeout_ms is not None:
                        await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                    yield conn
                except BaseException:
                    with contextlib.suppress(*_DB_ERRORS):
                        await asyncio.shield(transaction.rollback())
                    raise
                commit = asyncio.ensure_future(transaction.commit())
                try:
                    await asyncio.shield(commit)
                except asyncio.CancelledError:
                    with contextlib.suppress(BaseException):
                        await commit
                    raise
        except _DB_ERRORS as exc:
            raise translate(exc, self._where, environment) from None

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return await self._need_pool().fetch(sql, *args)
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None

    async def _fetch_planned(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """As _fetch, planned for these parameters (see _CUSTOM_PLAN): for the statements whose
        best plan depends on them (a search pattern, a page's cursor and size)."""
        try:
            async with self._need_pool().acquire() as conn:
                try:
                    await conn.execute(_CUSTOM_PLAN)  # one round trip (simple query protocol)
                    rows = await conn.fetch(sql, *args)
                except BaseException:
                    if not conn.is_closed():
                        with contextlib.suppress(*_DB_ERRORS):
                            await asyncio.shield(conn.execute("ROLLBACK"))
                    raise
                await conn.execute("ROLLBACK")  # read only: nothing to keep
                return rows
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None

    # -- reads ---------------------------------------------------------------------------------

    async def data_version(self) -> int:
        """A counter moved by the change announcements (LISTEN/NOTIFY, see listen()), followed
        by a task started at the first call: no query per poll. It also moves when the
        announcements were lost and heard again (what changed meanwhile is not known)."""
        if self._version_task is None or self._version_task.done():
            self._version_task = asyncio.create_task(self._follow_versions())
        return self._data_version

    def _bump(self, _client_id: str) -> None:
        self._data_version += 1

    async def _follow_versions(self) -> None:
        while True:
            try:
                async with self.listen(self._bump) as lost:
                    self._data_version += 1
                    await lost.wait()
            except StoreError:
                pass
            await asyncio.sleep(2.0)

    async def get_account(self) -> Account | None:
        rows = await self._fetch("SELECT display_name, email, organisation FROM account")
        if not rows:
            return None
        row = rows[0]
        return account_from_row(row)

    async def get_setting(self, key: str) -> str | None:
        rows = await self._fetch("SELECT value FROM settings WHERE key = $1", key)
        return rows[0]["value"] if rows else None

    async def get_key(self, client_id: str) -> KeyRecord | None:
        rows = await self._fetch(
            f"SELECT {_KEY_COLUMNS}, s.id AS secret_id, s.phc AS secret_phc, "
            "s.hint AS secret_hint, s.created_at AS secret_created_at, "
            "s.expires_at AS secret_expires_at "
            "FROM api_keys k LEFT JOIN key_secrets s ON s.key_id = k.id "
            "WHERE k.client_id = $1 ORDER BY s.id DESC",
            client_id,
        )
        if not rows:
            return None
        secrets = [secret_from_row(r, "secret_") for r in rows if r["secret_id"] is not None]
        return key_record(key_from_row(rows[0], secrets_count=len(secrets)), secrets)

    async def get_key_state(self, client_id: str) -> KeyState | None:
        # A statement of its own (= $1, not = ANY of a one-element array): the server caches a
        # generic plan for it after its first runs, where for = ANY($1) it plans every time
        # (tests/unit/test_pg_plans.py). A cache miss of the verifiers reads it after argon2.
        rows = await self._fetch(_STATE_SQL.format(where="k.client_id = $1"), client_id)
        return self._states(rows).get(client_id)

    async def get_key_states(self, client_ids: Sequence[str]) -> dict[str, KeyState]:
        # One statement for all: the unique index on client_id finds each key (= ANY of an
        # array), key_secrets_key its secrets. No hash is read.
        if not client_ids:
            return {}
        rows = await self._fetch(
            _STATE_SQL.format(where="k.client_id = ANY($1::text[])"), list(client_ids)
        )
        return self._states(rows)

    @staticmethod
    def _states(rows: list[asyncpg.Record]) -> dict[str, KeyState]:
        grouped: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            grouped.setdefault(row["client_id"], []).append(row)
        states: dict[str, KeyState] = {}
        for client_id, key_rows in grouped.items():
            secrets = tuple(
                secret_state_from_row(r, "secret_") for r in key_rows if r["secret_id"] is not None
            )
            states[client_id] = KeyState(
                key_from_row(key_rows[0], secrets_count=len(secrets)), secrets
            )
        return states

    async def name_taken(
        self, environment: Environment, name_key: str, except_client_id: str | None = None
    ) -> bool:
        rows = await self._fetch(
            "SELECT client_id FROM api_keys WHERE environment = $1 AND name_key = $2 "
            "AND status <> 'revoked'",
            environment.value, name_key,
        )
        return any(row["client_id"] != except_client_id for row in rows)

    @staticmethod
    def _where_clauses(query: KeyQuery, p: _Params) -> list[str]:
        clauses: list[str] = []
        if query.environment is not None:
            clauses.append(f"k.environment = {p(query.environment.value)}")
        if not query.include_revoked:
            clauses.append("k.status <> 'revoked'")
        if query.search:
            name_like = f"k.name_key LIKE {p(like_pattern(name_key(query.search)))} ESCAPE '\\'"
            if CLIENT_ID_CHARS.fullmatch(query.search):
                clauses.append(
                    f"({name_like} OR k.client_id LIKE {p(like_pattern(query.search))} ESCAPE '\\')"
                )
            else:  # a character no Client ID holds: only the name can match
                clauses.append(name_like)
        return clauses

    async def list_keys(self, query: KeyQuery) -> KeyPage:
        """Two steps in one statement: the page's ids and cursors from the sort's covering index
        (an index-only scan, filters included), then those rows from the table."""
        p = _Params()
        clauses = self._where_clauses(query, p)
        order, cursor_expr, op = _SORTS[query.sort]
        if query.after is not None:
            first, second = query.after
            clauses.append(f"{cursor_expr} {op} ({p(first)}, {p(second)})")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._fetch_planned(
            f"SELECT {_KEY_COLUMNS}, page.cursor_a, page.cursor_b FROM "
            f"(SELECT k.id, {_CURSOR_COLUMNS[query.sort]} FROM api_keys k {where} "
            f"ORDER BY {order} LIMIT {p(query.limit + 1)}) page "
            "JOIN api_keys k ON k.id = page.id ORDER BY page.cursor_a"
            f"{' DESC' if op == '<' else ''}, page.cursor_b{' DESC' if op == '<' else ''}",
            *p.values,
        )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        keys = tuple(key_from_row(row) for row in rows)
        next_cursor = (rows[-1]["cursor_a"], rows[-1]["cursor_b"]) if more and rows else None
        return KeyPage(keys, next_cursor)

    async def list_keys_before(self, query: KeyQuery, before: KeyCursor | None) -> KeyPage:
        """As list_keys, read backwards: the sort's index scanned from the end (or from
        `before`, included) for `limit + 1` ids, then the rows in the query's order; the first
        one, when there are `limit + 1`, is the key just before the page (its cursor is the
        page's `next_cursor`)."""
        p = _Params()
        clauses = self._where_clauses(query, p)
        order, cursor_expr, op = _SORTS[query.sort]
        if before is not None:
            first, second = before
            clauses.append(f"{cursor_expr} {'>=' if op == '<' else '<='} ({p(first)}, {p(second)})")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        backwards = re.sub(r"\b(ASC|DESC)\b",
                           lambda m: "DESC" if m[0] == "ASC" else "ASC", order)
        direction = " DESC" if op == "<" else ""
        rows = await self._fetch_planned(
            f"SELECT {_KEY_COLUMNS}, page.cursor_a, page.cursor_b FROM "
            f"(SELECT k.id, {_CURSOR_COLUMNS[query.sort]} FROM api_keys k {where} "
            f"ORDER BY {backwards} LIMIT {p(query.limit + 1)}) page "
            f"JOIN api_keys k ON k.id = page.id ORDER BY page.cursor_a{direction}, "
            f"page.cursor_b{direction}",
            *p.values,
        )
        more = len(rows) > query.limit
        keys = tuple(key_from_row(row) for row in (rows[1:] if more else rows))
        previous = (rows[0]["cursor_a"], rows[0]["cursor_b"]) if more else None
        return KeyPage(keys, previous)

    async def grace_secrets(
        self, client_ids: Sequence[str], now: datetime
    ) -> dict[str, tuple[KeySecret, ...]]:
        """For each of `client_ids` that has any, its secrets still in a roll's grace period at
        `now` (newest first). A revoked key has none. One query for a whole page of keys."""
        if not client_ids:
            return {}
        rows = await self._fetch(
            "SELECT k.client_id, s.hint, s.created_at, s.expires_at "
            "FROM api_keys k JOIN key_secrets s ON s.key_id = k.id "
            "WHERE k.client_id = ANY($1::text[]) AND k.status <> 'revoked' AND s.expires_at > $2 "
            "ORDER BY k.client_id, s.id DESC",
            list(client_ids), now,
        )
        found: dict[str, list[KeySecret]] = {}
        for row in rows:
            secret = grace_secret_from_row(row)
            if secret is not None:  # a damaged secret is reported by get_key (its key is damaged)
                found.setdefault(row["client_id"], []).append(secret)
        return {client_id: tuple(secrets) for client_id, secrets in found.items()}

    async def count_keys(self, query: KeyQuery) -> int:
        p = _Params()
        clauses = self._where_clauses(query, p)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._fetch_planned(f"SELECT count(*) AS n FROM api_keys k {where}", *p.values)
        return int(rows[0]["n"])

    async def list_audit(self, query: AuditQuery) -> list[AuditEvent]:
        p = _Params()
        clauses: list[str] = []
        if query.client_id:
            clauses.append(f"a.client_id = {p(query.client_id)}")
        if query.action:
            clauses.append(f"a.action = {p(query.action)}")
        if query.before_id is not None:
            clauses.append(f"a.id < {p(query.before_id)}")
        if query.key_search:
            # A part of the name (as the key list's filter compares names) or of the Client ID.
            clauses.append(
                f"(k.name_key LIKE {p(like_pattern(name_key(query.key_search)))} ESCAPE '\\' "
                f"OR a.client_id LIKE {p(like_pattern(query.key_search))} ESCAPE '\\')"
            )
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._fetch_planned(
            "SELECT a.id, a.at, a.actor, a.origin, a.action, a.environment, a.client_id, "
            "a.detail, k.name AS key_name FROM audit_events a "
            "LEFT JOIN api_keys k ON k.client_id = a.client_id "
            f"{where} ORDER BY a.id DESC LIMIT {p(query.limit)}",
            *p.values,
        )
        return [audit_from_row(r) for r in rows]

    # -- writes --------------------------------------------------------------------------------

    @staticmethod
    async def _audit(conn: PoolConnectionProxy, event: AuditEvent) -> None:
        await conn.execute(
            "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, detail) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            event.at, event.actor, event.origin, event.action,
            event.environment.value if event.environment else None, event.client_id, event.detail,
        )

    async def save_account(self, account: Account, event: AuditEvent) -> None:
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO account (id, display_name, email, organisation, updated_at) "
                "VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET "
                "display_name = excluded.display_name, email = excluded.email, "
                "organisation = excluded.organisation, updated_at = excluded.updated_at",
                account.display_name, account.email, account.organisation, event.at,
            )
            await self._audit(conn, event)

    async def set_setting(self, key: str, value: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key, value,
            )

    async def insert_key(self, key: ApiKey, name_key: str, phc: str, event: AuditEvent) -> int:
        async with self._write(key.environment) as conn:
            key_id = await conn.fetchval(
                "INSERT INTO api_keys (client_id, environment, name, name_key, hint, created_at, "
                "created_by, expires_at, status, secret_confirmed, name_sort) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                key.client_id, key.environment.value, key.name, name_key, key.hint,
                key.created_at, key.created_by, key.expires_at, key.status.value,
                key.secret_confirmed, sort_key(key.name),
            )
            secret_id = await conn.fetchval(
                "INSERT INTO key_secrets (key_id, phc, hint, created_at) VALUES ($1, $2, $3, $4) "
                "RETURNING id",
                key_id, phc, key.hint, key.created_at,
            )
            await self._audit(conn, event)
        return int(secret_id)

    async def _update_key(
        self,
        conn: PoolConnectionProxy,
        assignments: str,
        p: _Params,
        client_id: str,
        allowed_from: frozenset[KeyStatus],
    ) -> int | None:
        """`UPDATE api_keys SET <assignments>` on the key while its status is in `allowed_from`
        (compare-and-set, one statement; the row stays locked until COMMIT); its id, or None
        when no key matched (unknown, or in another state)."""
        key_id = await conn.fetchval(
            f"UPDATE api_keys SET {assignments} WHERE client_id = {p(client_id)} "
            f"AND status = ANY({p(sorted(s.value for s in allowed_from))}::text[]) RETURNING id",
            *p.values,
        )
        return None if key_id is None else int(key_id)

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
        async with self._write(event.environment) as conn:
            p = _Params()
            key_id = await self._update_key(
                conn, f"hint = {p(hint)}, secret_confirmed = {p(secret_confirmed)}", p,
                client_id, allowed_from,
            )
            if key_id is None:
                return None
            # The secrets that still verify stop at the end of the grace period (or earlier,
            # if an earlier roll set that).
            await conn.execute(
                "UPDATE key_secrets SET expires_at = $1 WHERE key_id = $2 "
                "AND (expires_at IS NULL OR expires_at > $1)",
                old_expire_at, key_id,
            )
            secret_id = await conn.fetchval(
                "INSERT INTO key_secrets (key_id, phc, hint, created_at) VALUES ($1, $2, $3, $4) "
                "RETURNING id",
                key_id, phc, hint, at,
            )
            await self._audit(conn, event)
        return int(secret_id)

    async def confirm_secret(self, client_id: str, secret_id: int) -> bool:
        async with self._write() as conn:
            key_id = await conn.fetchval(
                "UPDATE api_keys SET secret_confirmed = true "
                "WHERE client_id = $1 AND NOT secret_confirmed "
                "AND (SELECT max(newest.id) FROM key_secrets newest "
                "WHERE newest.key_id = api_keys.id) = $2 RETURNING id",
                client_id, secret_id,
            )
        return key_id is not None

    async def end_grace(self, client_id: str, at: datetime, event: AuditEvent) -> int:
        """Stop at `at` every secret of the key but its newest that still verifies then, with
        `event`, in one transaction; compare-and-set (nothing written, no event, when no such
        secret of a key that is not revoked matches). How many it stopped."""
        async with self._write(event.environment) as conn:
            result = await conn.execute(
                "UPDATE key_secrets SET expires_at = $1 "
                "WHERE key_id = (SELECT id FROM api_keys "
                "WHERE client_id = $2 AND status <> 'revoked') "
                "AND id <> (SELECT max(newest.id) FROM key_secrets newest "
                "WHERE newest.key_id = key_secrets.key_id) "
                "AND (expires_at IS NULL OR expires_at > $1)",
                at, client_id,
            )
            stopped = int(result.split()[-1])  # the command tag: "UPDATE <rows>"
            if stopped > 0:
                await self._audit(conn, event)
            return stopped

    async def set_status(
        self,
        client_id: str,
        status: KeyStatus,
        at: datetime,
        by: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> bool:
        async with self._write(event.environment) as conn:
            p = _Params()
            assignments = (
                f"status = {p(status.value)}, status_changed_at = {p(at)}, status_changed_by = {p(by)}"
            )
            if await self._update_key(conn, assignments, p, client_id, allowed_from) is None:
                return False
            await self._audit(conn, event)
        return True

    async def rename_key(
        self,
        client_id: str,
        name: str,
        name_key: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> bool:
        async with self._write(event.environment) as conn:
            p = _Params()
            assignments = (
                f"name = {p(name)}, name_key = {p(name_key)}, name_sort = {p(sort_key(name))}"
            )
            if await self._update_key(conn, assignments, p, client_id, allowed_from) is None:
                return False
            await self._audit(conn, event)
        return True

    async def record_use(self, uses: Sequence[KeyUse]) -> None:
        if not uses:
            return
        async with self._write(lock_timeout_ms=BEST_EFFORT_LOCK_MS) as conn:
            await conn.executemany(
                "UPDATE api_keys SET last_used_at = $2 WHERE client_id = $1 "
                "AND (last_used_at IS NULL OR last_used_at < $3)",
                [(use.client_id, use.at, use.not_since) for use in uses],
            )
            rehashes = [
                (use.secret_id, use.new_phc, use.old_phc, use.at, REHASH_ORIGIN, REHASH_ACTION,
                 REHASH_DETAIL)
                for use in uses
                if use.new_phc is not None and use.secret_id is not None
            ]
            if rehashes:
                # A new hash is a change to a key's secret that the server cannot tell from a
                # hash of a secret of someone's own choosing: it commits only with an event
                # (pg_migrations step 7), written here for each hash that was replaced. The
                # actor is the role (the audit trigger writes session_user); never a hash.
                await conn.executemany(
                    "WITH upgraded AS (UPDATE key_secrets SET phc = $2, shared_hash = 0 "
                    "WHERE id = $1 AND phc = $3 RETURNING key_id) "
                    "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, "
                    "detail) SELECT $4, session_user, $5, $6, k.environment, k.client_id, $7 "
                    "FROM upgraded JOIN api_keys k ON k.id = upgraded.key_id",
                    rehashes,
                )

    # -- moving a database here (core/store/copy.py) -----------------------------------------

    async def export_rows(self) -> DatabaseDump:
        """Every row worth moving, read in one REPEATABLE READ snapshot."""
        try:
            async with self._need_pool().acquire() as conn, conn.transaction(
                isolation="repeatable_read", readonly=True
            ):
                def cols(columns: tuple[str, ...]) -> str:
                    return ", ".join(columns)

                keys = await conn.fetch(f"SELECT {cols(KEY_COLUMNS)} FROM api_keys ORDER BY id")
                secrets = await conn.fetch(f"SELECT {cols(SECRET_COLUMNS)} FROM key_secrets ORDER BY id")
                audit = await conn.fetch(f"SELECT {cols(AUDIT_COLUMNS)} FROM audit_events ORDER BY id")
                account = await conn.fetch(f"SELECT {cols(ACCOUNT_COLUMNS)} FROM account")
                settings = await conn.fetch("SELECT key, value FROM settings ORDER BY key")
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None
        return DatabaseDump(
            keys=[tuple(r) for r in keys],
            secrets=[tuple(r) for r in secrets],
            audit=[tuple(r) for r in audit],
            account=tuple(account[0]) if account else None,
            settings=[(r["key"], r["value"]) for r in settings],
        )

    async def import_rows(self, dump: DatabaseDump, event: AuditEvent) -> None:
        """Write a dump into this database in one transaction, refused (nothing written) when it
        already holds a key. The table lock keeps a key from being created meanwhile."""
        async with self._write() as conn:
            # The copied keys and events keep their actors (pg_migrations step 4): only the
            # tables' owner may write them as given, in this transaction alone.
            await conn.execute("SET LOCAL changeup.copying = 'on'")
            if not await conn.fetchval("SELECT changeup_copying('audit_events'::regclass)"):
                raise StoreError(
                    f"db copy runs as the database's owner role (the copied events keep their "
                    f"actors): nothing was copied: {self._where}"
                )
            await conn.execute("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM api_keys)"):
                raise StoreError(
                    f"the target already holds keys: nothing was copied (copy into a database "
                    f"without keys): {self._where}"
                )
            await conn.copy_records_to_table("api_keys", records=dump.keys, columns=KEY_COLUMNS)
            await conn.copy_records_to_table("key_secrets", records=dump.secrets, columns=SECRET_COLUMNS)
            await conn.copy_records_to_table("audit_events", records=dump.audit, columns=AUDIT_COLUMNS)
            for table in ("api_keys", "key_secrets"):  # ids given explicitly: move the sequences on
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            if dump.account is not None:
                await conn.execute(
                    "INSERT INTO account (id, display_name, email, organisation, updated_at) "
                    "VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET "
                    "display_name = excluded.display_name, email = excluded.email, "
                    "organisation = excluded.organisation, updated_at = excluded.updated_at",
                    *dump.account,
                )
            await conn.executemany(
                "INSERT INTO settings (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                dump.settings,
            )
            await conn.execute("SET LOCAL changeup.copying = 'off'")  # the copy's own event: its role
            await self._audit(conn, event)

    # -- changes made anywhere -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def listen(self, callback: Callable[[str], object]) -> AsyncIterator[asyncio.Event]:
        """While inside, `callback(client_id)` is called (on this event loop) for each key that
        any process created or changed (status, name, secret, expiry), at its COMMIT. One
        dedicated connection, closed on the way out. Yields an Event set when that connection is
        lost (the server went away): nothing more will be heard, and what changed meanwhile is
        missed; leave, and listen again when the server is back (readers keep their staleness
        bound as the fallback)."""
        try:
            conn = await asyncpg.connect(
                self.target.url, timeout=CONNECT_TIMEOUT_S, server_settings=SERVER_SETTINGS
            )
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None
        lost = asyncio.Event()

        def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            callback(str(payload))

        def on_lost(_conn: object) -> None:
            lost.set()

        try:
            conn.add_termination_listener(on_lost)
            await conn.add_listener(CHANGES_CHANNEL, on_notify)
            yield lost
        except _DB_ERRORS as exc:
            raise translate(exc, self._where) from None
        finally:
            with contextlib.suppress(*_DB_ERRORS):
                await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT_S)
            if not conn.is_closed():
                conn.terminate()

    async def changes(self) -> AsyncIterator[str]:
        """The Client IDs of keys changed anywhere, as they commit (see listen()). Ends with
        ServerUnavailable when the listening connection is lost."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        async with self.listen(queue.put_nowait) as lost:
            while True:
                if not queue.empty():
                    yield queue.get_nowait()
                    continue
                getter = asyncio.ensure_future(queue.get())
                waiter = asyncio.ensure_future(lost.wait())
                try:
                    await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    if not getter.done():
                        getter.cancel()
                if getter.done() and not getter.cancelled():
                    yield getter.result()
                elif lost.is_set():
                    raise ServerUnavailable(
                        f"the database server went away; changes are no longer heard: {self._where}"
                    )
