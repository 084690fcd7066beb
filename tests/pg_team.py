"""The README's team setup (Team setup, PostgreSQL) on a test database: its own SQL for the roles
and the grants, role names made unique per test so tests on a shared server never meet."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from changeup_tui.core.store.postgres import PostgresStore
from tests.pg_cluster import PgServer, run_sync, with_database
from tests.store_backends import Backend

README = Path(__file__).resolve().parents[1] / "README.md"
ROLES = ("changeup_owner", "changeup_operators", "changeup_verifiers", "alice", "bob", "billing_service")


def readme_sql(marker: str) -> str:
    """The ```sql block of the README that starts with `-- team-setup: <marker>`."""
    for block in re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S):
        if block.startswith(f"-- team-setup: {marker}"):
            return block
    raise AssertionError(f"no team-setup {marker} block in the README")


async def db_init(url: str) -> None:
    """Step 2 of the README, `db init`: the schema, created (or upgraded) by the role in `url`."""
    store = PostgresStore(url)
    await store.open()
    await store.close()


def event_sql(client_id: str, action: str = "psql.change") -> str:
    """SQL that inserts an audit event for the key `client_id` (a Client ID: letters, digits and
    underscores), to run in the same transaction as a raw change to that key, which the server
    refuses without one (pg_migrations step 7). The actor is filled in by the server."""
    assert client_id.replace("_", "").isalnum(), client_id  # safe to quote
    return (
        "INSERT INTO audit_events (at, actor, origin, action, client_id) "
        f"VALUES (now(), session_user, 'psql', '{action}', '{client_id}'); "
    )


def role_name(url: str) -> str:
    """The role a URL logs in as (the README name with this test's suffix)."""
    return str(urlsplit(url).username)


@contextlib.contextmanager
def team_database(server: PgServer, url: str, *, init: bool = True) -> Iterator[dict[str, str]]:
    """The README's roles on the database at `url` (which stands for the one the README creates:
    the same owner); with `init`, then the schema by its owner (step 2) and the grants (step 3).
    Yields the URL of each role (by its README name); drops the roles and the database after."""
    dbname = urlsplit(url).path.lstrip("/")
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"{role}_{suffix}" for role in ROLES}

    def rename(sql: str) -> str:
        sql = re.sub(r"\bDATABASE changeup\b", f'DATABASE "{dbname}"', sql)
        return re.sub(r"\b(" + "|".join(ROLES) + r")\b", lambda m: names[m.group(1)], sql)

    admin = Backend("postgres", url)
    roles = rename(readme_sql("roles"))
    create_db = re.search(r"^CREATE DATABASE .*$", roles, flags=re.M)
    assert create_db and f"OWNER {names['changeup_owner']}" in create_db.group(0)
    # The block creates the database, then (psql's \connect) revokes CREATE in its schema public:
    # `admin` is already on the test database, which stands for it.
    connect = re.search(r"^\\connect changeup$", roles, flags=re.M)
    assert connect and connect.start() > create_db.end(), "the README connects to the new database"
    assert re.search(r"^REVOKE CREATE ON SCHEMA public FROM PUBLIC;", roles[connect.end():], flags=re.M)
    admin.raw(roles.replace(create_db.group(0), "").replace(connect.group(0), ""))
    admin.raw(f'ALTER DATABASE "{dbname}" OWNER TO {names["changeup_owner"]}')
    urls = {role: with_database(url, dbname, user=names[role]) for role in ROLES}
    try:
        if init:
            run_sync(db_init(urls["changeup_owner"]))
            Backend("postgres", urls["changeup_owner"]).raw(rename(readme_sql("grants")))
        yield urls
    finally:
        admin.raw(f'ALTER DATABASE "{dbname}" OWNER TO CURRENT_USER')
        every = ", ".join(names.values())
        admin.raw(f"REASSIGN OWNED BY {every} TO CURRENT_USER; DROP OWNED BY {every}")
        server.drop_database(url)  # before its roles can go
        for name in names.values():
            run_sync(server.admin(f"DROP ROLE {name}"))
