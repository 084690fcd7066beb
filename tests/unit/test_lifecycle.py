"""Key lifecycle at core level: roll with a grace period, revoke, disable/enable, rename, expiry;
each action one audit event, written in the same transaction as the change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from changeup_tui.core.errors import DuplicateName, InvalidName, InvalidTransition, StoreError
from changeup_tui.core.models import Environment, KeyStatus
from changeup_tui.core.vocabulary import GRACE_PERIODS
from tests.store_backends import REFUSE_AUDIT

pytestmark = pytest.mark.usefixtures("fast_argon2")

TEST, LIVE = Environment.TEST, Environment.LIVE


def _raw(db, sql):
    return db.raw(sql)


def _audit_count(db) -> int:
    return _raw(db, "SELECT count(*) FROM audit_events")[0][0]


def _snapshot(db):
    """Everything an action could change."""
    return (
        _raw(db, "SELECT * FROM api_keys ORDER BY id"),
        _raw(db, "SELECT * FROM key_secrets ORDER BY id"),
        _raw(db, "SELECT * FROM audit_events ORDER BY id"),
    )


async def _ok(service, key, secret) -> bool:
    return (await service.verify(key.client_id, secret)).ok


# -- roll -----------------------------------------------------------------------------------------


def test_grace_periods_offered():
    assert {period.code: period.span for period in GRACE_PERIODS} == {
        "0": timedelta(0),
        "1h": timedelta(hours=1),
        "24h": timedelta(hours=24),
        "7d": timedelta(days=7),
    }


async def test_roll_without_grace_refuses_the_old_secret_at_once(service, db):
    made = await service.create("Billing", TEST)
    rolled = await service.roll(made.key.client_id, timedelta(0))
    assert rolled.key.client_id == made.key.client_id
    assert rolled.secret != made.secret
    assert rolled.secret.reveal().startswith("cu_test_sk_")
    result = await service.verify(made.key.client_id, made.secret)
    assert (result.ok, result.reason) == (False, "wrong_secret")
    assert await _ok(service, made.key, rolled.secret)
    key = await service.get(made.key.client_id)
    assert key.hint == rolled.secret.hint
    assert key.secrets_count == 1
    assert key.name == "Billing" and key.created_at == made.key.created_at
    events = await service.audit(client_id=made.key.client_id, action="key.rolled")
    assert len(events) == 1 and events[0].detail == "grace none"


async def test_roll_with_grace_both_verify_until_it_ends(service, clock):
    made = await service.create("Billing", TEST)
    rolled = await service.roll(made.key.client_id, timedelta(hours=1))
    assert rolled.key.secrets_count == 2
    assert await _ok(service, made.key, made.secret)
    assert await _ok(service, made.key, rolled.secret)
    clock.advance(minutes=59, seconds=59)
    assert await _ok(service, made.key, made.secret)
    clock.advance(seconds=2)  # 1 h 0 min 1 s after the roll
    result = await service.verify(made.key.client_id, made.secret)
    assert (result.ok, result.reason) == (False, "wrong_secret")
    assert await _ok(service, made.key, rolled.secret)
    assert (await service.get(made.key.client_id)).secrets_count == 1
    events = await service.audit(client_id=made.key.client_id, action="key.rolled")
    assert events[0].detail == "grace 1h"


async def test_a_second_roll_shortens_the_first_grace(service, clock):
    made = await service.create("Billing", TEST)
    first = await service.roll(made.key.client_id, timedelta(days=7))
    second = await service.roll(made.key.client_id, timedelta(0))
    assert not await _ok(service, made.key, made.secret)  # its 7 days ended with the second roll
    assert not await _ok(service, made.key, first.secret)
    assert await _ok(service, made.key, second.secret)
    assert (await service.get(made.key.client_id)).secrets_count == 1


async def test_a_later_roll_never_extends_an_earlier_grace(service, clock):
    made = await service.create("Billing", TEST)
    await service.roll(made.key.client_id, timedelta(hours=1))
    second = await service.roll(made.key.client_id, timedelta(days=7))
    clock.advance(hours=1, seconds=1)
    assert not await _ok(service, made.key, made.secret)  # still ends after 1 h, not 7 days
    assert await _ok(service, made.key, second.secret)


async def test_disabled_key_can_be_rolled(service):
    made = await service.create("Billing", TEST)
    await service.disable(made.key.client_id)
    rolled = await service.roll(made.key.client_id)
    assert (await service.verify(made.key.client_id, rolled.secret)).reason == "disabled"
    await service.enable(made.key.client_id)
    assert await _ok(service, made.key, rolled.secret)


# -- status ---------------------------------------------------------------------------------------


async def test_revoked_disabled_expired_keys_fail_verify(service, clock):
    revoked = await service.create("Revoked", TEST)
    disabled = await service.create("Disabled", TEST)
    expiring = await service.create("Expiring", TEST, expires_at=clock.now + timedelta(days=30))
    for made in (revoked, disabled, expiring):
        assert await _ok(service, made.key, made.secret)
    await service.revoke(revoked.key.client_id)
    await service.disable(disabled.key.client_id)
    clock.advance(days=30)  # expires_at == now: expired
    for made, reason in ((revoked, "revoked"), (disabled, "disabled"), (expiring, "expired")):
        result = await service.verify(made.key.client_id, made.secret)
        assert (result.ok, result.reason) == (False, reason)
        assert result.key.client_id == made.key.client_id
    key = await service.get(expiring.key.client_id)
    assert key.status is KeyStatus.ACTIVE and key.state(clock.now) == "expired"
    # disabling is reversible
    await service.enable(disabled.key.client_id)
    assert await _ok(service, disabled.key, disabled.secret)


async def test_revoked_key_cannot_be_rolled_enabled_or_changed(service, db):
    made = await service.create("Billing", TEST)
    revoked = await service.revoke(made.key.client_id)
    assert revoked.status is KeyStatus.REVOKED and revoked.status_changed_at is not None
    before = _snapshot(db)
    attempts = [
        lambda: service.roll(made.key.client_id),
        lambda: service.roll(made.key.client_id, timedelta(days=7)),
        lambda: service.enable(made.key.client_id),
        lambda: service.disable(made.key.client_id),
        lambda: service.revoke(made.key.client_id),
        lambda: service.rename(made.key.client_id, "Other"),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidTransition):
            await attempt()
    assert _snapshot(db) == before
    assert (await service.verify(made.key.client_id, made.secret)).reason == "revoked"


async def test_invalid_transitions_between_active_and_disabled(service, db):
    made = await service.create("Billing", TEST)
    before = _snapshot(db)
    with pytest.raises(InvalidTransition):
        await service.enable(made.key.client_id)  # already active
    await service.disable(made.key.client_id)
    mid = _snapshot(db)
    assert mid != before
    with pytest.raises(InvalidTransition):
        await service.disable(made.key.client_id)  # already disabled
    assert _snapshot(db) == mid
    assert (await service.revoke(made.key.client_id)).status is KeyStatus.REVOKED  # disabled -> revoked


async def test_live_revoke_needs_the_typed_name(service, db):
    made = await service.create("Payments Prod", LIVE)
    before = _snapshot(db)
    for typed in (None, "", "Payments", "payments prod x", "Payments\u200bProd",
                  "payments PROD", "PAYMENTS PROD"):  # exact, case included
        with pytest.raises(InvalidTransition):
            await service.revoke(made.key.client_id, confirm_name=typed)
    assert _snapshot(db) == before
    assert (await service.get(made.key.client_id)).status is KeyStatus.ACTIVE
    assert await _ok(service, made.key, made.secret)

    audit_before = _audit_count(db)
    revoked = await service.revoke(made.key.client_id, confirm_name="  Payments Prod ")
    assert revoked.status is KeyStatus.REVOKED
    assert _audit_count(db) == audit_before + 1
    assert not await _ok(service, made.key, made.secret)


async def test_test_key_revoke_needs_no_name(service):
    made = await service.create("Sandbox", TEST)
    assert (await service.revoke(made.key.client_id)).status is KeyStatus.REVOKED


# -- rename ---------------------------------------------------------------------------------------


async def test_rename_follows_the_name_rules(service, db):
    made = await service.create("Billing", TEST)
    await service.create("Payouts", TEST)
    before = _snapshot(db)
    for bad in ("", "  ", "x" * 65, "a\x1b[2Jb", "a\u202eb", "a\nb"):
        with pytest.raises(InvalidName):
            await service.rename(made.key.client_id, bad)
    for clash in ("Payouts", "PAYOUTS", " payouts "):
        with pytest.raises(DuplicateName):
            await service.rename(made.key.client_id, clash)
    assert _snapshot(db) == before

    renamed = await service.rename(made.key.client_id, "  Billing (old)  ")
    assert renamed.name == "Billing (old)"
    assert (await service.rename(made.key.client_id, "BILLING (OLD)")).name == "BILLING (OLD)"
    # the old name is free again; the credentials did not change
    await service.create("Billing", TEST)
    assert await _ok(service, made.key, made.secret)
    assert len(await service.audit(client_id=made.key.client_id, action="key.renamed")) == 2


# -- expiry ---------------------------------------------------------------------------------------


async def test_expiry_in_the_past_or_now_is_refused_at_create(service, clock, db):
    for when in (clock.now - timedelta(days=1), clock.now - timedelta(seconds=1), clock.now):
        with pytest.raises(InvalidName):
            await service.create("Billing", TEST, expires_at=when)
    assert _raw(db, "SELECT count(*) FROM api_keys") == [(0,)]
    assert _audit_count(db) == 0
    made = await service.create("Billing", TEST, expires_at=clock.now + timedelta(days=90))
    assert made.key.expires_at == clock.now + timedelta(days=90)
    assert (await service.get(made.key.client_id)).expires_at == clock.now + timedelta(days=90)
    (event,) = await service.audit(action="key.created")
    assert event.detail == f"expires {(clock.now + timedelta(days=90)).date().isoformat()}"


# -- audit: one event per action, in the same transaction -----------------------------------------


async def test_each_action_writes_exactly_one_audit_event(service, db):
    live = await service.create("Prod", LIVE)
    made = await service.create("Billing", TEST)
    steps = [
        ("key.created", lambda: service.create("Other", TEST)),
        ("key.rolled", lambda: service.roll(made.key.client_id, timedelta(hours=1))),
        ("key.renamed", lambda: service.rename(made.key.client_id, "Billing 2")),
        ("key.disabled", lambda: service.disable(made.key.client_id)),
        ("key.enabled", lambda: service.enable(made.key.client_id)),
        ("key.revoked", lambda: service.revoke(made.key.client_id)),
        ("key.revoked", lambda: service.revoke(live.key.client_id, confirm_name="Prod")),
    ]
    for action, step in steps:
        before = _raw(db, "SELECT max(id) FROM audit_events")[0][0]
        await step()
        new = _raw(db, f"SELECT action, actor, origin FROM audit_events WHERE id > {before}")
        assert new == [(action, db.actor("tester"), db.origin("tester"))], action
    # refused actions write nothing
    before = _audit_count(db)
    with pytest.raises(InvalidTransition):
        await service.enable(made.key.client_id)
    assert _audit_count(db) == before


@pytest.mark.parametrize(
    "action",
    ["create", "roll", "rename", "disable", "enable", "revoke"],
)
async def test_a_failing_audit_insert_undoes_the_action(service, db, action):
    made = await service.create("Billing", TEST)
    disabled = await service.create("Disabled", TEST)
    await service.disable(disabled.key.client_id)
    for sql in REFUSE_AUDIT[db.kind]:
        _raw(db, sql)
    before = _snapshot(db)
    run = {
        "create": lambda: service.create("New", TEST),
        "roll": lambda: service.roll(made.key.client_id),
        "rename": lambda: service.rename(made.key.client_id, "Renamed"),
        "disable": lambda: service.disable(made.key.client_id),
        "enable": lambda: service.enable(disabled.key.client_id),
        "revoke": lambda: service.revoke(made.key.client_id),
    }[action]
    with pytest.raises(StoreError):
        await run()
    assert _snapshot(db) == before
    assert await _ok(service, made.key, made.secret)
    if not db.is_postgres:
        assert not service.store._conn().in_transaction


async def test_live_revoke_with_another_case_says_the_name_does_not_match(service):
    made = await service.create("Payments Prod", LIVE)
    with pytest.raises(InvalidTransition, match="case included"):
        await service.revoke(made.key.client_id, confirm_name="payments prod")
    assert (await service.get(made.key.client_id)).status is KeyStatus.ACTIVE
