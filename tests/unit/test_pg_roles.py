"""Least privilege on PostgreSQL, with the README's own SQL (Team setup): the verifying role
verifies and records "last used", and cannot write keys or read the audit; operators cannot
change the audit; nobody can (a trigger), not even the owner."""

from __future__ import annotations

import asyncpg
import pytest

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, AuditQuery, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.store_backends import Backend

pytestmark = pytest.mark.usefixtures("fast_argon2")


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


# -- a schema the role cannot create or upgrade: one line that says what to run ------------------


def _schema_up_to(url: str, version: int) -> None:
    """The schema as an older changeup-tui left it: steps 1..version, by the role in `url`."""
    from changeup_tui.core.store.pg_migrations import MIGRATIONS

    db = Backend("postgres", url)
    db.raw("CREATE TABLE schema_version (version integer NOT NULL)")
    for number in range(version):
        db.raw(MIGRATIONS[number])
        db.raw("INSERT INTO schema_version (version) VALUES ($1)", number + 1)


def _grants(urls: dict[str, str]) -> None:
    from tests.pg_team import readme_sql, role_name

    sql = readme_sql("grants").replace("DATABASE changeup", f'DATABASE "{_dbname(urls)}"')
    for role in ("changeup_operators", "changeup_verifiers"):
        suffix = role_name(urls["alice"]).rpartition("_")[2]
        sql = sql.replace(role, f"{role}_{suffix}")
    Backend("postgres", urls["changeup_owner"]).raw(sql)


def _dbname(urls: dict[str, str]) -> str:
    from urllib.parse import urlsplit

    return urlsplit(urls["changeup_owner"]).path.lstrip("/")


@pytest.mark.parametrize("schema", ["never initialised", "older"])
async def test_a_role_that_cannot_set_up_the_schema_is_told_to_run_db_init(team_before_init, schema):
    """The verifying role (the verifier, the CLI's `verify`) and an operator, on a database whose
    owner has not run `db init` (or not since an upgrade of changeup-tui): one line that says
    to run `changeup-tui db init` as the owner role, never "must be owner of table ..."."""
    from changeup_tui.core.store.pg_migrations import LATEST_VERSION
    from tests.cli.cli_subprocess import create, verify
    from tests.helpers.processes import run_cli

    urls = team_before_init
    if schema == "older":
        _schema_up_to(urls["changeup_owner"], LATEST_VERSION - 1)
        _grants(urls)
    for url in (urls["billing_service"], urls["alice"]):
        with pytest.raises(StoreError) as info:
            async with Verifier(url, environment="test"):
                pass
        message = str(info.value)
        assert "run `changeup-tui db init` as the database's owner role" in message, message
        assert "must be owner" not in message and "\n" not in message
    keygen = SeededKeyGenerator(7, valid_checksum=True)
    client_id, secret = keygen.client_id(Environment.TEST), keygen.secret(Environment.TEST)
    for url, argv in [
        (urls["billing_service"], ["verify", "--client-id", client_id]),
        (urls["alice"], ["keys", "create", "--name", "x", "--env", "test"]),
        (urls["alice"], ["keys", "list"]),
    ]:
        line = run_cli(*argv, db=url, stdin=secret.reveal() + "\n").assert_one_line_error(2)
        assert "changeup-tui db init` as the database's owner role" in line, (argv, line)

    # the owner runs it (the README's step 2, then its step 3): everyone works
    assert run_cli("db", "init", db=urls["changeup_owner"]).code == 0
    if schema != "older":
        _grants(urls)
    made = create(urls["alice"], "Billing", "test")
    assert verify(urls["billing_service"], made["client_id"], made["secret"]).code == 0
