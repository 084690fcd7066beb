"""Who acted, on a team server: the audit and the key's "created by" name the database role the
server authenticated (session_user), whatever the client claims; the operating-system user the
client names is kept in the origin ("root@203.0.113.7 (TUI)"). Two operators both logged in as
`root` on their hosts show as alice and bob. `db copy` keeps the copied rows' actors (run as the
owner, as the README says; an operator's copy is refused). The README's own roles and grants
(tests/pg_team.py)."""

from __future__ import annotations

import pytest

from changeup_tui.core.config import PostgresTarget
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, AuditEvent, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.copy import DatabaseDump
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.cli.cli_subprocess import create
from tests.helpers.apps import build_test_app
from tests.helpers.pilot import SIZE, started, wait_for
from tests.helpers.processes import run_cli as run
from tests.pg_team import event_sql, role_name
from tests.store_backends import Backend

TEST = Environment.TEST


async def _service(url: str, clock, user: str, origin: str, seed: int) -> KeyService:
    store = PostgresStore(url)
    await store.open()
    return KeyService(store, clock=clock, keygen=SeededKeyGenerator(seed, valid_checksum=True),
                      actor=Actor(user, origin))


@pytest.mark.usefixtures("fast_argon2")
async def test_two_operators_logged_in_as_root_show_as_their_roles(team, clock):
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    as_alice = await _service(team["alice"], clock, "root", "203.0.113.7 (TUI)", 1)
    as_bob = await _service(team["bob"], clock, "root", "local (CLI)", 2)
    try:
        made = await as_alice.create("Billing", TEST)
        assert as_alice.store.acting_role == alice
        assert made.key.created_by == alice  # what create returns is what was stored, not "root"
        await as_bob.revoke(made.key.client_id)
        events = await as_bob.audit(client_id=made.key.client_id)
        assert [(e.action, e.actor, e.origin) for e in reversed(events)] == [
            ("key.created", alice, "root@203.0.113.7 (TUI)"),
            ("key.revoked", bob, "root@local (CLI)"),
        ]
        assert (await as_bob.get(made.key.client_id)).created_by == alice
        db = Backend("postgres", team["changeup_owner"])
        assert db.raw("SELECT created_by, status_changed_by FROM api_keys") == [(alice, bob)]
        # a role acting under its own name as OS user: the origin stays as it was
        named = await _service(team["alice"], clock, alice, "local (CLI)", 3)
        try:
            other = await named.create("Other", TEST)
            (event,) = await named.audit(client_id=other.key.client_id)
            assert (event.actor, event.origin) == (alice, "local (CLI)")
        finally:
            await named.store.close()
    finally:
        await as_alice.store.close()
        await as_bob.store.close()


@pytest.mark.usefixtures("fast_argon2")
async def test_a_client_cannot_claim_another_actor(team, clock):
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    posing = await _service(team["alice"], clock, bob, "local", 4)  # alice's login, bob's name
    try:
        made = await posing.create("Posing", TEST)
        await posing.disable(made.key.client_id)
        events = await posing.audit()
        assert {(e.actor, e.origin) for e in events} == {(alice, f"{bob}@local")}
        as_alice = Backend("postgres", team["alice"])
        # raw SQL as alice, even with the copying setting the owner's `db copy` uses
        for setting in ("", "SET changeup.copying = 'on'; "):
            as_alice.raw(
                f"{setting}INSERT INTO audit_events (at, actor, origin, action) "
                f"VALUES (now(), '{bob}', 'x', 'forged')"
            )
        assert as_alice.raw("SELECT actor FROM audit_events WHERE action = 'forged'") == [
            (alice,), (alice,)
        ]
        # `db copy`'s import, as an operator: refused, nothing written
        event = AuditEvent(at=clock(), actor=bob, origin="local", action="db.copied")
        before = as_alice.raw("SELECT count(*) FROM audit_events")
        with pytest.raises(StoreError, match="owner role"):
            await posing.store.import_rows(DatabaseDump(), event)
        assert as_alice.raw("SELECT count(*) FROM audit_events") == before
    finally:
        await posing.store.close()


def _columns(owner: Backend, client_id: str, columns: str) -> list[tuple]:
    """`columns` of one key as stored, read by the owner behind the store's back."""
    return owner.raw(f"SELECT {columns} FROM api_keys WHERE client_id = $1", client_id)


@pytest.mark.usefixtures("fast_argon2")
async def test_an_operator_cannot_rewrite_who_created_or_changed_a_key(team, clock):
    """An operator may UPDATE api_keys (the README's grants), but created_by stays the creating
    role and status_changed_by the role that last changed the status, whatever an UPDATE or an
    INSERT writes there; a verifier's "last used" still records."""
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    as_alice = await _service(team["alice"], clock, "root", "local", 6)
    as_bob = await _service(team["bob"], clock, "root", "local", 7)
    try:
        made = await as_alice.create("Billing", TEST)
        await as_bob.disable(made.key.client_id)
        alice_sql = Backend("postgres", team["alice"])
        owner = Backend("postgres", team["changeup_owner"])

        def actors() -> list[tuple]:
            return _columns(owner, made.key.client_id, "created_by, status_changed_by, status")

        assert actors() == [(alice, bob, "disabled")]
        for status in ("", ", status = 'disabled'"):  # no status, the status it has already
            alice_sql.raw(
                f"UPDATE api_keys SET created_by = 'mallory', status_changed_by = 'mallory'{status}"
            )
            alice_sql.raw("UPDATE api_keys SET status_changed_by = 'mallory'")
            assert actors() == [(alice, bob, "disabled")]
        # a real change of status names the role that made it, not the one written (with its
        # audit event: without one the server refuses any change, test_pg_audited)
        alice_sql.raw(
            event_sql(made.key.client_id)
            + f"UPDATE api_keys SET status = 'active', created_by = '{bob}', status_changed_by = '{bob}'"
        )
        assert actors() == [(alice, alice, "active")]
        # an INSERT names the inserting role, in status_changed_by too if it gives one
        Backend("postgres", team["bob"]).raw(
            event_sql("cu_test_ci_forged")
            + "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
            "created_at, created_by, status, status_changed_by) VALUES ('cu_test_ci_forged', "
            "'test', 'forged', 'forged', 'forged', 'abcd', now(), 'mallory', 'disabled', 'mallory')"
        )
        assert owner.raw(
            "SELECT created_by, status_changed_by FROM api_keys WHERE client_id = 'cu_test_ci_forged'"
        ) == [(bob, bob)]
        # the verifying role's one write, "last used", still works (and it cannot touch the actors)
        async with Verifier(team["billing_service"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert (await as_alice.get(made.key.client_id)).last_used_at == clock.now
        assert actors()[0][:2] == (alice, alice)
        with pytest.raises(Exception, match="permission denied"):
            Backend("postgres", team["billing_service"]).raw("UPDATE api_keys SET created_by = 'x'")
    finally:
        await as_alice.store.close()
        await as_bob.store.close()


async def test_an_operator_cannot_rewrite_when_a_key_was_created_or_changed(team, clock):
    """created_at keeps its value whatever an UPDATE writes, and status_changed_at too unless
    the status really changes (then the time given, as the store writes it)."""
    as_alice = await _service(team["alice"], clock, "root", "local", 8)
    try:
        made = await as_alice.create("Billing", TEST)
        await as_alice.disable(made.key.client_id)
        alice_sql = Backend("postgres", team["alice"])
        owner = Backend("postgres", team["changeup_owner"])

        def times() -> list[tuple]:
            return _columns(owner, made.key.client_id, "created_at, status_changed_at, status")

        before = times()
        for status in ("", ", status = 'disabled'"):  # no status, the status it has already
            alice_sql.raw("UPDATE api_keys SET created_at = '2001-01-01T00:00:00Z', "
                          f"status_changed_at = '2001-01-01T00:00:00Z'{status}")
            assert times() == before
        alice_sql.raw(event_sql(made.key.client_id)
                      + "UPDATE api_keys SET status = 'active', created_at = '2001-01-01T00:00:00Z', "
                      "status_changed_at = '2002-02-02T00:00:00Z'")
        (created_at, changed_at, status), = times()
        assert (created_at, status) == (before[0][0], "active")
        assert changed_at.year == 2002  # a real change: the time given
    finally:
        await as_alice.store.close()


SHADOWS = {
    # what changeup_copying calls: a copy "as the owner", by anyone
    "current_setting, pg_has_role": (
        "CREATE FUNCTION {schema}.current_setting(text, boolean) RETURNS text LANGUAGE sql "
        "AS $$ SELECT 'on' $$; "
        "CREATE FUNCTION {schema}.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql "
        "AS $$ SELECT true $$;"
    ),
    # what the triggers call
    "changeup_copying": (
        "CREATE FUNCTION {schema}.changeup_copying(oid) RETURNS boolean LANGUAGE sql "
        "AS $$ SELECT true $$;"
    ),
}


@pytest.mark.parametrize("shadowed", list(SHADOWS))
async def test_a_search_path_of_shadow_functions_cannot_forge_an_actor(team, pg_url, shadowed):
    """An operator who can create functions in some schema (on PostgreSQL 13 and 14, public, unless
    the README's REVOKE ran) defines the functions the actor triggers call, puts that schema
    first in its search_path, and writes bob as the actor: the server records alice."""
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    schema = f"shadow_{alice}"
    Backend("postgres", pg_url).raw(f"CREATE SCHEMA {schema} AUTHORIZATION {alice}")
    as_alice = Backend("postgres", team["alice"])
    as_alice.raw(SHADOWS[shadowed].format(schema=schema))
    as_alice.raw(
        f"SET search_path = {schema}, pg_catalog, public; "
        "INSERT INTO audit_events (at, actor, origin, action) "
        f"VALUES (now(), '{bob}', 'x', 'forged'); "
        + event_sql("cu_test_ci_shadow")
        + "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
        f"created_at, created_by) VALUES ('cu_test_ci_shadow', 'test', 'shadow', 'shadow', "
        f"'shadow', 'abcd', now(), '{bob}'); "
        f"UPDATE api_keys SET status = 'disabled', status_changed_by = '{bob}'"
    )
    owner = Backend("postgres", team["changeup_owner"])
    assert owner.raw("SELECT actor, origin FROM audit_events WHERE action IN ('forged', "
                     "'psql.change') ORDER BY id") == [(alice, f"{bob}@x"), (alice, "psql")]
    assert owner.raw("SELECT created_by, status_changed_by FROM api_keys") == [(alice, alice)]


@pytest.mark.slow
def test_the_cli_audit_and_keys_show_name_the_roles(team):
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    made = create(team["alice"], "Billing", "test")
    # `keys create --json` prints what was stored, as `keys show` does: the role, not the OS user
    assert made["created_by"] == alice != _os_user()
    stored = run("keys", "show", made["client_id"], "--json", db=team["bob"]).json()
    assert stored["created_by"] == made["created_by"]
    assert run("keys", "revoke", made["client_id"], db=team["bob"]).code == 0
    audit = run("audit", "--client-id", made["client_id"], db=team["bob"])
    assert audit.code == 0, audit.stderr
    lines = audit.stdout.splitlines()  # newest first: at, actor, origin, action, ...
    os_user = _os_user()
    assert len(lines) == 2, audit.stdout
    assert f"  {bob}  {os_user}@local (CLI)  key.revoked  test  " in lines[0]
    assert f"  {alice}  {os_user}@local (CLI)  key.created  test  " in lines[1]
    as_json = run("audit", "--json", "--client-id", made["client_id"], db=team["alice"]).json()
    assert [(e["actor"], e["action"]) for e in as_json] == [(bob, "key.revoked"), (alice, "key.created")]
    shown = run("keys", "show", made["client_id"], db=team["alice"])
    assert shown.code == 0 and f"by {alice}" in shown.stdout, shown.stderr


def _os_user() -> str:
    import getpass

    return getpass.getuser()


@pytest.mark.slow
async def test_the_activity_log_names_the_roles(team, clock):
    from changeup_tui.tui.screens.activity_log import ActivityLogScreen
    from changeup_tui.tui.widgets.audit_table import AuditTable

    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    as_bob = await _service(team["bob"], clock, "root", "local (TUI)", 5)
    try:
        app = build_test_app(PostgresTarget(team["alice"]), actor=Actor("root", "local (TUI)"))  # type: ignore[arg-type]
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            made = await app.service.create("Billing", TEST)
            await as_bob.revoke(made.key.client_id)
            await app.run_action("activity_log")
            await wait_for(pilot, lambda: isinstance(app.screen, ActivityLogScreen))
            table = app.screen.query_one(AuditTable)
            await wait_for(pilot, lambda: table.row_count >= 3, what="the three events")

            def cells(key: str) -> list[str]:
                index = table.get_column_index(key)
                return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]

            rows = list(zip(cells("action"), cells("actor"), cells("origin"), strict=True))
            assert rows[:2] == [
                ("key.revoked", bob, "root@local (TUI)"), ("key.created", alice, "root@local (TUI)")
            ]
            assert rows[2][:2] == ("account.created", alice)  # the app's first run, by alice
    finally:
        await as_bob.store.close()


@pytest.mark.slow
def test_db_copy_as_the_owner_keeps_the_copied_actors(team, tmp_path):
    source = tmp_path / "changeup.db"
    made = create(source, "Billing", "test")
    assert run("keys", "disable", made["client_id"], db=source).code == 0
    before = run("audit", "--json", db=source).json()
    before_key = run("keys", "show", made["client_id"], "--json", db=source).json()

    refused = run("db", "copy", "--to", team["alice"], db=source)  # an operator: refused
    assert "owner role" in refused.assert_one_line_error(2)
    owner = Backend("postgres", team["changeup_owner"])
    assert owner.raw("SELECT count(*) FROM audit_events") == [(0,)]
    assert owner.raw("SELECT count(*) FROM api_keys") == [(0,)]

    copied = run("db", "copy", "--to", team["changeup_owner"], db=source)
    assert copied.code == 0, copied.stderr
    after = run("audit", "--json", db=team["alice"]).json()
    strip = [{k: v for k, v in e.items() if k != "id"} for e in before]
    assert [{k: v for k, v in e.items() if k != "id"} for e in after[1:]] == strip
    assert {e["actor"] for e in before} == {_os_user()}  # the file's actors, not the owner role
    assert (after[0]["action"], after[0]["actor"]) == ("db.copied", role_name(team["changeup_owner"]))
    key = run("keys", "show", made["client_id"], "--json", db=team["alice"]).json()
    assert key["created_by"] == before_key["created_by"] == _os_user()
    assert owner.raw("SELECT status_changed_by FROM api_keys") == [(_os_user(),)]
    # after the copy, the server fills the actor again
    assert run("keys", "enable", made["client_id"], db=team["bob"]).code == 0
    newest = run("audit", "--json", "--limit", "1", db=team["alice"]).json()[0]
    assert (newest["action"], newest["actor"]) == ("key.enabled", role_name(team["bob"]))

