"""Schema migrations, applied in order by `PRAGMA user_version`. Never edit a shipped step:
add a new one. A step is an SQL script, or a Python step (an async function given the
connection) where SQL alone cannot compute the change; either runs inside the migration's one
`BEGIN IMMEDIATE` transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from changeup_tui.core.names import name_key, sort_key

if TYPE_CHECKING:
    import aiosqlite

PythonStep = Callable[["aiosqlite.Connection"], Awaitable[None]]

CONFLICT_MARK = "\x00"
"""Between a name's key and a Client ID in the `name_key` of a key that the skeleton migration
found sharing its name with an older active key (see recompute_name_keys)."""


async def recompute_name_keys(db: aiosqlite.Connection) -> None:
    """2: `name_key` becomes the confusable skeleton (names.name_key), so look-alike names
    collide. Every key's name_key is recomputed from its name.

    Existing active keys of one environment whose names now collide (`billing` and `bіlling`
    both active) must not make the migration fail, nor lose a key: the oldest keeps the plain
    key, and each later one gets the key + CONFLICT_MARK + its Client ID, unique, so both stay
    active and verify. A new key with a look-alike name is refused (it collides with the oldest);
    renaming the later key gives it a plain key again. The unique index is dropped and rebuilt
    around the change, so no intermediate state trips it."""
    rows = await db.execute_fetchall(
        "SELECT id, environment, name, status, client_id FROM api_keys ORDER BY id"
    )
    taken: set[tuple[str, str]] = set()
    updates: list[tuple[str, int]] = []
    for key_id, environment, name, status, client_id in rows:
        key = name_key(name)
        if status != "revoked":
            if (environment, key) in taken:
                key = f"{key}{CONFLICT_MARK}{client_id}"
            else:
                taken.add((environment, key))
        updates.append((key, key_id))
    await db.execute("DROP INDEX api_keys_live_name")
    await db.executemany("UPDATE api_keys SET name_key = ? WHERE id = ?", updates)
    await db.execute(
        "CREATE UNIQUE INDEX api_keys_live_name ON api_keys (environment, name_key) "
        "WHERE status != 'revoked'"
    )


async def add_secret_confirmed(db: aiosqlite.Connection) -> None:
    """3: whether the one showing of a key's newest Secret Key ended as it should (copied, or
    closed after the warning). 0 while the TUI shows it, and for good when the TUI went away
    meanwhile (SIGHUP, the SSH connection dropped): the key must then be rolled. Existing keys
    count as confirmed. A Python step only to be safe on a database whose version number was set
    back by hand (as the tests of step 2 do) while the column is already there."""
    cursor = await db.execute(
        "SELECT 1 FROM pragma_table_info('api_keys') WHERE name = 'secret_confirmed'"
    )
    present = await cursor.fetchone() is not None
    await cursor.close()
    if not present:
        await db.execute(
            "ALTER TABLE api_keys ADD COLUMN secret_confirmed INTEGER NOT NULL DEFAULT 1 "
            "CHECK (secret_confirmed IN (0, 1))"
        )


async def add_name_sort(db: aiosqlite.Connection) -> None:
    """5: `name_sort`, the case-folded name (names.sort_key) the list sorts by, computed here for
    every key; the name sort's index walks it instead of name_key (the confusable skeleton, which
    sorted `mail` as `rnail`). Safe, like step 3, on a database whose version number was set
    back by hand while the column is already there."""
    cursor = await db.execute(
        "SELECT 1 FROM pragma_table_info('api_keys') WHERE name = 'name_sort'"
    )
    present = await cursor.fetchone() is not None
    await cursor.close()
    if not present:
        await db.execute("ALTER TABLE api_keys ADD COLUMN name_sort TEXT NOT NULL DEFAULT ''")
    rows = await db.execute_fetchall("SELECT id, name FROM api_keys")
    await db.executemany(
        "UPDATE api_keys SET name_sort = ? WHERE id = ?",
        [(sort_key(name), key_id) for key_id, name in rows],
    )
    await db.execute("DROP INDEX IF EXISTS api_keys_env_name")
    await db.execute(
        "CREATE INDEX api_keys_env_name "
        "ON api_keys (environment, name_sort, id, status, name_key, client_id)"
    )


MIGRATIONS: tuple[str | PythonStep, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        display_name TEXT NOT NULL,
        email TEXT NOT NULL,
        organisation TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL UNIQUE,
        environment TEXT NOT NULL CHECK (environment IN ('live', 'test')),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        hint TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at TEXT,
        expires_at TEXT,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'disabled', 'revoked')),
        status_changed_at TEXT,
        status_changed_by TEXT
    );
    -- A name is unique per environment among keys that are not revoked, case-insensitively.
    CREATE UNIQUE INDEX api_keys_live_name ON api_keys (environment, name_key)
        WHERE status != 'revoked';
    -- One index per sort order of the key list (keyset pagination walks it), each also holding
    -- the columns a filter reads (status, name_key, client_id): a search checks them in the index
    -- and fetches a table row only for a match. At 100,000 keys this halves a search that
    -- matches little (the whole range is walked) and avoids a sort for every first page.
    CREATE INDEX api_keys_env_created
        ON api_keys (environment, created_at, id, status, name_key, client_id);
    CREATE INDEX api_keys_env_name ON api_keys (environment, name_key, id, status, client_id);
    CREATE INDEX api_keys_env_used
        ON api_keys (environment, coalesce(last_used_at, ''), id, status, name_key, client_id);
    CREATE INDEX api_keys_created
        ON api_keys (created_at, id, environment, status, name_key, client_id);

    -- How many keys each (environment, status) holds, kept by triggers in the writing
    -- transaction: the unfiltered "N keys" count costs the same at 100 keys as at 100,000.
    CREATE TABLE key_counts (
        environment TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (environment, status)
    ) WITHOUT ROWID;
    CREATE TRIGGER api_keys_count_insert AFTER INSERT ON api_keys
    BEGIN
        INSERT INTO key_counts (environment, status, n) VALUES (NEW.environment, NEW.status, 1)
            ON CONFLICT (environment, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER api_keys_count_update AFTER UPDATE OF environment, status ON api_keys
    WHEN OLD.environment IS NOT NEW.environment OR OLD.status IS NOT NEW.status
    BEGIN
        UPDATE key_counts SET n = n - 1
            WHERE environment = OLD.environment AND status = OLD.status;
        INSERT INTO key_counts (environment, status, n) VALUES (NEW.environment, NEW.status, 1)
            ON CONFLICT (environment, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER api_keys_count_delete AFTER DELETE ON api_keys
    BEGIN
        UPDATE key_counts SET n = n - 1
            WHERE environment = OLD.environment AND status = OLD.status;
    END;

    CREATE TABLE key_secrets (
        id INTEGER PRIMARY KEY,
        key_id INTEGER NOT NULL REFERENCES api_keys (id),
        phc TEXT NOT NULL,
        hint TEXT NOT NULL CHECK (length(hint) = 4),
        created_at TEXT NOT NULL,
        expires_at TEXT,
        shared_hash INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX key_secrets_key ON key_secrets (key_id);

    CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        origin TEXT NOT NULL,
        action TEXT NOT NULL,
        environment TEXT,
        client_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_events_client ON audit_events (client_id, id);
    CREATE INDEX audit_events_action ON audit_events (action, id);
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only');
    END;
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only');
    END;
    """,
    # 2: name_key is the confusable skeleton (see recompute_name_keys).
    recompute_name_keys,
    # 3: api_keys.secret_confirmed (see add_secret_confirmed).
    add_secret_confirmed,
    # 4: nothing. PostgreSQL's step 4 makes the server's role the actor of every change; a
    # SQLite file has no roles. The step is here so that both stores number their schema alike.
    "",
    # 5: api_keys.name_sort, the name sort's key (see add_name_sort).
    add_name_sort,
)

LATEST_VERSION = len(MIGRATIONS)
