"""The README's team setup on a server where EXECUTE on functions was taken from PUBLIC: an
operator's writes are refused (the triggers call changeup_copying) until the README's `execute`
grant is given; then operators create, rename, disable, revoke and search, and a verifier
verifies and records "last used", with nothing more granted."""

from __future__ import annotations

import re

import pytest

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.pg_team import ROLES, readme_sql, role_name
from tests.store_backends import Backend

pytestmark = pytest.mark.usefixtures("fast_argon2")
TEST = Environment.TEST


def _as_named(sql: str, team: dict[str, str]) -> str:
    """The README's SQL with this test's role names."""
    return re.sub(r"\b(" + "|".join(ROLES) + r")\b", lambda m: role_name(team[m.group(1)]), sql)


async def _service(url: str, clock, seed: int) -> KeyService:
    store = PostgresStore(url)
    await store.open()
    return KeyService(store, clock=clock, keygen=SeededKeyGenerator(seed, valid_checksum=True),
                      actor=Actor("root", "local"))


async def test_without_execute_for_public_the_readme_grant_is_enough(team, clock):
    owner = Backend("postgres", team["changeup_owner"])
    owner.raw("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC")
    public_can = owner.raw(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proowner = (SELECT oid FROM pg_roles "
        "WHERE rolname = current_user) AND has_function_privilege('public', p.oid, 'EXECUTE')"
    )
    assert public_can == []  # the schema's functions: none left to PUBLIC
    alice = await _service(team["alice"], clock, 1)
    try:
        with pytest.raises(StoreError, match="permission denied for function changeup_copying"):
            await alice.create("Refused", TEST)
        assert owner.raw("SELECT count(*) FROM api_keys") == [(0,)]

        owner.raw(_as_named(readme_sql("execute"), team))
        made = await alice.create("Billing", TEST)
        other = await alice.create("Other", TEST)
        await alice.rename(other.key.client_id, "Other two")
        await alice.disable(other.key.client_id)
        assert [k.name for k in (await alice.list(TEST, search="bill")).keys] == ["Billing"]
        async with Verifier(team["billing_service"], environment="test", clock=clock) as verifier:
            assert (await verifier.verify(made.key.client_id, made.secret)).ok
        assert (await alice.get(made.key.client_id)).last_used_at == clock.now
        await alice.revoke(made.key.client_id)
        actions = [e.action for e in reversed(await alice.audit())]
        assert actions[-5:] == ["key.created", "key.created", "key.renamed", "key.disabled",
                                "key.revoked"]
        assert {e.actor for e in await alice.audit()} >= {role_name(team["alice"])}
    finally:
        await alice.store.close()
