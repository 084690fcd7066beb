"""A key's details (`KeyService.detail`), ending a roll's grace period at once (`end_grace`, one
compare-and-set write with its audit event) and the grace secrets of a page of keys."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import timedelta

import pytest

from changeup_tui.core.errors import InvalidTransition, KeyNotFound
from changeup_tui.core.models import Actor, Environment, KeyStatus
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore

pytestmark = pytest.mark.usefixtures("fast_argon2")

TEST, LIVE = Environment.TEST, Environment.LIVE


def _raw(db_path, sql, params=()):
    with contextlib.closing(sqlite3.connect(db_path, timeout=5)) as conn, conn:
        return conn.execute(sql, params).fetchall()


def _snapshot(db_path):
    return (
        _raw(db_path, "SELECT * FROM api_keys ORDER BY id"),
        _raw(db_path, "SELECT * FROM key_secrets ORDER BY id"),
        _raw(db_path, "SELECT * FROM audit_events ORDER BY id"),
    )


# -- detail ----------------------------------------------------------------------------------------


async def test_detail_of_a_new_key(service, clock):
    made = await service.create("Billing worker", LIVE, expires_at=clock() + timedelta(days=30))
    detail = await service.detail(made.key.client_id)
    key = detail.key
    assert (key.client_id, key.name, key.status, key.created_by) == (
        made.key.client_id, "Billing worker", KeyStatus.ACTIVE, "tester"
    )
    assert key.created_at == clock() and key.expires_at == clock() + timedelta(days=30)
    assert key.last_used_at is None
    assert [(s.hint, s.expires_at) for s in detail.secrets] == [(made.secret.hint, None)]
    assert detail.secrets[0].masked(LIVE) == f"cu_live_sk_…{made.secret.hint}"
    assert detail.grace_secrets == ()
    assert [e.action for e in detail.activity] == ["key.created"]
    assert "expires" in detail.activity[0].detail


async def test_detail_after_a_roll_with_grace_lists_both_secrets_with_the_old_ones_end(
    service, clock
):
    made = await service.create("Billing", TEST)
    clock.advance(minutes=5)
    rolled = await service.roll(made.key.client_id, timedelta(hours=24))
    detail = await service.detail(made.key.client_id)
    assert [(s.hint, s.expires_at) for s in detail.secrets] == [
        (rolled.secret.hint, None),
        (made.secret.hint, clock() + timedelta(hours=24)),
    ]
    assert [s.hint for s in detail.grace_secrets] == [made.secret.hint]
    assert detail.key.secrets_count == 2
    assert [e.action for e in detail.activity] == ["key.rolled", "key.created"]  # newest first
    clock.advance(hours=24, seconds=1)  # the grace period is over: only the new one is listed
    detail = await service.detail(made.key.client_id)
    assert [s.hint for s in detail.secrets] == [rolled.secret.hint]


async def test_detail_shows_last_use_and_at_most_the_latest_events(service, clock):
    made = await service.create("Billing", TEST)
    for n in range(5):
        clock.advance(minutes=2)
        await service.rename(made.key.client_id, f"Billing {n}")
    clock.advance(minutes=2)
    assert (await service.verify(made.key.client_id, made.secret)).ok
    detail = await service.detail(made.key.client_id, activity=3)
    assert detail.key.last_used_at == clock()
    assert [e.detail for e in detail.activity] == ["was Billing 3", "was Billing 2", "was Billing 1"]


async def test_detail_of_a_revoked_key_has_no_working_secret(service):
    made = await service.create("Billing", TEST)
    await service.roll(made.key.client_id, timedelta(days=7))
    await service.revoke(made.key.client_id)
    detail = await service.detail(made.key.client_id)
    assert detail.key.status is KeyStatus.REVOKED
    assert detail.secrets == () and detail.key.secrets_count == 0
    assert detail.activity[0].action == "key.revoked"


async def test_detail_of_an_unknown_key(service):
    with pytest.raises(KeyNotFound):
        await service.detail("cu_test_ci_" + "A" * 24)


# -- end grace -------------------------------------------------------------------------------------


async def test_end_grace_stops_the_old_secret_at_once_and_keeps_the_new(service, clock, db_path):
    made = await service.create("Billing", TEST)
    rolled = await service.roll(made.key.client_id, timedelta(days=7))
    assert (await service.verify(made.key.client_id, made.secret)).ok
    clock.advance(minutes=1)
    key = await service.end_grace(made.key.client_id)
    assert key.secrets_count == 1
    result = await service.verify(made.key.client_id, made.secret)
    assert (result.ok, result.reason) == (False, "wrong_secret")
    assert (await service.verify(made.key.client_id, rolled.secret)).ok
    events = await service.audit(client_id=made.key.client_id, action="key.grace_ended")
    assert len(events) == 1
    assert (events[0].actor, events[0].environment, events[0].at) == ("tester", TEST, clock())
    assert made.secret.reveal() not in events[0].detail
    # The old secret's end is now, in the database: nothing else about it changed.
    ends = _raw(db_path, "SELECT hint, expires_at FROM key_secrets ORDER BY id")
    assert [hint for hint, _ in ends] == [made.secret.hint, rolled.secret.hint]
    assert ends[0][1] is not None and ends[1][1] is None
    assert (await service.detail(made.key.client_id)).grace_secrets == ()


async def test_end_grace_stops_every_old_secret_of_several_rolls(service):
    made = await service.create("Billing", LIVE)
    first = await service.roll(made.key.client_id, timedelta(days=7))
    second = await service.roll(made.key.client_id, timedelta(days=7))
    assert len((await service.detail(made.key.client_id)).secrets) == 3
    await service.end_grace(made.key.client_id)
    for old in (made.secret, first.secret):
        assert not (await service.verify(made.key.client_id, old)).ok
    assert (await service.verify(made.key.client_id, second.secret)).ok


async def test_end_grace_without_a_grace_period_writes_nothing(service, clock, db_path):
    made = await service.create("Billing", TEST)
    before = _snapshot(db_path)
    with pytest.raises(InvalidTransition, match="no old secret"):
        await service.end_grace(made.key.client_id)
    await service.roll(made.key.client_id, timedelta(hours=1))
    clock.advance(hours=1, seconds=1)  # the grace period already ended by itself
    before = _snapshot(db_path)
    with pytest.raises(InvalidTransition, match="no old secret"):
        await service.end_grace(made.key.client_id)
    assert _snapshot(db_path) == before
    await service.roll(made.key.client_id, timedelta(hours=1))
    await service.end_grace(made.key.client_id)
    before = _snapshot(db_path)
    with pytest.raises(InvalidTransition):  # twice: the second finds nothing to stop
        await service.end_grace(made.key.client_id)
    assert _snapshot(db_path) == before


async def test_end_grace_refuses_revoked_and_unknown_keys(service, db_path):
    made = await service.create("Billing", TEST)
    await service.roll(made.key.client_id, timedelta(days=7))
    await service.revoke(made.key.client_id)
    before = _snapshot(db_path)
    with pytest.raises(InvalidTransition, match="revoked"):
        await service.end_grace(made.key.client_id)
    assert _snapshot(db_path) == before
    with pytest.raises(KeyNotFound):
        await service.end_grace("cu_test_ci_" + "A" * 24)


async def test_end_grace_store_write_is_compare_and_set(store, service, clock, db_path):
    """The rule is checked where it is enforced: a key revoked by another process after the
    service read it is not touched, and no event is written."""
    made = await service.create("Billing", TEST)
    await service.roll(made.key.client_id, timedelta(days=7))
    _raw(db_path, "UPDATE api_keys SET status = 'revoked' WHERE client_id = ?", (made.key.client_id,))
    before = _snapshot(db_path)
    event = service._event("key.grace_ended", TEST, made.key.client_id, "old secret stopped")
    assert await store.end_grace(made.key.client_id, clock(), event) == 0
    assert _snapshot(db_path) == before


async def test_end_grace_by_two_connections_at_once_stops_once(db_path, clock, keygen, service):
    made = await service.create("Billing", TEST)
    await service.roll(made.key.client_id, timedelta(days=7))
    stores = [SQLiteStore(db_path) for _ in range(2)]
    for s in stores:
        await s.open()
    try:
        services = [KeyService(s, clock=clock, keygen=keygen, actor=Actor(f"op{i}", "local"))
                    for i, s in enumerate(stores)]
        results = await asyncio.gather(
            *(s.end_grace(made.key.client_id) for s in services), return_exceptions=True
        )
    finally:
        for s in stores:
            await s.close()
    assert sorted(type(r).__name__ for r in results) == ["ApiKey", "InvalidTransition"]
    assert len(await service.audit(client_id=made.key.client_id, action="key.grace_ended")) == 1


# -- grace secrets of a page -------------------------------------------------------------------------


async def test_grace_secrets_of_a_page_of_keys(service, clock):
    plain = await service.create("plain", TEST)
    graced = await service.create("graced", TEST)
    revoked = await service.create("revoked", TEST)
    ended = await service.create("ended", LIVE)
    rolled = await service.roll(graced.key.client_id, timedelta(hours=24))
    await service.roll(revoked.key.client_id, timedelta(hours=24))
    await service.revoke(revoked.key.client_id)
    await service.roll(ended.key.client_id, timedelta(hours=1))
    ids = [k.key.client_id for k in (plain, graced, revoked, ended)]
    found = await service.grace_secrets(ids)
    assert set(found) == {graced.key.client_id, ended.key.client_id}
    (secret,) = found[graced.key.client_id]
    assert (secret.hint, secret.expires_at) == (graced.secret.hint, clock() + timedelta(hours=24))
    assert secret.hint != rolled.secret.hint
    clock.advance(hours=1, seconds=1)
    assert set(await service.grace_secrets(ids)) == {graced.key.client_id}
    assert await service.grace_secrets([]) == {}
    assert await service.grace_secrets(["cu_test_ci_" + "A" * 24]) == {}
