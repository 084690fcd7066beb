"""`changeup-tui verify --env live|test` (issue 10): a service's check from the command line.
Without --env either environment passes and the answer says which."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.processes import run_cli

from .cli_subprocess import create, snapshot_files


def _verify(db: Path, client_id: str, secret: str, *env: str):
    return run_cli("verify", "--client-id", client_id, *env, db=db, stdin=secret + "\n")


def test_verify_with_and_without_env(db):
    live = create(db, "Payments", "live")
    test = create(db, "Sandbox", "test")
    ok = _verify(db, live["client_id"], live["secret"], "--env", "live")
    assert (ok.code, ok.stdout.strip(), ok.stderr) == (0, "ok", "")
    ok = _verify(db, test["client_id"], test["secret"], "--env", "test")
    assert (ok.code, ok.stdout.strip()) == (0, "ok")
    either = _verify(db, live["client_id"], live["secret"])
    assert (either.code, either.stdout.strip()) == (0, "ok (live key)")
    either = _verify(db, test["client_id"], test["secret"])
    assert (either.code, either.stdout.strip()) == (0, "ok (test key)")


def test_a_key_of_the_other_environment_is_refused_before_the_database(db):
    live = create(db, "Payments", "live")
    test = create(db, "Sandbox", "test")
    before = snapshot_files(db.parent)
    for key, env in ((test, "live"), (live, "test")):
        refused = _verify(db, key["client_id"], key["secret"], "--env", env)
        line = refused.assert_one_line_error(1)
        assert "environment mismatch" in line
        assert key["secret"] not in refused.stdout + refused.stderr
    assert snapshot_files(db.parent) == before  # decided before the database was opened
    # a database that does not exist is not even looked for
    missing = db.parent / "nowhere.db"
    refused = _verify(missing, test["client_id"], test["secret"], "--env", "live")
    refused.assert_one_line_error(1)
    assert not missing.exists()


def test_env_takes_only_live_or_test(db):
    test = create(db, "Sandbox", "test")
    result = _verify(db, test["client_id"], test["secret"], "--env", "prod")
    result.assert_one_line_error(2)
