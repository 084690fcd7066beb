"""On a team server, no change to a key without its audit event, enforced by the database
(pg_migrations step 7). An operator holds INSERT and UPDATE on api_keys and key_secrets (the
README's grants, tests/pg_team.py): at psql, not through changeup-tui, a rename, a change of
status or expiry, a second secret for someone else's key or a new hash is refused at COMMIT unless
the same transaction wrote an audit event for that key (which then names the operator's role);
every write changeup-tui makes still commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from changeup_tui.core import hashing
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, Environment, KeyStatus
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.copy import copy_database
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.pg_team import event_sql, readme_sql, role_name
from tests.store_backends import Backend

pytestmark = pytest.mark.usefixtures("fast_argon2")
TEST = Environment.TEST
REFUSED = "without an audit event in the same transaction"
# Another secret's hash, as an operator would make one for a secret of their own choosing.
CHOSEN_PHC = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"


async def _service(url: str, clock, user: str, seed: int) -> KeyService:
    store = PostgresStore(url)
    await store.open()
    return KeyService(store, clock=clock, keygen=SeededKeyGenerator(seed, valid_checksum=True),
                      actor=Actor(user, "local"))


@pytest.fixture
async def alice_key(team, clock) -> AsyncIterator[tuple[KeyService, str]]:
    """alice's service (changeup-tui as the operator alice), and a key she created."""
    service = await _service(team["alice"], clock, "alice", 11)
    try:
        made = await service.create("Billing", TEST)
        yield service, made.key.client_id
    finally:
        await service.store.close()


def _snapshot(owner: Backend, client_id: str) -> tuple[list[tuple], list[tuple], int]:
    """The key's row and secrets as stored, and how many events the audit holds."""
    key = owner.raw("SELECT * FROM api_keys WHERE client_id = $1", client_id)
    secrets = owner.raw(
        "SELECT s.* FROM key_secrets s JOIN api_keys k ON k.id = s.key_id "
        "WHERE k.client_id = $1 ORDER BY s.id", client_id,
    )
    (events,), = owner.raw("SELECT count(*) FROM audit_events")
    return key, secrets, events


def _changes(client_id: str) -> dict[str, str]:
    """What an operator might do to alice's key at psql, each one statement."""
    key = f"(SELECT id FROM api_keys WHERE client_id = '{client_id}')"
    return {
        "rename": f"UPDATE api_keys SET name = 'Renamed', name_key = 'renamed', "
                  f"name_sort = 'renamed' WHERE client_id = '{client_id}'",
        "disable": f"UPDATE api_keys SET status = 'disabled' WHERE client_id = '{client_id}'",
        "revoke": f"UPDATE api_keys SET status = 'revoked' WHERE client_id = '{client_id}'",
        "expiry": f"UPDATE api_keys SET expires_at = now() + interval '10 years' "
                  f"WHERE client_id = '{client_id}'",
        "unconfirm": f"UPDATE api_keys SET secret_confirmed = false WHERE client_id = '{client_id}'",
        "second secret": "INSERT INTO key_secrets (key_id, phc, hint, created_at) "
                         f"SELECT {key}, '{CHOSEN_PHC}', 'wxyz', now()",
        "new hash": f"UPDATE key_secrets SET phc = '{CHOSEN_PHC}' WHERE key_id = {key}",
        "grace": f"UPDATE key_secrets SET expires_at = now() + interval '1 year' "
                 f"WHERE key_id = {key}",
        "new key": "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
                   "created_at, created_by) VALUES ('cu_test_ci_psql', 'test', 'psql', 'psql', "
                   "'psql', 'abcd', now(), 'x')",
    }


async def test_a_raw_change_to_a_key_without_its_event_is_refused_at_commit(team, alice_key):
    """Each statement runs (the row is written, locked) and the COMMIT fails, with one line
    that says why and a hint naming changeup-tui, never a hash; nothing is left changed. An
    event for another key, or one written in an earlier transaction, does not count; nor does
    the setting `db copy` uses, set by an operator."""
    _service_, client_id = alice_key
    owner = Backend("postgres", team["changeup_owner"])
    other = (await _service_.create("Other", TEST)).key.client_id
    before = _snapshot(owner, client_id)
    conn = await asyncpg.connect(team["alice"])
    try:
        for label, sql in _changes(client_id).items():
            for prefix in ("", event_sql(other), "SET LOCAL changeup.copying = 'on'; "):
                transaction = conn.transaction()
                await transaction.start()
                await conn.execute(prefix + sql)  # the statement itself is not refused
                with pytest.raises(asyncpg.IntegrityConstraintViolationError) as refused:
                    await transaction.commit()
                error = refused.value
                assert REFUSED in error.message, (label, prefix)
                assert "\n" not in error.message
                assert "changeup-tui" in (error.hint or "")
                for text in (error.message, error.hint or "", str(error)):
                    assert "$argon2" not in text and CHOSEN_PHC not in text
                assert _snapshot(owner, client_id) == before, (label, prefix)
        # nor can an operator switch the triggers off for the session (superuser only)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET session_replication_role = replica")
        # an event for this very key, in a transaction of its own: the next one is refused still
        await conn.execute(event_sql(client_id))
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=REFUSED):
            await conn.execute(_changes(client_id)["disable"])  # autocommit: refused at its end
        # an event written in a savepoint that was rolled back is no event
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=REFUSED):
            async with conn.transaction():
                try:
                    async with conn.transaction():  # a savepoint
                        await conn.execute(event_sql(client_id))
                        raise LookupError("roll the savepoint back")
                except LookupError:
                    pass
                await conn.execute(_changes(client_id)["rename"])
    finally:
        await conn.close()
    key, secrets, events = _snapshot(owner, client_id)
    assert (key, secrets) == before[:2]
    assert events == before[2] + 1  # the lone event of the earlier transaction
    assert (await _service_.get(client_id)).status is KeyStatus.ACTIVE


async def test_the_same_change_with_its_event_commits_and_names_the_operator(team, alice_key):
    """With an audit event for the key in the same transaction, before or after the change, or
    in a savepoint that was kept (psql's ON_ERROR_ROLLBACK makes one per statement), the change
    commits; the event's actor is alice's role whatever it claims."""
    service, client_id = alice_key
    alice, bob = role_name(team["alice"]), role_name(team["bob"])
    claiming_bob = (
        "INSERT INTO audit_events (at, actor, origin, action, environment, client_id) "
        f"VALUES (now(), '{bob}', 'psql', 'psql.change', 'test', '{client_id}')"
    )
    changes = _changes(client_id)
    conn = await asyncpg.connect(team["alice"])
    try:
        async with conn.transaction():
            await conn.execute(claiming_bob)
            await conn.execute(changes["rename"])
        async with conn.transaction():
            await conn.execute(changes["second secret"])
            await conn.execute(changes["expiry"])
            async with conn.transaction():  # a savepoint, released
                await conn.execute(claiming_bob)
        await conn.execute(f"{changes['disable']}; {claiming_bob}")  # one implicit transaction
    finally:
        await conn.close()
    key = await service.get(client_id)
    assert (key.name, key.status, key.expires_at is not None) == ("Renamed", KeyStatus.DISABLED, True)
    owner = Backend("postgres", team["changeup_owner"])
    assert owner.raw("SELECT count(*) FROM key_secrets") == [(2,)]
    events = await service.audit(client_id=client_id)
    assert [(e.action, e.actor, e.origin) for e in events] == [
        ("psql.change", alice, f"{bob}@psql")
    ] * 3 + [("key.created", alice, "alice@local")]


async def test_every_write_of_changeup_tui_still_commits(team, clock, tmp_path: Path):
    """As the README's roles: create (with an expiry), rename, disable, enable, roll with a
    grace period, confirm the new secret, end the grace period, revoke; an operator's verifier
    upgrades an old hash (with its `key.rehashed` event, by the operator's role), the verifying
    role records "last used" (no event); the owner's `db copy` moves keys and events in."""
    alice = role_name(team["alice"])
    service = await _service(team["alice"], clock, "alice", 21)
    owner = Backend("postgres", team["changeup_owner"])
    try:
        made = await service.create("Payments", TEST, expires_at=clock() + timedelta(days=30),
                                    confirmed=False)
        client_id = made.key.client_id
        assert await service.confirm_secret(client_id, made.secret_id)
        await service.rename(client_id, "Payments v2")
        await service.disable(client_id)
        await service.enable(client_id)
        rolled = await service.roll(client_id, timedelta(hours=1), confirmed=False)
        assert await service.confirm_secret(client_id, rolled.secret_id)
        assert (await service.verify(client_id, made.secret)).ok  # in its grace period
        await service.end_grace(client_id)
        assert not (await service.verify(client_id, made.secret)).ok

        # an old hash, as an older changeup-tui left it (planted by the owner, as a copy)
        (secret_id, phc), = owner.raw(
            "SELECT s.id, s.phc FROM key_secrets s JOIN api_keys k ON k.id = s.key_id "
            "WHERE k.client_id = $1 ORDER BY s.id DESC LIMIT 1", client_id,
        )
        from argon2 import PasswordHasher

        old = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash(rolled.secret.reveal())
        assert hashing.needs_rehash(old)
        owner.plant("UPDATE key_secrets SET phc = $1 WHERE id = $2", old, secret_id)
        async with Verifier(team["alice"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(client_id, rolled.secret)).ok
        (upgraded,), = owner.raw("SELECT phc FROM key_secrets WHERE id = $1", secret_id)
        assert upgraded not in (old, phc) and not hashing.needs_rehash(upgraded)

        clock.advance(seconds=120)
        async with Verifier(team["billing_service"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(client_id, rolled.secret)).ok
        assert (await service.get(client_id)).last_used_at == clock.now

        await service.revoke(client_id, confirm_name="Payments v2")
        events = [(e.action, e.actor) for e in reversed(await service.audit(client_id=client_id))]
        assert events == [(action, alice) for action in (
            "key.created", "key.renamed", "key.disabled", "key.enabled", "key.rolled",
            "key.grace_ended", "key.rehashed", "key.revoked",
        )]
    finally:
        await service.store.close()



async def test_db_copy_by_the_owner_still_commits(team, clock, tmp_path: Path):
    """`db copy` writes keys, secrets and their copied events, as the owner, in one transaction
    (the copied rows are exempt, as they keep their actors): the copied key verifies and keeps
    its trail, and a key the source holds without any event (written there behind the store's
    back) is copied too: the copy's own event records the copy."""
    source = SQLiteStore(tmp_path / "single-host.db")
    await source.open()
    try:
        single = KeyService(source, clock=clock, keygen=SeededKeyGenerator(22, valid_checksum=True),
                            actor=Actor("root", "local"))
        copied = await single.create("Copied", TEST)
        await single.rename(copied.key.client_id, "Copied v2")
        Backend("sqlite", tmp_path / "single-host.db").raw(
            "INSERT INTO api_keys (client_id, environment, name, name_key, name_sort, hint, "
            "created_at, created_by) VALUES ('cu_test_ci_noevent', 'test', 'no event', "
            "'no event', 'no event', 'abcd', '2026-01-01T00:00:00.000000Z', 'root')"
        )
        target = PostgresStore(team["changeup_owner"])
        await target.open()
        try:
            report = await copy_database(source, target, actor=Actor("root", "local"), at=clock(),
                                         source_label="single-host.db")
        finally:
            await target.close()
    finally:
        await source.close()
    assert (report.keys, report.secrets, report.audit_events) == (2, 1, 2)
    checker = await _service(team["bob"], clock, "bob", 23)
    try:
        assert (await checker.verify(copied.key.client_id, copied.secret)).ok
        trail = await checker.audit(client_id=copied.key.client_id)
        assert [(e.action, e.actor) for e in reversed(trail)] == [
            ("key.created", "root"), ("key.renamed", "root")
        ]
        assert (await checker.get("cu_test_ci_noevent")).name == "no event"
    finally:
        await checker.store.close()


async def test_what_carries_no_event_by_design_still_commits_alone(team, clock):
    """Without an event: "last used" (any role that may write it), the mark that the one showing
    of a new secret ended (false to true, as confirm_secret writes it) and an UPDATE that changes
    nothing (the actor trigger keeps the actors). The mark with any other change, or cleared, is
    a change like any other."""
    service = await _service(team["alice"], clock, "alice", 31)
    try:
        made = await service.create("Shown", TEST, confirmed=False)
        client_id = made.key.client_id
        where = f"WHERE client_id = '{client_id}'"
        as_alice = Backend("postgres", team["alice"])
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=REFUSED):
            as_alice.raw(f"UPDATE api_keys SET secret_confirmed = true, name = 'Seen' {where}")
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=REFUSED):
            as_alice.raw(f"UPDATE api_keys SET secret_confirmed = true, "
                         f"expires_at = now() + interval '1 day' {where}")
        assert not (await service.get(client_id)).secret_confirmed
        as_alice.raw(f"UPDATE api_keys SET last_used_at = now() {where}")
        as_alice.raw(f"UPDATE api_keys SET created_by = 'mallory', created_at = now() {where}")
        as_alice.raw(f"UPDATE api_keys SET secret_confirmed = true {where}")
        key = await service.get(client_id)
        assert key.secret_confirmed and key.last_used_at is not None and key.name == "Shown"
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=REFUSED):
            as_alice.raw(f"UPDATE api_keys SET secret_confirmed = false {where}")
        Backend("postgres", team["billing_service"]).raw(
            f"UPDATE api_keys SET last_used_at = now() + interval '1 minute' {where}"
        )
        assert [e.action for e in await service.audit(client_id=client_id)] == ["key.created"]
    finally:
        await service.store.close()


async def test_the_verifying_role_records_last_used_without_execute_on_the_schema(team, clock):
    """The verifying role's one write calls no function of the schema, the new triggers
    included (an UPDATE of last_used_at alone fires none): with EXECUTE revoked from PUBLIC
    (README, Team setup) "last used" is still recorded; operators write again once the README's
    `execute` block granted them changeup_copying."""
    service = await _service(team["alice"], clock, "alice", 41)
    owner = Backend("postgres", team["changeup_owner"])
    try:
        made = await service.create("Served", TEST)
        owner.raw("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC")
        async with Verifier(team["billing_service"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert (await service.get(made.key.client_id)).last_used_at == clock.now
        with pytest.raises(StoreError, match="permission denied for function changeup_copying"):
            await service.rename(made.key.client_id, "Served v2")
        suffix = role_name(team["alice"]).rpartition("_")[2]
        owner.raw(readme_sql("execute").replace("changeup_operators", f"changeup_operators_{suffix}"))
        await service.rename(made.key.client_id, "Served v2")
        await service.roll(made.key.client_id, timedelta(hours=1))
        assert (await service.get(made.key.client_id)).name == "Served v2"
    finally:
        await service.store.close()


def test_the_update_trigger_watches_every_column_but_last_used(team):
    """api_keys_audited_update fires on an UPDATE of any column but last_used_at: a column added
    by a later step without being added to its list would change unchecked."""
    owner = Backend("postgres", team["changeup_owner"])
    (watched,), = owner.raw(
        "SELECT array(SELECT a.attname::text FROM pg_trigger t JOIN pg_attribute a "
        "ON a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr) "
        "WHERE t.tgname = 'api_keys_audited_update' ORDER BY 1)"
    )
    (columns,), = owner.raw(
        "SELECT array(SELECT attname::text FROM pg_attribute WHERE attrelid = 'api_keys'::regclass "
        "AND attnum > 0 AND NOT attisdropped AND attname <> 'last_used_at' ORDER BY 1)"
    )
    assert len(columns) >= 14
    assert watched == columns
