"""Compare-and-set writes: the service reads a key, then writes it only while its state still
allows the action. When another writer (here a second process's connection on the same file)
changes the key between that read and the write, the write changes nothing, writes no audit
event, and the error says why (re-read: the key's state now, or that it is gone). On both stores
(the `db` fixture): on PostgreSQL the other writer is another connection to the server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from changeup_tui.core.errors import InvalidTransition, KeyNotFound
from changeup_tui.core.models import Actor, AuditEvent, Environment, KeyStatus
from changeup_tui.core.service import ALLOWED_FROM, KeyService, allows
from changeup_tui.core.store.base import Store
from changeup_tui.core.vocabulary import AuditAction
from changeup_tui.testing import FIXED_NOW, FixedClock, SeededKeyGenerator

pytestmark = pytest.mark.usefixtures("fast_argon2")

TEST = Environment.TEST
Meddle = Callable[[str], Awaitable[None]]


class InterleavingStore:
    """A real Store whose next compare-and-set write first lets `meddle` run: another
    writer changing the key after the service read it and before its write reached the
    database. Every call reaches the real store."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.meddle: Meddle | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _first(self, client_id: str) -> None:
        meddle, self.meddle = self.meddle, None
        if meddle is not None:
            await meddle(client_id)

    async def add_secret(self, client_id: str, *args: Any, **kwargs: Any) -> bool:
        await self._first(client_id)
        return await self._inner.add_secret(client_id, *args, **kwargs)

    async def set_status(self, client_id: str, *args: Any) -> bool:
        await self._first(client_id)
        return await self._inner.set_status(client_id, *args)

    async def rename_key(self, client_id: str, *args: Any) -> bool:
        await self._first(client_id)
        return await self._inner.rename_key(client_id, *args)


@pytest.fixture
async def other(db):
    """Another operator: its own connection and service on the same database."""
    store = db.make_store()
    await store.open()
    yield KeyService(store, clock=FixedClock(), keygen=SeededKeyGenerator(99), actor=Actor("other", "local"))
    await store.close()


@pytest.fixture
def racing(store: Store) -> InterleavingStore:
    return InterleavingStore(store)


@pytest.fixture
def svc(racing: InterleavingStore, clock: FixedClock, keygen: SeededKeyGenerator) -> KeyService:
    return KeyService(racing, clock=clock, keygen=keygen, actor=Actor("tester", "local"))  # type: ignore[arg-type]


def _rows(db) -> tuple[list[Any], ...]:
    return (
        db.raw("SELECT * FROM api_keys ORDER BY id"),
        db.raw("SELECT * FROM key_secrets ORDER BY id"),
        db.raw("SELECT * FROM audit_events ORDER BY id"),
    )


def _actions(db) -> list[tuple[str, str]]:
    return db.raw("SELECT actor, action FROM audit_events ORDER BY id")


@pytest.mark.parametrize(
    "attempt,message",
    [
        (lambda s, cid: s.roll(cid, timedelta(hours=1)), "a revoked key cannot be rolled"),
        (lambda s, cid: s.rename(cid, "Renamed"), "a revoked key cannot be renamed"),
        (lambda s, cid: s.disable(cid), "a revoked key cannot be disabled"),
        (lambda s, cid: s.revoke(cid), "a revoked key cannot be revoked"),
    ],
    ids=["roll", "rename", "disable", "revoke"],
)
async def test_key_revoked_between_read_and_write_is_left_alone(
    svc, racing, other, db, attempt, message
):
    made = await svc.create("Billing", TEST)

    async def revoke(client_id: str) -> None:
        await other.revoke(client_id)

    racing.meddle = revoke
    with pytest.raises(InvalidTransition) as info:
        await attempt(svc, made.key.client_id)
    assert str(info.value) == message
    after_revoke = _rows(db)
    assert _actions(db) == [(db.actor("tester"), "key.created"), (db.actor("other"), "key.revoked")]
    key = await svc.get(made.key.client_id)
    assert key.status is KeyStatus.REVOKED and key.name == "Billing"
    assert key.secrets_count == 1  # a roll added no secret and cut no grace
    assert not (await svc.verify(made.key.client_id, made.secret)).ok
    assert _rows(db) == after_revoke  # the verify wrote nothing either


async def test_key_disabled_meanwhile_cannot_be_disabled_again(svc, racing, other, db):
    made = await svc.create("Billing", TEST)

    async def disable(client_id: str) -> None:
        await other.disable(client_id)

    racing.meddle = disable
    with pytest.raises(InvalidTransition, match="the key is disabled: it cannot be disabled"):
        await svc.disable(made.key.client_id)
    assert _actions(db) == [(db.actor("tester"), "key.created"), (db.actor("other"), "key.disabled")]


async def test_key_enabled_meanwhile_is_still_rolled(svc, racing, other, db):
    """Roll allows active and disabled: a change between them does not stop it."""
    made = await svc.create("Billing", TEST)
    await svc.disable(made.key.client_id)

    async def enable(client_id: str) -> None:
        await other.enable(client_id)

    racing.meddle = enable
    rolled = await svc.roll(made.key.client_id)
    assert rolled.key.status is KeyStatus.ACTIVE
    assert [a for _, a in _actions(db)][-2:] == ["key.enabled", "key.rolled"]
    assert (await svc.verify(made.key.client_id, rolled.secret)).ok


async def test_key_gone_between_read_and_write_is_not_found(svc, racing, db):
    made = await svc.create("Billing", TEST)

    async def delete(client_id: str) -> None:
        # No operation deletes a key; an administrator's SQL can. The service must say so.
        assert client_id.isascii() and client_id.replace("_", "").isalnum()  # safe to quote
        db.raw(f"DELETE FROM key_secrets WHERE key_id = "
               f"(SELECT id FROM api_keys WHERE client_id = '{client_id}')")
        db.raw(f"DELETE FROM api_keys WHERE client_id = '{client_id}'")

    racing.meddle = delete
    with pytest.raises(KeyNotFound, match="no key with Client ID"):
        await svc.enable(made.key.client_id)
    assert [a for _, a in _actions(db)] == ["key.created"]


def _event(action: str, client_id: str) -> AuditEvent:
    return AuditEvent(at=FIXED_NOW, actor="tester", origin="local", action=action,
                      environment=TEST, client_id=client_id)


async def test_store_writes_only_from_the_allowed_states(service, store, db):
    """The store alone: a status outside `allowed_from`, or an unknown Client ID, returns False
    and leaves every table as it was; an allowed one returns True with its audit event."""
    made = await service.create("Billing", TEST)
    cid = made.key.client_id
    before = _rows(db)
    active_only = frozenset({KeyStatus.ACTIVE})
    disabled_only = frozenset({KeyStatus.DISABLED})
    assert not await store.set_status(cid, KeyStatus.ACTIVE, FIXED_NOW, "t", disabled_only,
                                      _event("key.enabled", cid))
    assert not await store.rename_key(cid, "X", "x", disabled_only, _event("key.renamed", cid))
    assert not await store.add_secret(cid, "$argon2id$x", "wxyz", FIXED_NOW, FIXED_NOW,
                                      disabled_only, _event("key.rolled", cid))
    unknown = "cu_test_ci_" + "0" * 24
    assert not await store.set_status(unknown, KeyStatus.DISABLED, FIXED_NOW, "t", active_only,
                                      _event("key.disabled", unknown))
    assert not await store.set_status(cid, KeyStatus.DISABLED, FIXED_NOW, "t", frozenset(),
                                      _event("key.disabled", cid))
    assert _rows(db) == before
    assert await store.set_status(cid, KeyStatus.DISABLED, FIXED_NOW, "t", active_only,
                                  _event("key.disabled", cid))
    assert (await store.get_key(cid)).key.status is KeyStatus.DISABLED  # type: ignore[union-attr]
    assert [a for _, a in _actions(db)] == ["key.created", "key.disabled"]


def test_every_action_on_a_key_has_a_rule():
    """Revoked is final; disable and enable go one way each."""
    assert set(ALLOWED_FROM) == {
        AuditAction.KEY_ROLLED, AuditAction.KEY_RENAMED, AuditAction.KEY_REVOKED,
        AuditAction.KEY_DISABLED, AuditAction.KEY_ENABLED,
    }
    assert all(KeyStatus.REVOKED not in allowed for allowed in ALLOWED_FROM.values())
    assert ALLOWED_FROM[AuditAction.KEY_DISABLED] == {KeyStatus.ACTIVE}
    assert ALLOWED_FROM[AuditAction.KEY_ENABLED] == {KeyStatus.DISABLED}


@pytest.mark.parametrize("status", list(KeyStatus))
def test_allows_is_the_rule_table(status):
    """What the TUI asks (service.allows) is exactly what the writes enforce (ALLOWED_FROM)."""
    for action in AuditAction:
        assert allows(status, action) is (status in ALLOWED_FROM.get(action, frozenset()))
    assert allows(status, AuditAction.KEY_DISABLED) is (status is KeyStatus.ACTIVE)
    assert allows(status, AuditAction.KEY_ENABLED) is (status is KeyStatus.DISABLED)
    assert allows(status, AuditAction.KEY_ROLLED) is (status is not KeyStatus.REVOKED)
