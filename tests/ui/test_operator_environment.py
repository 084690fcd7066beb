"""Per operator, not per database: the environment chosen in the app is remembered in the
operator's own state folder. Another operator on the same database still starts in Test."""

from __future__ import annotations

import os
import stat

from changeup_tui.core.models import Environment
from changeup_tui.core.operator_state import default_state_path
from tests.helpers.pilot import SIZE, started, wait_for


async def _switch_to_live(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.environment is Environment.TEST
        await pilot.press("e")
        await wait_for(pilot, lambda: app.environment is Environment.LIVE)
        await app.workers.wait_for_complete()


async def _starts_in(make_app) -> Environment:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        return app.environment


async def test_live_chosen_by_one_operator_does_not_open_live_for_another(
    make_app, isolated_env, monkeypatch
):
    await _switch_to_live(make_app)
    state = default_state_path()
    assert state.is_file()
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state.parent).st_mode) == 0o700
    assert await _starts_in(make_app) is Environment.LIVE  # the same operator: remembered

    monkeypatch.setenv("XDG_STATE_HOME", str(isolated_env / "another-operator"))
    assert await _starts_in(make_app) is Environment.TEST  # same database, another operator


async def test_a_corrupt_state_file_starts_in_test(make_app):
    await _switch_to_live(make_app)
    default_state_path().write_bytes(b"\x00{not json")
    assert await _starts_in(make_app) is Environment.TEST
