"""The SQLite store (aiosqlite): the only module that holds SQL.

One connection per process. WAL, synchronous=FULL, busy_timeout 5 s, foreign keys on. Every write
is one `BEGIN IMMEDIATE` transaction under an asyncio lock, rolled back on any exception,
cancellation included. The database folder is created 0700; the database, -wal and -shm files are
kept 0600. A location another user controls is refused before SQLite reads it (file_checks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite
import msgspec

from changeup_tui.core.errors import (
    DatabaseLocked,
    DiskFull,
    DuplicateName,
    NotADatabase,
    ReadOnlyDatabase,
    SchemaTooNew,
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
from changeup_tui.core.private_folder import mkdir_private
from changeup_tui.core.store.copy import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    BOOL_COLUMNS,
    KEY_COLUMNS,
    SECRET_COLUMNS,
    TIME_COLUMNS,
    DatabaseDump,
)
from changeup_tui.core.store.file_checks import check_database_location, check_folder
from changeup_tui.core.store.migrations import LATEST_VERSION, MIGRATIONS
from changeup_tui.core.store.rows import (
    RowReader,
    Undecodable,
    account_from_row,
    audit_from_row,
    grace_secret_from_row,
    key_from_row,
    key_record,
    secret_from_row,
    secret_state_from_row,
)
from changeup_tui.core.store.search import CLIENT_ID_CHARS, like_pattern
from changeup_tui.core.text import visible

BUSY_TIMEOUT_MS = 5000
BEST_EFFORT_BUSY_MS = 200
"""How long a verify waits for the lock to record "last used" or a rehash before giving up on
it: a busy database must not slow every verify by the full timeout."""
WAL_RETRY_FIRST_S = 0.002
WAL_RETRY_MAX_S = 0.05
"""The pauses between tries of `PRAGMA journal_mode = WAL` that SQLite refused as busy
(see SQLiteStore._enter_wal): doubled from the first up to the most, within BUSY_TIMEOUT_MS."""


def to_db(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


_KEY_COLUMNS = (
    "k.client_id, k.environment, k.name, k.created_at, k.created_by, k.status, "
    "k.last_used_at, k.expires_at, k.status_changed_at, k.hint, k.secret_confirmed"
)
"""The columns `key_from_row` reads, by name, from a row of `api_keys k`."""
STATE_CHUNK = 250
"""Keys read by one statement of get_key_states: well under SQLite's limit on parameters, and
short enough that turning the rows into models never holds the event loop for long."""
_AUDIT_COLUMNS = "id, at, actor, origin, action, environment, client_id, detail"
_INSERT_SECRET = (
    "INSERT INTO key_secrets (key_id, phc, hint, created_at) "
    "VALUES (:key_id, :phc, :hint, :created_at)"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, detail) "
    "VALUES (:at, :actor, :origin, :action, :environment, :client_id, :detail)"
)

_NOT_REVOKED = "k.status != 'revoked'"
"""The keys whose names are taken (the unique index api_keys_live_name has the same WHERE)."""

Params = dict[str, object]


def _decode_text(raw: bytes) -> str:
    """The connection's text factory: UTF-8, or an Undecodable stand-in."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        text = Undecodable(raw.decode(errors="replace"))
        text.raw = raw
        return text


def _audit_params(event: AuditEvent) -> Params:
    return {
        "at": to_db(event.at),
        "actor": event.actor,
        "origin": event.origin,
        "action": str(event.action),
        "environment": event.environment.value if event.environment else None,
        "client_id": event.client_id,
        "detail": event.detail,
    }


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


def _status_in(allowed: frozenset[KeyStatus], params: Params) -> str:
    """`status IN (...)` for the compare-and-set writes, its values added to `params`."""
    names = []
    for i, status in enumerate(sorted(allowed)):
        params[f"allowed_{i}"] = status.value
        names.append(f":allowed_{i}")
    return f"status IN ({', '.join(names)})" if names else "0"


# Every character a Client ID can hold (cu_<env>_ci_ + base62). A search with any other character
# cannot match a Client ID, so its LIKE is skipped: the same rows, one comparison per row fewer.



class _Sort(msgspec.Struct, frozen=True):
    """Keyset pagination for one sort: the ORDER BY, and the two columns of the cursor (the sort
    value and the row id) with the comparison that walks past it."""

    order: str
    reverse_order: str
    """The same order read backwards, from the last key."""
    cursor: tuple[str, str]
    after: str

    @property
    def select(self) -> str:
        return f"{self.cursor[0]} AS cursor_0, {self.cursor[1]} AS cursor_1"

    @property
    def past_cursor(self) -> str:
        return self._compare(self.after)

    @property
    def up_to_cursor(self) -> str:
        """The keys before the cursor in this order, the one it names included."""
        return self._compare(">=" if self.after == "<" else "<=")

    def _compare(self, op: str) -> str:
        # CAST: a cursor value that is not UTF-8 is bound as its bytes (see Undecodable)
        return f"({self.cursor[0]}, {self.cursor[1]}) {op} (CAST(:cursor_0 AS TEXT), :cursor_1)"


_SORTS: dict[SortField, _Sort] = {
    SortField.CREATED: _Sort(
        "k.created_at DESC, k.id DESC", "k.created_at ASC, k.id ASC", ("k.created_at", "k.id"), "<"
    ),
    SortField.NAME: _Sort(
        "k.name_sort ASC, k.id ASC", "k.name_sort DESC, k.id DESC", ("k.name_sort", "k.id"), ">"
    ),
    SortField.LAST_USED: _Sort(
        "coalesce(k.last_used_at, '') DESC, k.id DESC",
        "coalesce(k.last_used_at, '') ASC, k.id ASC",
        ("coalesce(k.last_used_at, '')", "k.id"),
        "<",
    ),
}


def _bind_cursor(params: Params, cursor: KeyCursor) -> None:
    params["cursor_0"], params["cursor_1"] = cursor
    if isinstance(cursor[0], Undecodable):
        params["cursor_0"] = cursor[0].raw


def _primary_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of the error (SQLITE_BUSY...), None when the error did not
    come from SQLite itself (a closed connection, say)."""
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate(exc: sqlite3.Error, path: Path | None, *, waited: float | None = None) -> StoreError:
    """Turn an sqlite3 error into a message a person can act on, by SQLite's result code.
    `waited`: the seconds the failed operation took, said in a "locked" message (SQLite
    reports some locks at once, without waiting for the busy timeout)."""
    where = visible(str(path)) if path else "the database"
    code = _primary_code(exc)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        how_long = "" if waited is None else f" (waited {waited:.1f} s)"
        return DatabaseLocked(
            f"{where} is locked by another process{how_long}; try again when it is done"
        )
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return NotADatabase(f"{where} is not a changeup-tui database (or it is damaged)")
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY_DIRECTORY:
        return ReadOnlyDatabase(
            f"cannot open {where}: its folder is not writable, and SQLite must create the "
            f"-shm file beside it to read a WAL database; make the folder writable"
        )
    if code == sqlite3.SQLITE_READONLY:
        return ReadOnlyDatabase(f"{where} is read-only: nothing can be written to it")
    if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        return DiskFull(f"cannot write to {where}: the disk is full or failing; nothing was saved")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"cannot open {where}: check that its folder exists and is readable")
    # SQLite's own message may quote text of the database (a name, a schema entry): made visible.
    return StoreError(f"database error on {where}: {visible(str(exc), 300)}")


def _chmod_private(path: Path) -> None:
    """Take away every permission beyond the owner's read and write; never add one (a database
    its owner made read-only stays read-only)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        st = path.stat()
        mode = stat.S_IMODE(st.st_mode)
        if st.st_uid == os.getuid() and mode & ~0o600:
            os.chmod(path, mode & 0o600)


class SQLiteStore:
    """The system of record. `await store.open()` before use, `await store.close()` after."""

    exact_data_version = True  # PRAGMA data_version, read from the database file itself
    announces_changes = False  # no LISTEN/NOTIFY: see listen()
    acting_role: str | None = None  # the client's actor is stored as given

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path: Path | None = None if str(path) == ":memory:" else Path(path)
        self._create = create
        self.read_only = False
        self._real_path: Path | None = None
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    # -- opening -------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        if self.path is None:
            self._db = await aiosqlite.connect(":memory:", isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.text_factory = _decode_text
            await self._migrate(await self._configure())
            return
        path = self.path
        try:
            uri = self._prepare_file(path)
        except PermissionError:  # a folder on the way that the user cannot search or read
            raise StoreError(
                f"cannot open {path}: permission denied (check the permissions of its folder "
                f"{path.parent})"
            ) from None
        started = time.monotonic()
        try:
            self._db = await aiosqlite.connect(
                uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise translate(exc, path, waited=time.monotonic() - started) from None
        self._db.row_factory = sqlite3.Row  # every row is read by column name
        self._db.text_factory = _decode_text  # text that is not UTF-8: a damaged row, not an error
        try:
            await self._migrate(await self._configure())
        except BaseException:
            await self.close()
            raise
        for suffix in ("", "-wal", "-shm"):
            _chmod_private(Path(f"{self._real_path or path}{suffix}"))

    def _prepare_file(self, given: Path) -> str:
        """Check the path (file_checks: nothing another user controls), create the folder (0700)
        and an empty file (0600) when missing, and decide whether the database is opened
        read-write or read-only. SQLite is given the real path, links resolved and checked."""
        if given.is_dir():
            raise StoreError(f"{given} is a folder, not a database file")
        path = check_database_location(given)
        self._real_path = path
        folder = path.parent
        if not self._create and not path.exists():
            raise StoreError(f"no database at {given}")
        if not folder.exists():
            try:
                mkdir_private(folder)
            except OSError as exc:
                raise StoreError(f"cannot create the folder {folder}: {exc.strerror}") from None
            check_folder(folder)  # another user may have made it first
        if path.exists():
            if not os.access(path, os.R_OK):
                raise StoreError(f"cannot read {given}: permission denied")
            if path.stat().st_size and not _looks_like_sqlite(path):
                raise NotADatabase(f"{given} is not a changeup-tui database (or it is damaged)")
            writable = os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)
        else:
            if not os.access(folder, os.W_OK | os.X_OK):
                raise StoreError(f"cannot create {given}: its folder is not writable")
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot create {given}: {exc.strerror}") from None
            writable = True
        self.read_only = not writable
        mode = "rw" if writable else "ro"
        return f"file:{quote(str(path.absolute()))}?mode={mode}"

    async def _configure(self) -> int:
        """Connection settings, the identity check and WAL; returns the schema version.

        Few round trips to aiosqlite's thread: at start-up the event loop is busy drawing the
        first frame, and each trip waits for it (bench/startup.py)."""
        db = self._conn()
        started = time.monotonic()
        try:
            await db.executescript(
                f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; "
                "PRAGMA synchronous = FULL;"
            )
            version = await self._check_identity()  # before the journal mode is set: refuse untouched
        except sqlite3.Error as exc:
            raise translate(exc, self.path, waited=time.monotonic() - started) from None
        if not self.read_only and self.path is not None:
            await self._enter_wal(db)
        return version

    async def _enter_wal(self, db: aiosqlite.Connection) -> None:
        """`PRAGMA journal_mode = WAL`, tried again while SQLite answers SQLITE_BUSY, for up to
        BUSY_TIMEOUT_MS in all.

        Why: on a file still in rollback mode (a new database, while other processes open it
        too) the pragma reads page 1 and then upgrades that read to a write; SQLite never calls
        the busy handler for an upgrade from a read (two connections could wait for each other),
        so when another connection holds the write lock at that moment the pragma fails at once,
        whatever the busy timeout. Here it is tried again after short pauses, until the other
        connection is done (it has then usually put the file in WAL itself, and the pragma has
        nothing left to do). A try may itself wait in the busy handler (for a read lock): the
        busy timeout is cut to the time left, so the whole never takes much longer than
        BUSY_TIMEOUT_MS. The first try costs what it did: one round trip."""
        started = time.monotonic()
        limit = BUSY_TIMEOUT_MS / 1000
        pause = WAL_RETRY_FIRST_S
        shortened = False
        try:
            while True:
                try:
                    (row,) = await db.execute_fetchall("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.Error as exc:
                    waited = time.monotonic() - started
                    if _primary_code(exc) != sqlite3.SQLITE_BUSY or waited + pause >= limit:
                        raise translate(exc, self.path, waited=waited) from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, WAL_RETRY_MAX_S)
                left_ms = max(1, int((limit - (time.monotonic() - started)) * 1000))
                shortened = True
                try:
                    await db.execute(f"PRAGMA busy_timeout = {left_ms}")
                except sqlite3.Error as exc:
                    raise translate(exc, self.path, waited=time.monotonic() - started) from None
        finally:
            if shortened:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await asyncio.shield(db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))
        mode = str(row["journal_mode"])
        if mode.lower() != "wal":
            raise StoreError(f"cannot put {self.path} in WAL mode (got {mode})")

    async def _check_identity(self) -> int:
        """Refuse, before anything is written, a newer schema or another program's SQLite file
        (schema version 0 but tables already there). One statement: one consistent snapshot,
        which also reads the whole schema, so a damaged one fails here. Returns the version."""
        (row,) = await self._conn().execute_fetchall(
            "SELECT (SELECT user_version FROM pragma_user_version) AS version, "
            "(SELECT count(*) FROM sqlite_master) AS objects"
        )
        version, objects = int(row["version"]), int(row["objects"])
        if version > LATEST_VERSION:
            raise self._too_new(version)
        if version == 0 and objects:
            raise NotADatabase(
                f"{self.path} is an SQLite database of another program, not a changeup-tui "
                "database; nothing was changed"
            )
        return version

    def _too_new(self, version: int) -> SchemaTooNew:
        return SchemaTooNew(
            f"{self.path} was written by a newer changeup-tui (schema {version}; this one "
            f"knows {LATEST_VERSION}): upgrade changeup-tui"
        )

    async def _user_version(self) -> int:
        (row,) = await self._conn().execute_fetchall("PRAGMA user_version")
        return int(row["user_version"])

    async def _migrate(self, version: int) -> None:
        """`version`: the schema version _configure read."""
        if version == LATEST_VERSION:
            return
        if self.read_only:
            raise ReadOnlyDatabase(
                f"{self.path} is read-only and needs its schema upgraded; open it once with write access"
            )
        async with self._write() as db:
            version = await self._user_version()  # another process may have migrated meanwhile
            if version > LATEST_VERSION:
                raise self._too_new(version)
            for number in range(version, LATEST_VERSION):
                step = MIGRATIONS[number]
                if isinstance(step, str):
                    for statement in _split_sql(step):
                        await db.execute(statement)
                else:
                    await step(db)
                await db.execute(f"PRAGMA user_version = {number + 1}")

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()

    # -- transactions --------------------------------------------------------------------------

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the database is not open")
        return self._db

    @contextlib.asynccontextmanager
    async def _write(
        self, *, names_in: Environment | None = None, busy_ms: int = BUSY_TIMEOUT_MS
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One BEGIN IMMEDIATE transaction. A constraint failure becomes a StoreError; in a write
        that sets a key's name (`names_in`: the key's environment), a UNIQUE failure is the name
        index saying the name is taken: DuplicateName.

        Cancellation: BEGIN runs inside the try, and the ROLLBACK is unconditional, so a task
        cancelled while BEGIN waits for another process's lock never leaves a transaction open
        (aiosqlite runs statements in order: the ROLLBACK follows the late BEGIN). Once COMMIT is
        sent it is waited for, so the caller's cancellation never leaves the outcome unknown.
        `busy_ms` shortens the lock wait for best-effort writes (last used, rehash)."""
        if self.read_only:
            raise ReadOnlyDatabase(f"{self.path} is read-only: nothing can be written to it")
        db = self._conn()
        async with self._lock:
            if busy_ms != BUSY_TIMEOUT_MS:
                await db.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            started = time.monotonic()
            begun = False
            try:
                try:
                    await db.execute("BEGIN IMMEDIATE")
                    begun = True
                    yield db
                except BaseException as exc:
                    await asyncio.shield(self._rollback(db))
                    if isinstance(exc, sqlite3.IntegrityError):
                        raise _integrity(exc, names_in) from None
                    if isinstance(exc, sqlite3.Error):
                        # the lock is waited for by BEGIN; the body's time is not a wait
                        waited = None if begun else time.monotonic() - started
                        raise translate(exc, self.path, waited=waited) from None
                    raise
                await self._commit(db)
            finally:
                if busy_ms != BUSY_TIMEOUT_MS:
                    await asyncio.shield(db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))

    async def _commit(self, db: aiosqlite.Connection) -> None:
        started = time.monotonic()
        commit = asyncio.ensure_future(db.execute("COMMIT"))
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            # The COMMIT is already on aiosqlite's thread: let it finish so the outcome is known,
            # then let the cancellation go on.
            with contextlib.suppress(BaseException):
                await commit
            if commit.done() and not commit.cancelled() and commit.exception() is not None:
                await asyncio.shield(self._rollback(db))
            raise
        except sqlite3.Error as exc:
            await asyncio.shield(self._rollback(db))
            raise translate(exc, self.path, waited=time.monotonic() - started) from None

    @staticmethod
    async def _rollback(db: aiosqlite.Connection) -> None:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await db.execute("ROLLBACK")

    async def _read(self, sql: str, params: Params | None = None) -> list[sqlite3.Row]:
        started = time.monotonic()
        try:
            return list(await self._conn().execute_fetchall(sql, params or {}))  # one round trip
        except sqlite3.Error as exc:
            raise translate(exc, self.path, waited=time.monotonic() - started) from None

    # -- reads ---------------------------------------------------------------------------------

    def listen(
        self, callback: Callable[[str], object]
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """SQLite announces no changes (`announces_changes` is False): readers poll
        `data_version` instead."""
        raise StoreError("SQLite does not announce changes: poll data_version instead")

    async def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: changes when another connection commits."""
        (row,) = await self._read("PRAGMA data_version")
        return int(row[0])

    async def get_account(self) -> Account | None:
        rows = await self._read("SELECT display_name, email, organisation FROM account")
        if not rows:
            return None
        row = rows[0]
        return account_from_row(row)

    async def get_setting(self, key: str) -> str | None:
        rows = await self._read("SELECT value FROM settings WHERE key = :key", {"key": key})
        return rows[0]["value"] if rows else None

    async def get_key(self, client_id: str) -> KeyRecord | None:
        # One statement (a cold verification waits for it): the key and its secrets, newest first.
        rows = await self._read(
            f"SELECT {_KEY_COLUMNS}, s.id AS secret_id, s.phc AS secret_phc, "
            "s.hint AS secret_hint, s.created_at AS secret_created_at, "
            "s.expires_at AS secret_expires_at "
            "FROM api_keys k LEFT JOIN key_secrets s ON s.key_id = k.id "
            "WHERE k.client_id = :client_id ORDER BY s.id DESC",
            {"client_id": client_id},
        )
        if not rows:
            return None
        secrets = [secret_from_row(r, "secret_") for r in rows if r["secret_id"] is not None]
        return key_record(key_from_row(rows[0], secrets_count=len(secrets)), secrets)

    async def grace_secrets(
        self, client_ids: Sequence[str], now: datetime
    ) -> dict[str, tuple[KeySecret, ...]]:
        """For each of `client_ids` that has any, its secrets still in a roll's grace period at
        `now` (newest first). A revoked key has none. One query for a whole page of keys."""
        if not client_ids:
            return {}
        rows = await self._read(
            "SELECT k.client_id AS client_id, s.hint AS hint, s.created_at AS created_at, "
            "s.expires_at AS expires_at "
            "FROM api_keys k JOIN key_secrets s ON s.key_id = k.id "
            "WHERE k.client_id IN (SELECT value FROM json_each(:client_ids)) "
            "AND k.status != 'revoked' AND s.expires_at > :now "
            "ORDER BY k.client_id, s.id DESC",
            {"client_ids": json.dumps(list(client_ids)), "now": to_db(now)},
        )
        found: dict[str, list[KeySecret]] = {}
        for row in rows:
            secret = grace_secret_from_row(row)
            if secret is not None:  # a damaged secret is reported by get_key (its key is damaged)
                found.setdefault(RowReader(row).text("client_id"), []).append(secret)
        return {client_id: tuple(secrets) for client_id, secrets in found.items()}

    async def name_taken(
        self, environment: Environment, name_key: str, except_client_id: str | None = None
    ) -> bool:
        rows = await self._read(
            "SELECT k.client_id FROM api_keys k WHERE k.environment = :environment "
            f"AND k.name_key = :name_key AND {_NOT_REVOKED}",
            {"environment": environment.value, "name_key": name_key},
        )
        return any(row["client_id"] != except_client_id for row in rows)

    @staticmethod
    def _key_filter(query: KeyQuery, params: Params) -> list[str]:
        """The WHERE clauses of a key query on `api_keys k`, their values added to `params`."""
        clauses: list[str] = []
        if query.environment is not None:
            clauses.append("k.environment = :environment")
            params["environment"] = query.environment.value
        if not query.include_revoked:
            clauses.append(_NOT_REVOKED)
        if query.search:
            clauses.append("k.name_key LIKE :name_like ESCAPE '\\'")
            params["name_like"] = like_pattern(name_key(query.search))
            if CLIENT_ID_CHARS.fullmatch(query.search):
                clauses[-1] = f"({clauses[-1]} OR k.client_id LIKE :client_id_like ESCAPE '\\')"
                params["client_id_like"] = like_pattern(query.search)
            # else: a character no Client ID holds: only the name can match (half the work)
        return clauses

    async def list_keys(self, query: KeyQuery) -> KeyPage:
        params: Params = {"limit": query.limit + 1}
        clauses = self._key_filter(query, params)
        sort = _SORTS[query.sort]
        if query.after is not None:
            clauses.append(sort.past_cursor)
            _bind_cursor(params, query.after)
        rows = await self._read(
            f"SELECT {_KEY_COLUMNS}, {sort.select} FROM api_keys k {_where(clauses)} "
            f"ORDER BY {sort.order} LIMIT :limit",
            params,
        )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        keys = tuple(key_from_row(row) for row in rows)
        next_cursor = (rows[-1]["cursor_0"], rows[-1]["cursor_1"]) if more and rows else None
        return KeyPage(keys, next_cursor)

    async def list_keys_before(self, query: KeyQuery, before: KeyCursor | None) -> KeyPage:
        params: Params = {"limit": query.limit + 1}
        clauses = self._key_filter(query, params)
        sort = _SORTS[query.sort]
        if before is not None:
            clauses.append(sort.up_to_cursor)
            _bind_cursor(params, before)
        rows = await self._read(
            f"SELECT {_KEY_COLUMNS}, {sort.select} FROM api_keys k {_where(clauses)} "
            f"ORDER BY {sort.reverse_order} LIMIT :limit",
            params,
        )
        more = len(rows) > query.limit
        keys = tuple(key_from_row(row) for row in reversed(rows[: query.limit]))
        previous = (rows[-1]["cursor_0"], rows[-1]["cursor_1"]) if more else None
        return KeyPage(keys, previous)

    async def count_keys(self, query: KeyQuery) -> int:
        params: Params = {}
        if query.search:
            sql = "SELECT count(*) AS n FROM api_keys k"
        else:  # kept per (environment, status) by triggers: no scan
            sql = "SELECT coalesce(sum(k.n), 0) AS n FROM key_counts k"
        rows = await self._read(f"{sql} {_where(self._key_filter(query, params))}", params)
        return int(rows[0]["n"])

    async def list_audit(self, query: AuditQuery) -> list[AuditEvent]:
        clauses: list[str] = []
        params: Params = {"limit": query.limit}
        if query.client_id:
            clauses.append("a.client_id = :client_id")
            params["client_id"] = query.client_id
        if query.action:
            clauses.append("a.action = :action")
            params["action"] = query.action
        if query.before_id is not None:
            clauses.append("a.id < :before_id")
            params["before_id"] = query.before_id
        if query.key_search:
            # A part of the name (as the key list's filter compares names) or of the Client ID.
            clauses.append(
                "(k.name_key LIKE :name_like ESCAPE '\\' "
                "OR a.client_id LIKE :client_id_like ESCAPE '\\')"
            )
            params["name_like"] = like_pattern(name_key(query.key_search))
            params["client_id_like"] = like_pattern(query.key_search)
        columns = ", ".join(f"a.{column}" for column in _AUDIT_COLUMNS.split(", "))
        rows = await self._read(
            f"SELECT {columns}, k.name AS key_name FROM audit_events a "
            f"LEFT JOIN api_keys k ON k.client_id = a.client_id "
            f"{_where(clauses)} ORDER BY a.id DESC LIMIT :limit",
            params,
        )
        return [audit_from_row(row) for row in rows]

    # -- writes --------------------------------------------------------------------------------
    # The compare-and-set writes (add_secret, set_status, rename_key) change a key only when it
    # is in one of the states the service allows, in the UPDATE's own WHERE clause; the row count
    # says whether it was. Its audit event is written in the same transaction, only then.

    @staticmethod
    async def _audit(db: aiosqlite.Connection, event: AuditEvent) -> None:
        await db.execute(_INSERT_AUDIT, _audit_params(event))

    @staticmethod
    async def _update_key(
        db: aiosqlite.Connection,
        assignments: str,
        params: Params,
        client_id: str,
        allowed_from: frozenset[KeyStatus],
    ) -> int | None:
        """`UPDATE api_keys SET <assignments>` on the key when its status is in `allowed_from`;
        its row id, or None when no key matched (unknown, or in another state)."""
        params = {**params, "client_id": client_id}
        cursor = await db.execute(
            f"UPDATE api_keys SET {assignments} WHERE client_id = :client_id "
            f"AND {_status_in(allowed_from, params)} RETURNING id",
            params,
        )
        row = await cursor.fetchone()
        await cursor.close()
        return None if row is None else int(row["id"])

    async def save_account(self, account: Account, event: AuditEvent) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO account (id, display_name, email, organisation, updated_at) "
                "VALUES (1, :display_name, :email, :organisation, :updated_at) "
                "ON CONFLICT (id) DO UPDATE SET "
                "display_name = excluded.display_name, email = excluded.email, "
                "organisation = excluded.organisation, updated_at = excluded.updated_at",
                {
                    "display_name": account.display_name,
                    "email": account.email,
                    "organisation": account.organisation,
                    "updated_at": to_db(event.at),
                },
            )
            await self._audit(db, event)

    async def set_setting(self, key: str, value: str) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO settings (key, value) VALUES (:key, :value) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"key": key, "value": value},
            )

    async def insert_key(self, key: ApiKey, name_key: str, phc: str, event: AuditEvent) -> int:
        try:
            async with self._write(names_in=key.environment) as db:
                cursor = await db.execute(
                    "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, "
                    "hint, created_at, created_by, expires_at, status, secret_confirmed) VALUES "
                    "(:client_id, :environment, :name, :name_key, :name_sort, :hint, :created_at, "
                    ":created_by, :expires_at, :status, :secret_confirmed)",
                    {
                        "client_id": key.client_id,
                        "environment": key.environment.value,
                        "name": key.name,
                        "name_key": name_key,
                        "name_sort": sort_key(key.name),
                        "hint": key.hint,
                        "created_at": to_db(key.created_at),
                        "created_by": key.created_by,
                        "expires_at": to_db(key.expires_at),
                        "status": key.status.value,
                        "secret_confirmed": int(key.secret_confirmed),
                    },
                )
                secret = await db.execute(
                    _INSERT_SECRET,
                    {
                        "key_id": cursor.lastrowid,
                        "phc": phc,
                        "hint": key.hint,
                        "created_at": to_db(key.created_at),
                    },
                )
                secret_id = secret.lastrowid
                await self._audit(db, event)
        except DuplicateName:
            # The other UNIQUE column: a Client ID drawn twice (143 random bits; only a seeded
            # test generator repeats). Told apart by reading, not by the error's text.
            if await self.get_key(key.client_id) is not None:
                raise StoreError(f"a key with Client ID {key.client_id} already exists") from None
            raise
        assert secret_id is not None  # an INSERT that returned sets it
        return secret_id

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
        async with self._write() as db:
            key_id = await self._update_key(
                db, "hint = :hint, secret_confirmed = :confirmed",
                {"hint": hint, "confirmed": int(secret_confirmed)}, client_id, allowed_from,
            )
            if key_id is None:
                return None
            # The secrets that still verify stop at the end of the grace period (or earlier,
            # if an earlier roll set that).
            await db.execute(
                "UPDATE key_secrets SET expires_at = :until WHERE key_id = :key_id "
                "AND (expires_at IS NULL OR expires_at > :until)",
                {"until": to_db(old_expire_at), "key_id": key_id},
            )
            cursor = await db.execute(
                _INSERT_SECRET, {"key_id": key_id, "phc": phc, "hint": hint, "created_at": to_db(at)}
            )
            secret_id = cursor.lastrowid
            await self._audit(db, event)
        assert secret_id is not None  # an INSERT that returned sets it
        return secret_id

    async def confirm_secret(self, client_id: str, secret_id: int) -> bool:
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE api_keys SET secret_confirmed = 1 "
                "WHERE client_id = :client_id AND secret_confirmed = 0 "
                "AND (SELECT max(newest.id) FROM key_secrets newest "
                "WHERE newest.key_id = api_keys.id) = :secret_id",
                {"client_id": client_id, "secret_id": secret_id},
            )
            return cursor.rowcount > 0

    async def end_grace(self, client_id: str, at: datetime, event: AuditEvent) -> int:
        """Stop at `at` every secret of the key but its newest that still verifies then, and
        append `event`, in one transaction. Compare-and-set: one UPDATE that matches only such
        secrets of a key that is not revoked; nothing is written (no event either) when it
        matches none. Returns how many secrets it stopped."""
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE key_secrets SET expires_at = :at "
                "WHERE key_id = (SELECT id FROM api_keys "
                "WHERE client_id = :client_id AND status != 'revoked') "
                "AND id != (SELECT max(newest.id) FROM key_secrets newest "
                "WHERE newest.key_id = key_secrets.key_id) "
                "AND (expires_at IS NULL OR expires_at > :at)",
                {"at": to_db(at), "client_id": client_id},
            )
            stopped = cursor.rowcount
            if stopped > 0:
                await self._audit(db, event)
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
        async with self._write(names_in=event.environment) as db:
            key_id = await self._update_key(
                db,
                "status = :status, status_changed_at = :at, status_changed_by = :by",
                {"status": status.value, "at": to_db(at), "by": by},
                client_id,
                allowed_from,
            )
            if key_id is None:
                return False
            await self._audit(db, event)
        return True

    async def rename_key(
        self,
        client_id: str,
        name: str,
        name_key: str,
        allowed_from: frozenset[KeyStatus],
        event: AuditEvent,
    ) -> bool:
        async with self._write(names_in=event.environment) as db:
            key_id = await self._update_key(
                db, "name = :name, name_key = :name_key, name_sort = :name_sort",
                {"name": name, "name_key": name_key, "name_sort": sort_key(name)},
                client_id, allowed_from,
            )
            if key_id is None:
                return False
            await self._audit(db, event)
        return True

    # -- db copy -------------------------------------------------------------------------------

    async def export_rows(self) -> DatabaseDump:
        """Every row worth moving (`db copy`), read in one read transaction: a consistent
        snapshot. Times as aware datetimes, flags as booleans, in copy.py's column orders."""

        def rows(raw: Sequence[sqlite3.Row], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
            return [
                tuple(
                    from_db(row[c]) if c in TIME_COLUMNS
                    else bool(row[c]) if c in BOOL_COLUMNS
                    else row[c]
                    for c in columns
                )
                for row in raw
            ]

        def select(columns: tuple[str, ...], table: str, order: str = "") -> str:
            return f"SELECT {', '.join(columns)} FROM {table}{order}"

        db = self._conn()
        async with self._lock:
            started = time.monotonic()
            try:
                await db.execute("BEGIN")
                try:
                    keys = await db.execute_fetchall(select(KEY_COLUMNS, "api_keys", " ORDER BY id"))
                    secrets = await db.execute_fetchall(
                        select(SECRET_COLUMNS, "key_secrets", " ORDER BY id")
                    )
                    audit = await db.execute_fetchall(
                        select(AUDIT_COLUMNS, "audit_events", " ORDER BY id")
                    )
                    account = await db.execute_fetchall(select(ACCOUNT_COLUMNS, "account"))
                    settings = await db.execute_fetchall(
                        "SELECT key, value FROM settings ORDER BY key"
                    )
                finally:
                    await db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise translate(exc, self.path, waited=time.monotonic() - started) from None
        accounts = rows(list(account), ACCOUNT_COLUMNS)
        return DatabaseDump(
            keys=rows(list(keys), KEY_COLUMNS),
            secrets=rows(list(secrets), SECRET_COLUMNS),
            audit=rows(list(audit), AUDIT_COLUMNS),
            account=accounts[0] if accounts else None,
            settings=[(row["key"], row["value"]) for row in settings],
        )

    async def get_key_state(self, client_id: str) -> KeyState | None:
        return (await self.get_key_states([client_id])).get(client_id)

    async def get_key_states(self, client_ids: Sequence[str]) -> dict[str, KeyState]:
        # One statement per STATE_CHUNK keys: the unique index on client_id finds each key,
        # key_secrets_key its secrets. No hash is read.
        states: dict[str, KeyState] = {}
        for start in range(0, len(client_ids), STATE_CHUNK):
            chunk = client_ids[start : start + STATE_CHUNK]
            params: Params = {f"c{i}": client_id for i, client_id in enumerate(chunk)}
            rows = await self._read(
                f"SELECT {_KEY_COLUMNS}, s.id AS secret_id, s.hint AS secret_hint, "
                "s.expires_at AS secret_expires_at FROM api_keys k "
                "LEFT JOIN key_secrets s ON s.key_id = k.id "
                f"WHERE k.client_id IN ({', '.join(':' + name for name in params)}) "
                "ORDER BY k.client_id, s.id DESC",
                params,
            )
            grouped: dict[str, list[sqlite3.Row]] = {}
            for row in rows:
                grouped.setdefault(row["client_id"], []).append(row)
            for client_id, key_rows in grouped.items():
                secrets = tuple(
                    secret_state_from_row(r, "secret_") for r in key_rows if r["secret_id"] is not None
                )
                states[client_id] = KeyState(
                    key_from_row(key_rows[0], secrets_count=len(secrets)), secrets
                )
        return states

    async def record_use(self, uses: Sequence[KeyUse]) -> None:
        if not uses:
            return
        # Parameters made before the transaction: the write lock is held only for the two
        # batches, each one hand-off to aiosqlite's thread whatever the number of keys.
        used = [
            {"at": to_db(use.at), "client_id": use.client_id, "not_since": to_db(use.not_since)}
            for use in uses
        ]
        rehashed = [
            {"new": use.new_phc, "id": use.secret_id, "old": use.old_phc}
            for use in uses
            if use.new_phc is not None and use.secret_id is not None
        ]
        async with self._write(busy_ms=BEST_EFFORT_BUSY_MS) as db:
            await db.executemany(
                "UPDATE api_keys SET last_used_at = :at WHERE client_id = :client_id "
                "AND (last_used_at IS NULL OR last_used_at < :not_since)",
                used,
            )
            if rehashed:
                await db.executemany(
                    "UPDATE key_secrets SET phc = :new, shared_hash = 0 "
                    "WHERE id = :id AND phc = :old",
                    rehashed,
                )

def _integrity(
    exc: sqlite3.IntegrityError, names_in: Environment | None
) -> StoreError | DuplicateName:
    """By result code: in a write that sets a name, a UNIQUE failure is the live-name index."""
    if names_in is not None and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
        return DuplicateName(f"A {names_in.label} key with this name already exists.")
    return StoreError(f"the database refused the change: {exc}")


def _looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    return statements
