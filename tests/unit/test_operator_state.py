"""The environment is remembered per operator, in the user's state folder (0700 folder, 0600
file), never in the shared database; a corrupt or missing file means Test."""

from __future__ import annotations

import os
import stat

import pytest

from changeup_tui.core.models import Actor, Environment
from changeup_tui.core.operator_state import (
    OperatorState,
    OperatorStateError,
    default_state_path,
)
from changeup_tui.core.service import KeyService


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_default_path_is_in_the_user_state_folder(isolated_env):
    path = default_state_path()
    assert path == isolated_env / "xdg_state_home" / "changeup-tui" / "operator.json"
    assert not path.parent.exists()  # nothing is created until something is saved


def test_nothing_remembered_then_the_choice_round_trips(tmp_path):
    path = tmp_path / "state" / "deep" / "operator.json"
    assert OperatorState(path).environment() is None
    OperatorState(path).set_environment(Environment.LIVE)
    assert OperatorState(path).environment() is Environment.LIVE
    OperatorState(path).set_environment(Environment.TEST)
    assert OperatorState(path).environment() is Environment.TEST
    assert [p.name for p in path.parent.iterdir()] == ["operator.json"]  # no temporary left


def test_file_is_0600_and_folders_0700_whatever_the_umask(tmp_path):
    path = tmp_path / "a" / "b" / "operator.json"
    old = os.umask(0)
    try:
        OperatorState(path).set_environment(Environment.LIVE)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700


def test_an_existing_open_folder_is_tightened(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    os.chmod(folder, 0o777)
    OperatorState(folder / "operator.json").set_environment(Environment.LIVE)
    assert _mode(folder) == 0o700


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"\xff\xfe garbage", b"[]", b'"live"', b'{"environment": "prod"}',
     b'{"environment": 1}', b'{"environment": "live"' + b" " * 5000 + b"}"],
)
def test_a_corrupt_file_is_ignored_and_then_replaced(tmp_path, content):
    path = tmp_path / "operator.json"
    path.write_bytes(content)
    assert OperatorState(path).environment() is None
    OperatorState(path).set_environment(Environment.LIVE)
    assert OperatorState(path).environment() is Environment.LIVE


def test_a_folder_in_place_of_the_file_is_ignored(tmp_path):
    path = tmp_path / "operator.json"
    path.mkdir()
    assert OperatorState(path).environment() is None


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(OperatorStateError, match="cannot save"):
        OperatorState(folder / "operator.json").set_environment(Environment.LIVE)


def test_a_file_as_the_state_folder_is_a_clear_error(tmp_path):
    (tmp_path / "notafolder").write_text("x")
    with pytest.raises(OperatorStateError, match="cannot save"):
        OperatorState(tmp_path / "notafolder" / "operator.json").set_environment(Environment.LIVE)


async def test_service_environment_is_per_operator_not_per_database(store, clock, keygen, tmp_path):
    """Two operators on one database: one switching to Live leaves the other in Test, and the
    shared database holds no environment setting."""
    alice = KeyService(store, clock=clock, keygen=keygen, actor=Actor("alice", "local"),
                       operator_state=OperatorState(tmp_path / "alice" / "operator.json"))
    bob = KeyService(store, clock=clock, keygen=keygen, actor=Actor("bob", "local"),
                     operator_state=OperatorState(tmp_path / "bob" / "operator.json"))
    assert await alice.environment() is Environment.TEST  # nothing remembered: Test
    await alice.set_environment(Environment.LIVE)
    assert await alice.environment() is Environment.LIVE
    assert await bob.environment() is Environment.TEST
    assert await store.get_setting("environment") is None


async def test_service_ignores_an_environment_left_in_the_shared_database(store, clock, keygen):
    """Databases from before kept the last environment in `settings`: it no longer decides."""
    await store.set_setting("environment", "live")
    service = KeyService(store, clock=clock, keygen=keygen, actor=Actor("t", "local"))
    assert await service.environment() is Environment.TEST
    await service.set_environment(Environment.LIVE)
    assert default_state_path().is_file()
    fresh = KeyService(store, clock=clock, keygen=keygen, actor=Actor("t", "local"))
    assert await fresh.environment() is Environment.LIVE
