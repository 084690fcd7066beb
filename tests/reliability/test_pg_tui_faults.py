"""The TUI on PostgreSQL (Pilot, a private throwaway cluster), with a verifier running beside it:
the server stopped while a key is being created gives a clear message in the name modal, the
typed name kept and nothing created; the server started again, the same Enter creates the key,
the page hears other operators' changes again, the verifier verifies the new key and hears a
revocation again (its staleness bound an hour: only the announcement can refuse the key)."""

from __future__ import annotations

import asyncio

import pytest

from changeup_tui.core.config import PostgresTarget
from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.postgres import PostgresStore
from changeup_tui.core.verifier import LISTEN_RETRY_SECONDS, Verifier
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.apps import build_test_app
from tests.helpers.clipboard import FakeClipboard
from tests.helpers.pilot import SIZE, started, wait_for
from tests.pg_cluster import start_cluster

from .test_pg_other_operator import _rows
from .test_tui_faults import reason_text

pytestmark = pytest.mark.slow


def _options(server) -> str:
    return f"-c listen_addresses='' -c unix_socket_directories='{server.folder}' -c port=5432"


async def _names(url: str) -> list[str]:
    store = PostgresStore(url)
    await store.open()
    try:
        return [k.name for k in (await KeyService(store).list()).keys]
    finally:
        await store.close()


async def test_server_stopped_during_create_says_so_and_retry_works(capsys, caplog):
    from textual.widgets import Button, Input

    from changeup_tui.tui.modals.name_modal import NameModal
    from changeup_tui.tui.modals.reveal_modal import RevealModal
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

    server = await asyncio.to_thread(start_cluster)
    try:
        url = await asyncio.to_thread(server.new_database)
        stderr_before = capsys.readouterr().err
        store = PostgresStore(url)
        await store.open()
        service = KeyService(store, keygen=SeededKeyGenerator(3, valid_checksum=True),
                             actor=Actor("tester", "local"))
        existing = await service.create("Existing", Environment.TEST)
        await store.close()
        verifier = Verifier(url, environment="test", max_staleness=3600.0, background_refresh=False)
        await verifier.open()
        assert (await verifier.verify(existing.key.client_id, existing.secret)).ok  # now cached

        clipboard = FakeClipboard()
        app = build_test_app(PostgresTarget(url), clipboard=clipboard,  # type: ignore[arg-type]
                             keygen=SeededKeyGenerator(5, valid_checksum=True))
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, NameModal), what="name modal")
            modal = app.screen
            await pilot.press(*"typed while down")
            await wait_for(pilot, lambda: not modal.query_one("#create", Button).disabled,
                           what="the name accepted")
            await asyncio.to_thread(server.pg_ctl, "stop", "-m", "fast")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "not answering" in reason_text(modal), limit=20,
                           what="the server's message")
            assert app.screen is modal
            assert modal.query_one(Input).value == "typed while down"
            assert not modal.busy

            await asyncio.to_thread(server.pg_ctl, "start", "-o", _options(server))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RevealModal), limit=20,
                           what="the reveal modal after the retry")
            created = app.screen.key
            assert created.name == "typed while down"
            await pilot.press("s")
            await wait_for(pilot, lambda: bool(clipboard.text), what="the secret copied")
            assert (await verifier.verify(created.client_id, clipboard.text)).ok
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), what="the page")
            # the page listens again once the server is back: another operator's key shows up
            store = PostgresStore(url)
            await store.open()
            other = KeyService(store, keygen=SeededKeyGenerator(4), actor=Actor("bob", "host-b"))
            await other.create("After restart", Environment.TEST)
            page = app.screen
            await wait_for(pilot, lambda: "After restart" in _rows(page), limit=6,
                           what="the other operator's key")
            # the verifier listens again too: a revocation is refused without waiting an hour
            # (heard, or, when it came before the verifier listened again, made stale on
            # listening again: either way within the retry delay and a second)
            await other.revoke(existing.key.client_id)

            async def refused() -> bool:
                return not (await verifier.verify(existing.key.client_id, existing.secret)).ok

            await wait_for(pilot, refused, limit=LISTEN_RETRY_SECONDS + 1.0,
                           what="the verifier refusing the revoked key")
            result = await verifier.verify(existing.key.client_id, existing.secret)
            assert result.reason == "revoked"
            await store.close()
        await verifier.close()
        assert sorted(await _names(url)) == ["After restart", "Existing", "typed while down"]
        # nothing written behind the screen's back (a driver's traceback would break the display)
        assert capsys.readouterr().err == stderr_before == ""
        assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
    finally:
        await asyncio.to_thread(server.stop)
