"""Fill a changeup-tui database with N keys, fast: `python bench/seed.py 100000 [--db PATH|URL]`.

A data-loading tool for the benchmarks, not part of the application. It opens the database once
through the store (so the schema is the store's own, migrated the usual way), then writes rows in
one transaction: plain sqlite3 `executemany` into a file, asyncpg `COPY` into a PostgreSQL
database (`--db postgresql://...`). Writing SQL outside core/store is acceptable here only because
this is a bench-only loader; the application never does it.

What it writes, per key:
- an `api_keys` row with a real-format Client ID (uniform base62 from the OS CSPRNG, as
  SecureKeyGenerator makes them, drawn in bulk for speed); the key's Secret Key is generated too
  (for its hint, the last four characters) and then discarded, never stored or shown;
- one `key_secrets` row whose hash is ONE argon2id hash shared by every fill-in key, computed once
  from a secret nobody keeps, and marked `shared_hash = 1` (no secret verifies against it);
- its audit events: `key.created`, and `key.disabled` / `key.revoked` for those keys.

The mix: Live and Test, about 8 % revoked and 4 % disabled, 60 % with a last use, 15 % with an
expiry date, creation dates spread over two years, names from a few patterns (some non-ASCII).
Search terms for bench/filter.py: COMMON_TERM is in about 40 % of the names, RARE_TERM in one key
out of RARE_EVERY, NO_MATCH_TERM in none."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common

from changeup_tui.core import hashing
from changeup_tui.core.credentials import (
    BASE62,
    CLIENT_ID_BODY,
    SECRET_BODY,
    SecureKeyGenerator,
    client_id_from_body,
    parse_client_id,
    parse_secret,
    secret_from_body,
)
from changeup_tui.core.models import Environment, Secret
from changeup_tui.core.names import name_key, sort_key
from changeup_tui.core.store.sqlite import SQLiteStore

COMMON_TERM = "shop"
RARE_TERM = "zephyr"
RARE_EVERY = 2000
NO_MATCH_TERM = "nonexistent-merchant"

NOW = datetime(2026, 3, 14, 9, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=730)

MERCHANTS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
             "Soylent", "Tyrell", "Zürich Bank", "Müller GmbH", "Café Noir", "東京 Trading"]
CITIES = ["Berlin", "Lagos", "Lima", "Oslo", "São Paulo", "Kraków", "Nairobi", "Osaka"]
# (pattern, weight): the "shop" patterns weigh 40 of 100.
PATTERNS = [
    ("{merchant} shop checkout {i}", 25),
    ("{merchant} webshop {city} {i}", 15),
    ("payments-worker-{i}", 15),
    ("{city} POS terminal {i}", 15),
    ("ci-deploy-{i}", 10),
    ("{merchant} backend {i}", 10),
    ("reporting cron {i} ({city})", 10),
]
USERS = ["alice", "bob", "ops", "deploy-bot", "zoë"]
ORIGINS = ["local", "local", "local", "10.0.4.17", "192.168.1.20"]


@dataclass
class SeedResult:
    path: Path | str
    """The database file, or the PostgreSQL URL."""
    keys: int
    seconds: float
    sample_client_id: str


# os.urandom bytes below 248 map uniformly onto the 62 base62 digits; the others are dropped.
_B62_TABLE = bytes(BASE62[b % 62].encode()[0] if b < 248 else 0 for b in range(256))
_B62_DROP = bytes(range(248, 256))


class FastSecureBodies:
    """Base62 bodies from the OS CSPRNG, in bulk: the same distribution as SecureKeyGenerator
    (uniform base62 digits from `secrets`), about twenty times faster than one big-integer
    encoding per credential. The checksum is still computed per secret by the core."""

    def __init__(self) -> None:
        self._buffer = ""

    def take(self, length: int) -> str:
        if len(self._buffer) < length:
            raw = os.urandom(1 << 16).translate(_B62_TABLE, _B62_DROP)
            self._buffer += raw.decode("ascii")
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body


def _stamp(dt: datetime) -> str:
    # The store's own text form (to_db): UTC, microseconds, "Z".
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _shared_phc() -> str:
    """One argon2id hash, with the pinned parameters, of a secret generated and thrown away."""
    secret = SecureKeyGenerator().secret(Environment.TEST)
    phc = hashing.hash_secret_sync(secret)
    del secret
    return phc


async def _migrate(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.close()


def seed(path: Path | str, n: int, *, rng_seed: int | None = 1) -> SeedResult:
    """Add n keys to the database at path, or at a postgresql:// URL (created and migrated when
    missing)."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        return seed_postgres(path, n, rng_seed=rng_seed)
    started = time.perf_counter()
    path = Path(path)
    asyncio.run(_migrate(path))

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # a loader: one fsync at commit is plenty
        conn.execute("BEGIN IMMEDIATE")
        first = (conn.execute("SELECT coalesce(max(id), 0) FROM api_keys").fetchone()[0]) + 1
        first_secret = conn.execute("SELECT coalesce(max(id), 0) FROM key_secrets").fetchone()[0] + 1
        keys, key_secrets, events, sample = build_rows(n, first, first_secret, rng_seed, _stamp)
        conn.executemany(
            "INSERT INTO api_keys (id, client_id, environment, name, name_key, hint, created_at, "
            "created_by, last_used_at, expires_at, status, status_changed_at, status_changed_by, "
            "name_sort) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            keys,
        )
        conn.executemany(
            "INSERT INTO key_secrets (id, key_id, phc, hint, created_at, shared_hash) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            key_secrets,
        )
        conn.executemany(
            "INSERT INTO audit_events (at, actor, origin, action, environment, client_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            events,
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA optimize")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return SeedResult(path, n, time.perf_counter() - started, sample)


KEY_COLUMNS = ("id", "client_id", "environment", "name", "name_key", "hint", "created_at",
               "created_by", "last_used_at", "expires_at", "status", "status_changed_at",
               "status_changed_by", "name_sort")
SECRET_COLUMNS = ("id", "key_id", "phc", "hint", "created_at", "shared_hash")
EVENT_COLUMNS = ("at", "actor", "origin", "action", "environment", "client_id", "detail")


def seed_postgres(url: str, n: int, *, rng_seed: int | None = 1) -> SeedResult:
    """The same rows into a PostgreSQL database, by COPY in one transaction, then ANALYZE."""
    return asyncio.run(_seed_postgres(url, n, rng_seed))


async def _seed_postgres(url: str, n: int, rng_seed: int | None) -> SeedResult:
    import asyncpg

    from changeup_tui.core.store.postgres import PostgresStore

    started = time.perf_counter()
    store = PostgresStore(url)
    await store.open()  # the schema, migrated the usual way
    await store.close()
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE api_keys, key_secrets IN EXCLUSIVE MODE")
            first = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM api_keys")
            first_secret = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM key_secrets")
            keys, key_secrets, events, sample = build_rows(n, first, first_secret, rng_seed, None)
            # As pg_restore does: the trigram (GIN) indexes are built once after the rows are in,
            # not row by row (28 s -> 6 s for the COPY of 100,000 keys, plus one build).
            rebuild = [r["indexdef"] for r in await conn.fetch(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'api_keys' AND indexdef LIKE '%gin_trgm_ops%'"
            )]
            for definition in rebuild:
                name = definition.split()[2]  # CREATE INDEX <name> ON ...
                await conn.execute(f"DROP INDEX {name}")
            await conn.copy_records_to_table("api_keys", records=keys, columns=KEY_COLUMNS)
            await conn.copy_records_to_table("key_secrets", records=key_secrets, columns=SECRET_COLUMNS)
            await conn.copy_records_to_table("audit_events", records=events, columns=EVENT_COLUMNS)
            for table in ("api_keys", "key_secrets"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            # Each key and secret must have its audit event in the transaction (pg_migrations
            # step 7, checked at COMMIT by deferred triggers): checked here, as no index can be
            # built on a table with checks pending.
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in rebuild:
                await conn.execute(definition)
        # The steady state autovacuum reaches on its own after a bulk insert: statistics, and the
        # visibility map that lets index-only scans skip the table.
        await conn.execute("VACUUM (ANALYZE) api_keys, key_secrets, audit_events")
    finally:
        await conn.close()
    return SeedResult(url, n, time.perf_counter() - started, sample)


def build_rows(n: int, first: int, first_secret: int, rng_seed: int | None, stamp) -> tuple:
    """The rows for n keys: api_keys, key_secrets and audit_events tuples in the column orders
    above, and a sample Client ID. `stamp` turns a time into the store's form (None: datetime)."""
    rng = random.Random(rng_seed)
    bodies = FastSecureBodies()
    phc = _shared_phc()
    weights = [w for _, w in PATTERNS]
    patterns = [p for p, _ in PATTERNS]
    if stamp is None:
        def stamp(dt: datetime) -> datetime:
            return dt
    keys, key_secrets, events = [], [], []
    step = SPAN / max(n, 1)
    start_at = NOW - SPAN
    chosen = rng.choices(patterns, weights=weights, k=n)
    sample = ""
    for offset in range(n):
        key_id = first + offset
        env = Environment.LIVE if rng.random() < 0.35 else Environment.TEST
        client_id = client_id_from_body(env, bodies.take(CLIENT_ID_BODY))
        secret: Secret | None = secret_from_body(env, bodies.take(SECRET_BODY))
        if offset < 3:  # the format is the real one: the core's own parsers accept it
            parse_client_id(client_id)
            parse_secret(secret.reveal())
        hint = secret.hint
        secret = None  # discarded: only the hint is kept, as the store keeps it
        if key_id % RARE_EVERY == 0:
            name = f"{RARE_TERM.capitalize()} gateway {key_id}"
        else:
            name = chosen[offset].format(
                merchant=rng.choice(MERCHANTS), city=rng.choice(CITIES), i=key_id
            )
        created = start_at + step * offset
        created_at = stamp(created)
        by = rng.choice(USERS)
        origin = rng.choice(ORIGINS)
        last_used = None
        if rng.random() < 0.6:
            last_used = stamp(created + (NOW - created) * rng.random())
        expires = None
        detail = ""
        if rng.random() < 0.15:
            exp = created + timedelta(days=rng.choice((30, 90, 365)))
            expires = stamp(exp)
            detail = f"expires {exp.date().isoformat()}"
        roll = rng.random()
        status, changed_at, changed_by = "active", None, None
        if roll < 0.12:
            status = "revoked" if roll < 0.08 else "disabled"
            changed = created + (NOW - created) * rng.random()
            changed_at, changed_by = stamp(changed), rng.choice(USERS)
            events.append((changed_at, changed_by, origin, f"key.{status}", env.value,
                           client_id, ""))
        keys.append((key_id, client_id, env.value, name, name_key(name), hint, created_at,
                     by, last_used, expires, status, changed_at, changed_by, sort_key(name)))
        key_secrets.append((first_secret + offset, key_id, phc, hint, created_at, 1))
        events.append((created_at, by, origin, "key.created", env.value, client_id, detail))
        if offset == n // 2:
            sample = client_id
    events.sort(key=lambda e: e[0])  # the audit log's ids follow time, as in real use
    return keys, key_secrets, events, sample


def main() -> int:
    p = _common.parser("Fill a database with N keys (fill-in keys share one marked hash).")
    p.add_argument("n", type=int, nargs="?", default=100_000, help="number of keys (100000)")
    p.add_argument("--db", metavar="PATH|URL", help="database file (default: a new temporary "
                   "folder), or a postgresql:// URL of a database to fill (never a password on "
                   "argv: PGPASSWORD, ~/.pgpass)")
    args = p.parse_args()
    n = 2_000 if args.quick and args.n == 100_000 else args.n
    report = _common.Report("seed", args.quick)
    if args.db is None:
        with _common.workdir("seed") as folder:
            return _run(report, folder / "changeup.db", n)
    return _run(report, args.db if _common.is_url(args.db) else Path(args.db), n)


def _run(report: _common.Report, path: Path | str, n: int) -> int:
    report.header(f"{n} keys into {_common.shown(path)}")
    result = seed(path, n)
    rate = n / result.seconds if result.seconds else float("inf")
    size = (f"file {path.stat().st_size / 1e6:.1f} MB" if isinstance(path, Path)
            else f"database {_common.pg_size(path) / 1e6:.1f} MB")
    report.line(f"{n} keys in {result.seconds:.2f} s ({rate:,.0f} keys/s); {size}")
    # "Seconds, not minutes": 100,000 keys within 20 s, scaled to N.
    budget = 20.0 * max(n, 1) / 100_000
    report.budget(f"{n}-keys", result.seconds, max(budget, 1.0),
                  f"{max(budget, 1.0):.1f} s", unit=lambda s: f"{s:.2f} s")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
