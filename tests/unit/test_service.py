"""The key service: create, verify (every refusal path and its cost), last used, rehash,
account and settings."""

from __future__ import annotations

import socket
import sqlite3
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters

from changeup_tui.core import hashing
from changeup_tui.core.context import current_actor
from changeup_tui.core.errors import InvalidName, KeyNotFound
from changeup_tui.core.models import Account, Actor, Environment, KeyStatus, Secret
from changeup_tui.core.service import KeyService
from changeup_tui.testing import FIXED_NOW, FixedClock, SeededKeyGenerator
from tests.helpers.keys import ScriptedKeys, shared_hint_secrets

pytestmark = pytest.mark.usefixtures("fast_argon2")


class SpyStore:
    """Wraps a store and counts the calls made to it."""

    def __init__(self, inner):
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if callable(attr):

            async def wrapper(*args, **kwargs):
                self.calls.append(name)
                return await attr(*args, **kwargs)

            return wrapper
        return attr


@pytest.fixture
def spy(store):
    return SpyStore(store)


@pytest.fixture
def spied(spy, clock, keygen):
    return KeyService(spy, clock=clock, keygen=keygen, actor=Actor("tester", "local"))


@pytest.fixture
def argon2_calls(monkeypatch):
    """Counts every argon2 verify and every hash."""
    counts = {"verify": 0, "hash": 0}
    real_verify, real_hash = hashing.verify_sync, hashing.hash_secret_sync

    def verify_sync(phc, secret):
        counts["verify"] += 1
        return real_verify(phc, secret)

    def hash_secret_sync(secret):
        counts["hash"] += 1
        return real_hash(secret)

    monkeypatch.setattr(hashing, "verify_sync", verify_sync)
    monkeypatch.setattr(hashing, "hash_secret_sync", hash_secret_sync)
    return counts


def _set_hash(db, secret_id: int, phc: str) -> None:
    """Plant a hash as an older version (or another secret) would have stored it."""
    mark = "$1" if db.is_postgres else "?"
    other = "$2" if db.is_postgres else "?"
    db.plant(f"UPDATE key_secrets SET phc = {mark} WHERE id = {other}", phc, secret_id)


def _audit_rows(db):
    return db.raw("SELECT actor, origin, action, environment, client_id FROM audit_events ORDER BY id")


# -- create ---------------------------------------------------------------------------------------


async def test_create_returns_key_and_secret_and_one_audit_event(service, db, clock):
    made = await service.create("  Billing  ", Environment.TEST)
    key, secret = made.key, made.secret
    assert isinstance(secret, Secret)
    assert secret.reveal().startswith("cu_test_sk_")
    assert key.client_id.startswith("cu_test_ci_")
    assert key.name == "Billing"
    assert key.environment is Environment.TEST
    assert key.status is KeyStatus.ACTIVE
    assert key.created_at == clock.now
    assert key.last_used_at is None
    assert key.hint == secret.hint
    stored = await service.get(key.client_id)
    assert stored.client_id == key.client_id and stored.name == "Billing"
    # what create returns is what was stored: the OS user on SQLite, the server's role on
    # PostgreSQL (a trigger writes it)
    assert key.created_by == stored.created_by == db.actor("tester")
    assert stored.created_at == FIXED_NOW
    assert _audit_rows(db) == [
        (db.actor("tester"), db.origin("tester"), "key.created", "test", key.client_id)
    ]
    events = await service.audit()
    assert len(events) == 1 and events[0].at == FIXED_NOW


async def test_audit_records_the_ssh_origin(store, clock, keygen, db):
    actor = current_actor({"SSH_CONNECTION": "203.0.113.5 50022 10.0.0.2 22"})
    assert actor.origin == "203.0.113.5"
    assert current_actor({}).origin == "local"
    service = KeyService(store, clock=clock, keygen=keygen, actor=actor)
    made = await service.create("Remote", Environment.LIVE)
    assert _audit_rows(db) == [(
        db.actor(actor.user), db.origin(actor.user, "203.0.113.5"), "key.created", "live",
        made.key.client_id,
    )]


async def test_failed_insert_returns_no_secret(service, monkeypatch):
    async def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    made = await service.create("First", Environment.TEST)
    monkeypatch.setattr(service.store, "insert_key", refuse)
    with pytest.raises(sqlite3.OperationalError):
        await service.create("Second", Environment.TEST)
    assert [k.name for k in (await service.list()).keys] == ["First"]
    assert made.secret  # the first one was returned


async def test_get_unknown_key(service):
    with pytest.raises(KeyNotFound):
        await service.get("cu_test_ci_" + "0" * 24)


# -- verify ---------------------------------------------------------------------------------------


async def test_verify_ok_and_wrong_secret(service, argon2_calls):
    made = await service.create("Billing", Environment.TEST)
    result = await service.verify(made.key.client_id, made.secret)
    assert result.ok and result.reason == "ok" and result.key.client_id == made.key.client_id
    assert (await service.verify(made.key.client_id, made.secret.reveal())).ok  # plain text too

    before = dict(argon2_calls)
    other = SeededKeyGenerator(12345, valid_checksum=True).secret(Environment.TEST)
    wrong = await service.verify(made.key.client_id, other)
    assert not wrong and wrong.reason == "wrong_secret"
    # its hint (last 4 characters) matches no stored secret: refused without argon2 (before
    # issue 10 it burned a dummy verify); a matching hint costs one (the next test)
    assert other.hint != made.secret.hint
    assert argon2_calls["verify"] - before["verify"] == 0


async def test_hint_match_but_hash_mismatch_is_wrong_secret(service, store, db, argon2_calls):
    """The hint only picks the candidate hash; argon2 decides."""
    made = await service.create("Billing", Environment.TEST)
    (stored,) = (await store.get_key(made.key.client_id)).secrets
    assert stored.hint == made.secret.hint
    other = SeededKeyGenerator(777, valid_checksum=True).secret(Environment.TEST)
    _set_hash(db, stored.id, hashing.hash_secret_sync(other))
    before = argon2_calls["verify"]
    result = await service.verify(made.key.client_id, made.secret)
    assert not result and result.reason == "wrong_secret"
    assert argon2_calls["verify"] - before == 1
    assert (await service.get(made.key.client_id)).last_used_at is None


async def test_other_environments_secret_is_environment_mismatch(service, spy, spied):
    test_key = await service.create("Billing", Environment.TEST)
    live_key = await service.create("Billing", Environment.LIVE)
    result = await spied.verify(test_key.key.client_id, live_key.secret)
    assert not result and result.reason == "environment_mismatch"
    result = await spied.verify(live_key.key.client_id, test_key.secret)
    assert not result and result.reason == "environment_mismatch"
    assert "get_key" not in spy.calls  # decided from the formats alone


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # checksum broken
        lambda s: s[:20] + ("x" if s[20] != "x" else "y") + s[21:],  # typo in the body
        lambda s: s[:-1],  # truncated
        lambda s: s + "\n",
        lambda s: "",
        lambda s: "cu_test_sk_",
        lambda s: s.upper(),
    ],
)
async def test_malformed_secret_never_touches_the_store(service, spy, spied, argon2_calls, mangle):
    made = await service.create("Billing", Environment.TEST)
    spy.calls.clear()
    before = dict(argon2_calls)
    result = await spied.verify(made.key.client_id, mangle(made.secret.reveal()))
    assert not result and result.reason == "malformed"
    assert spy.calls == []
    assert argon2_calls == before  # no hashing either: a typo is answered at once


@pytest.mark.parametrize("client_id", ["", "cu_test_ci_short", "cu_prod_ci_" + "a" * 24, "x" * 10_000])
async def test_malformed_client_id_never_touches_the_store(spied, spy, client_id):
    secret = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.TEST)
    result = await spied.verify(client_id, secret)
    assert not result and result.reason == "malformed"
    assert spy.calls == []


async def test_unknown_client_id_costs_one_look_up_and_no_argon2(spied, spy, argon2_calls):
    """Issue 10: Client IDs carry 143 random bits and are public; hiding which exist is not
    worth making every forged request cost an argon2 check (it was one dummy verify before)."""
    gen = SeededKeyGenerator(31337, valid_checksum=True)
    result = await spied.verify(gen.client_id(Environment.TEST), gen.secret(Environment.TEST))
    assert not result and result.reason == "unknown_key" and result.key is None
    assert spy.calls == ["get_key"]
    assert argon2_calls == {"verify": 0, "hash": 0}


async def test_refusals_by_state_cost_no_argon2(service, clock, argon2_calls):
    """An unknown, revoked, disabled or expired key is refused without argon2 (issue 10; each
    cost one argon2 verify before): only a key that could verify pays for the check."""
    gen = SeededKeyGenerator(4, valid_checksum=True)
    revoked = await service.create("Revoked", Environment.TEST)
    disabled = await service.create("Disabled", Environment.TEST)
    expiring = await service.create("Expiring", Environment.TEST, expires_at=clock.now + timedelta(days=1))
    await service.revoke(revoked.key.client_id)
    await service.disable(disabled.key.client_id)
    clock.advance(days=1, seconds=1)
    cases = [
        (gen.client_id(Environment.TEST), gen.secret(Environment.TEST), "unknown_key"),
        (revoked.key.client_id, revoked.secret, "revoked"),
        (disabled.key.client_id, disabled.secret, "disabled"),
        (expiring.key.client_id, expiring.secret, "expired"),
        (disabled.key.client_id, gen.secret(Environment.TEST), "disabled"),
    ]
    for client_id, secret, reason in cases:
        before = argon2_calls["verify"]
        result = await service.verify(client_id, secret)
        assert (result.ok, result.reason) == (False, reason)
        assert argon2_calls["verify"] - before == 0, reason


async def test_last_used_at_is_written_at_most_once_a_minute(service, spy, spied, clock):
    made = await service.create("Billing", Environment.TEST)
    client_id = made.key.client_id
    t0 = clock.now
    assert (await spied.verify(client_id, made.secret)).ok
    assert (await service.get(client_id)).last_used_at == t0
    assert spy.calls.count("record_use") == 1

    clock.advance(seconds=30)
    assert (await spied.verify(client_id, made.secret)).ok
    assert (await service.get(client_id)).last_used_at == t0  # not rewritten
    assert spy.calls.count("record_use") == 1  # not even attempted

    clock.advance(seconds=31)  # 61 s after the first use
    assert (await spied.verify(client_id, made.secret)).ok
    assert (await service.get(client_id)).last_used_at == t0 + timedelta(seconds=61)
    assert spy.calls.count("record_use") == 2


async def test_failed_verify_does_not_touch_last_used(service):
    made = await service.create("Billing", Environment.TEST)
    wrong = SeededKeyGenerator(5, valid_checksum=True).secret(Environment.TEST)
    assert not await service.verify(made.key.client_id, wrong)
    assert (await service.get(made.key.client_id)).last_used_at is None


@pytest.mark.real_argon2
async def test_verify_rehashes_old_parameters(service, store, db):
    made = await service.create("Billing", Environment.TEST)
    record = await store.get_key(made.key.client_id)
    (stored,) = record.secrets
    weak = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(made.secret.reveal())
    _set_hash(db, stored.id, weak)
    assert (await store.get_key(made.key.client_id)).secrets[0].phc == weak

    assert (await service.verify(made.key.client_id, made.secret)).ok
    upgraded = (await store.get_key(made.key.client_id)).secrets[0].phc
    assert upgraded != weak
    params = extract_parameters(upgraded)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (1, 16384, 1)
    assert (params.hash_len, params.salt_len) == (32, 16)
    assert (await service.verify(made.key.client_id, made.secret)).ok  # still verifies
    # On PostgreSQL the new hash carries an event (the server refuses a change of a hash without
    # one: pg_migrations step 7), by the role, never holding a hash; SQLite writes none.
    rehashed = [e for e in await service.audit(client_id=made.key.client_id)
                if e.action == "key.rehashed"]
    if db.is_postgres:
        assert [(e.actor, e.environment, e.detail) for e in rehashed] == [(
            db.actor("tester"), Environment.TEST,
            "hash upgraded to the current argon2 parameters on a successful verify",
        )]
    else:
        assert rehashed == []


async def test_verify_on_a_read_only_store_still_answers(db, clock, keygen):
    store = db.make_store()
    await store.open()
    service = KeyService(store, clock=clock, keygen=keygen, actor=Actor("tester", "local"))
    made = await service.create("Billing", Environment.TEST)
    store.read_only = True  # as if opened read-only: the last-used write is skipped, not an error
    try:
        assert (await service.verify(made.key.client_id, made.secret)).ok
        assert (await service.get(made.key.client_id)).last_used_at is None
    finally:
        await store.close()


# -- account and settings -------------------------------------------------------------------------


async def test_account_first_run_fills_from_os_user(service, db):
    import os
    import pwd

    account = await service.account()
    gecos = pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
    assert account.display_name == (gecos or "tester")
    assert account.email == f"tester@{socket.gethostname()}"
    assert account.organisation == ""
    assert await service.account() == account  # stored, not recomputed
    actions = [row[2] for row in _audit_rows(db)]
    assert actions == ["account.created"]


async def test_save_account_validates(service):
    saved = await service.save_account(Account(" Ada Lovelace ", " ada@example.com ", " Analytical "))
    assert saved == Account("Ada Lovelace", "ada@example.com", "Analytical")
    assert await service.account() == saved
    assert await service.save_account(Account("Ada", "", "")) == Account("Ada", "", "")
    bad = [
        Account("", "ada@example.com", ""),
        Account("   ", "", ""),
        Account("Ada", "not an email", ""),
        Account("Ada", "no-at-sign", ""),
        Account("Ada\x1b[2J", "", ""),
        Account("Ada", "", "Org\u202e"),
        Account("x" * 65, "", ""),
    ]
    for account in bad:
        with pytest.raises(InvalidName) as info:
            await service.save_account(account)
        assert "\x1b" not in str(info.value) and "\u202e" not in str(info.value)
    assert await service.account() == Account("Ada", "", "")


async def test_environment_choice_is_remembered_across_restarts(db, clock, keygen):
    """Remembered in the operator's state file (see test_operator_state.py), not the database."""
    from changeup_tui.core.operator_state import default_state_path

    store = db.make_store()
    await store.open()
    try:
        service = KeyService(store, clock=clock, keygen=keygen, actor=Actor("t", "local"))
        assert await service.environment() is Environment.TEST  # the safe default
        await service.set_environment(Environment.LIVE)
        assert await service.environment() is Environment.LIVE
    finally:
        await store.close()
    store = db.make_store()
    await store.open()
    try:
        service = KeyService(store, clock=clock, keygen=keygen, actor=Actor("t", "local"))
        assert await service.environment() is Environment.LIVE
        default_state_path().write_text("garbage")
        assert await service.environment() is Environment.TEST
    finally:
        await store.close()


async def test_list_and_count(service, clock):
    for name in ("alpha", "beta"):
        await service.create(name, Environment.TEST)
        clock.advance(seconds=1)
    await service.create("gamma", Environment.LIVE)
    assert [k.name for k in (await service.list(Environment.TEST)).keys] == ["beta", "alpha"]
    assert await service.count() == 3
    assert await service.count(Environment.LIVE) == 1
    assert [k.name for k in (await service.list(search=" GAM ")).keys] == ["gamma"]


def test_fixed_clock_advances(clock):
    assert isinstance(clock, FixedClock)
    start = clock.now
    clock.advance(hours=1, seconds=1)
    assert clock() == start + timedelta(hours=1, seconds=1)


async def test_a_secret_shown_by_the_tui_is_unconfirmed_until_its_showing_ends(service):
    """create/roll with confirmed=False (the TUI) store the key as "secret never confirmed";
    confirm_secret clears it, only for the secret that was shown (not a later roll's)."""
    made = await service.create("shown in the tui", Environment.TEST, confirmed=False)
    key = await service.get(made.key.client_id)
    assert key.secret_confirmed is False and key.never_confirmed
    assert await service.confirm_secret(made.key.client_id, made.secret_id) is True
    assert (await service.get(made.key.client_id)).secret_confirmed is True

    rolled = await service.roll(made.key.client_id, confirmed=False)
    assert (await service.get(made.key.client_id)).never_confirmed
    # the old secret's showing: no
    assert await service.confirm_secret(made.key.client_id, made.secret_id) is False
    assert (await service.get(made.key.client_id)).never_confirmed
    assert await service.confirm_secret(rolled.key.client_id, rolled.secret_id) is True
    assert not (await service.get(made.key.client_id)).never_confirmed

    by_cli = await service.create("printed by the cli", Environment.TEST)
    assert (await service.get(by_cli.key.client_id)).secret_confirmed is True
    unshown = await service.create("revoked anyway", Environment.TEST, confirmed=False)
    revoked = await service.revoke(unshown.key.client_id)
    assert revoked.secret_confirmed is False and not revoked.never_confirmed


async def test_confirming_a_shown_secret_marks_that_secret_not_a_later_one_with_its_hint(store, clock):
    """Two secrets of one key share their hint. The TUI shows the first; meanwhile the key is
    rolled elsewhere (unconfirmed, say the CLI's printing failed). The first showing ending
    must not confirm the second secret: confirm_secret goes by the secret's id."""
    first, second = shared_hint_secrets()
    assert first.hint == second.hint and first != second
    keys = ScriptedKeys([first, second])
    service = KeyService(store, clock=clock, keygen=keys, actor=Actor("tester", "local"))
    shown = await service.create("shared hint", Environment.TEST, confirmed=False)
    clock.advance(seconds=1)
    rolled = await service.roll(shown.key.client_id, timedelta(hours=1), confirmed=False)
    assert rolled.secret == second and rolled.key.hint == shown.key.hint
    assert rolled.secret_id != shown.secret_id

    assert await service.confirm_secret(shown.key.client_id, shown.secret_id) is False
    assert (await service.get(shown.key.client_id)).never_confirmed
    assert await service.confirm_secret(rolled.key.client_id, rolled.secret_id) is True
    assert not (await service.get(shown.key.client_id)).never_confirmed
    # Both secrets still verify (the first in its grace period): the ids told them apart, the
    # hints could not.
    for secret in (first, second):
        assert (await service.verify(shown.key.client_id, secret.reveal())).ok


async def test_audit_shows_each_key_name_and_finds_events_by_part_of_a_name_or_client_id(service):
    """The Activity Log's key filter on both stores: part of a name (compared as the key list's
    filter compares names) or of a Client ID; each event carries its key's name now (a rename
    shows on the older events too); an event without a key has none; no match is empty."""
    billing = await service.create("Billing worker", Environment.TEST)
    other = await service.create("Partner feed", Environment.LIVE)
    await service.rename(billing.key.client_id, "Billing export")
    found = await service.audit(key_search="BILLING")
    assert {e.client_id for e in found} == {billing.key.client_id}
    assert [e.action for e in found] == ["key.renamed", "key.created"]
    assert {e.key_name for e in found} == {"Billing export"}
    part = other.key.client_id[-8:]
    assert [e.client_id for e in await service.audit(key_search=part)] == [other.key.client_id]
    assert await service.audit(key_search="no such key") == []
    assert await service.audit(key_search="%") == []  # a LIKE metacharacter is literal
    await service.save_account(Account("Dana", "dana@example.com", "Example"))
    account = [e for e in await service.audit() if e.action.startswith("account.")]
    assert account and all(e.key_name is None for e in account)
