"""Least privilege on PostgreSQL, with the README's own SQL (Team setup): the verifying role
verifies and records "last used", and cannot write keys or read the audit; operators cannot
change the audit; nobody can (a trigger), not even the owner."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, AuditQuery, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from tests.pg_cluster import run_sync, with_database
from tests.store_backends import Backend

pytestmark = pytest.mark.usefixtures("fast_argon2")

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = ("changeup_owner", "changeup_operators", "changeup_verifiers", "alice", "bob", "billing_service")


def readme_sql(marker: str) -> str:
    """The ```sql block of the README that starts with `-- team-setup: <marker>`."""
    for block in re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S):
        if block.startswith(f"-- team-setup: {marker}"):
            return block
    raise AssertionError(f"no team-setup {marker} block in the README")


@pytest.fixture
def team(pg_server, pg_url):
    """The README's roles and grants on a fresh database (role names made unique, so tests on a
    shared server never meet); the URL of each role. Roles dropped afterwards."""
    dbname = urlsplit(pg_url).path.lstrip("/")
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"{role}_{suffix}" for role in ROLES}

    def rename(sql: str) -> str:
        sql = re.sub(r"\bDATABASE changeup\b", f'DATABASE "{dbname}"', sql)
        return re.sub(r"\b(" + "|".join(ROLES) + r")\b", lambda m: names[m.group(1)], sql)

    admin = Backend("postgres", pg_url)
    roles = rename(readme_sql("roles"))
    create_db = re.search(r"^CREATE DATABASE .*$", roles, flags=re.M)
    assert create_db and f"OWNER {names['changeup_owner']}" in create_db.group(0)
    admin.raw(roles.replace(create_db.group(0), ""))
    # the fixture's database stands for the one the README creates: the same owner
    admin.raw(f'ALTER DATABASE "{dbname}" OWNER TO {names["changeup_owner"]}')
    urls = {role: with_database(pg_url, dbname, user=names[role]) for role in ROLES}

    async def init() -> None:  # step 2, `db init`: the schema, created by its owner
        store = PostgresStore(urls["changeup_owner"])
        await store.open()
        await store.close()

    run_sync(init())
    Backend("postgres", urls["changeup_owner"]).raw(rename(readme_sql("grants")))
    yield urls
    admin.raw(f'ALTER DATABASE "{dbname}" OWNER TO CURRENT_USER')
    every = ", ".join(names.values())
    admin.raw(f"REASSIGN OWNED BY {every} TO CURRENT_USER; DROP OWNED BY {every}")
    pg_server.drop_database(pg_url)  # before its roles can go
    for name in names.values():
        run_sync(pg_server.admin(f"DROP ROLE {name}"))


async def _service(url: str, clock, keygen, user: str) -> KeyService:
    store = PostgresStore(url)
    await store.open()
    return KeyService(store, clock=clock, keygen=keygen, actor=Actor(user, "local"))


async def test_the_verifying_role_verifies_and_can_do_nothing_else(team, clock, keygen):
    operators = await _service(team["alice"], clock, keygen, "alice")
    verifier_service = await _service(team["billing_service"], clock, keygen, "billing")
    try:
        made = await operators.create("Billing", Environment.TEST)
        other = await operators.create("Other", Environment.TEST)
        events = len(await operators.audit())

        async with Verifier(team["billing_service"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
            assert (await verifier.verify(other.key.client_id, made.secret)).reason == "wrong_secret"
        assert (await operators.get(made.key.client_id)).last_used_at == clock.now  # recorded

        service = verifier_service
        refused = {
            "create": lambda: service.create("Sneaky", Environment.TEST),
            "roll": lambda: service.roll(other.key.client_id),
            "rename": lambda: service.rename(other.key.client_id, "Renamed"),
            "disable": lambda: service.disable(other.key.client_id),
            "revoke": lambda: service.revoke(other.key.client_id),
            "read the audit": lambda: service.store.list_audit(AuditQuery()),
            "read the account": lambda: service.store.get_account(),
        }
        for action, call in refused.items():
            with pytest.raises(StoreError, match="may not"):
                await call()
                raise AssertionError(f"the verifying role could {action}")
        as_verifier = Backend("postgres", team["billing_service"])
        for sql in [
            "UPDATE api_keys SET status = 'active'",
            "UPDATE api_keys SET name = 'x'",
            "UPDATE key_secrets SET phc = 'x'",  # a hash of its own choosing: refused
            "DELETE FROM api_keys",
            "INSERT INTO audit_events (at, actor, origin, action) VALUES (now(), 'x', 'x', 'x')",
            "SELECT count(*) FROM audit_events",
            "SELECT count(*) FROM account",
            "CREATE TABLE mine (x int)",
        ]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                as_verifier.raw(sql)
        # nothing changed: both keys as they were, no event added
        assert (await operators.get(other.key.client_id)).name == "Other"
        assert (await operators.get(other.key.client_id)).status.value == "active"
        assert len(await operators.audit()) == events
        assert [k.name for k in (await operators.list()).keys] == ["Other", "Billing"]
    finally:
        await operators.store.close()
        await verifier_service.store.close()


async def test_operators_work_and_nobody_changes_the_audit(team, clock, keygen):
    operators = await _service(team["bob"], clock, keygen, "bob")
    try:
        made = await operators.create("Payments", Environment.LIVE)
        await operators.rename(made.key.client_id, "Payments v2")
        rolled = await operators.roll(made.key.client_id)
        assert (await operators.verify(made.key.client_id, rolled.secret)).ok
        await operators.revoke(made.key.client_id, confirm_name="Payments v2")
        await operators.save_account(await operators.account())
        actions = [e.action for e in reversed(await operators.audit())]
        assert actions[:4] == ["key.created", "key.renamed", "key.rolled", "key.revoked"]
    finally:
        await operators.store.close()
    as_operator = Backend("postgres", team["bob"])
    for sql in ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"]:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            as_operator.raw(sql)
    as_owner = Backend("postgres", team["changeup_owner"])
    for sql in ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"]:
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            as_owner.raw(sql)
    assert as_owner.raw("SELECT count(*) FROM audit_events WHERE actor = 'x'") == [(0,)]
