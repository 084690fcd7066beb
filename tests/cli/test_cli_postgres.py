"""The command line on a PostgreSQL URL (the test server of tests/pg_cluster.py), through real
subprocesses: every subcommand, a password refused on argv and never printed, a server that is
not there (one line, exit 2), and `db copy --to URL` from an SQLite file."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from changeup_tui.core.store.postgres import PostgresStore
from tests.cli.cli_subprocess import create, list_keys, verify
from tests.helpers.processes import child_env as cli_env
from tests.helpers.processes import run_cli as run
from tests.pg_cluster import run_sync
from tests.store_backends import REFUSE_AUDIT, Backend

pytestmark = pytest.mark.slow


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, at, host = rest.partition("@")
    return f"{scheme}://{user}:{quote(password, safe='')}@{host}" if at else url


def _actions(db: str | Path) -> list[str]:
    result = run("audit", "--json", db=db)
    assert result.code == 0, result.stderr
    return [e["action"] for e in reversed(result.json())]


def test_every_subcommand_on_a_url(pg_url):
    listing = run("keys", "list", db=pg_url)
    assert "no changeup-tui keys" in listing.assert_one_line_error(2)  # list never creates the schema
    test = create(pg_url, "Billing", "test")
    live = create(pg_url, "Payments", "live", "--expires", "90d")
    assert test["client_id"].startswith("cu_test_ci_") and test["secret"].startswith("cu_test_sk_")
    assert verify(pg_url, test["client_id"], test["secret"]).code == 0
    assert verify(pg_url, live["client_id"], live["secret"]).code == 0
    wrong = verify(pg_url, test["client_id"], live["secret"])
    assert wrong.code == 1 and "environment mismatch" in wrong.stderr
    keys = list_keys(pg_url)
    assert {k["name"] for k in keys} == {"Billing", "Payments"}
    assert all("secret" not in k for k in keys)
    assert [k["name"] for k in list_keys(pg_url, "--search", "bill")] == ["Billing"]
    assert [k["name"] for k in list_keys(pg_url, "--env", "live")] == ["Payments"]
    # the name is unique per environment, case-insensitively, enforced on the server too
    duplicate = run("keys", "create", "--name", "BILLING", "--env", "test", db=pg_url)
    assert "already exists" in duplicate.assert_one_line_error(2)

    rolled = run("keys", "roll", test["client_id"], "--grace", "1h", "--json", db=pg_url)
    assert rolled.code == 0, rolled.stderr
    new_secret = rolled.json()["secret"]
    assert verify(pg_url, test["client_id"], new_secret).code == 0
    assert verify(pg_url, test["client_id"], test["secret"]).code == 0  # in its grace period
    listed = {k["client_id"]: k for k in list_keys(pg_url)}
    assert [g["hint"] for g in listed[test["client_id"]]["grace_secrets"]] == [
        "cu_test_sk_…" + test["secret"][-4:]
    ]
    shown = run("keys", "show", test["client_id"], "--json", db=pg_url)
    assert shown.code == 0, shown.stderr
    assert test["client_id"] in shown.stdout and "$argon2" not in shown.stdout
    ended = run("keys", "end-grace", test["client_id"], db=pg_url)
    assert ended.code == 0, ended.stderr
    assert verify(pg_url, test["client_id"], test["secret"]).code == 1  # the old one stopped
    assert verify(pg_url, test["client_id"], new_secret).code == 0
    run("keys", "end-grace", test["client_id"], db=pg_url).assert_one_line_error(1)
    renamed = run("keys", "rename", test["client_id"], "--name", "Billing v2", db=pg_url)
    assert renamed.code == 0, renamed.stderr
    assert run("keys", "disable", test["client_id"], db=pg_url).code == 0
    disabled = verify(pg_url, test["client_id"], new_secret)
    assert disabled.code == 1 and "disabled" in disabled.stderr
    assert run("keys", "enable", test["client_id"], db=pg_url).code == 0
    assert run("keys", "revoke", live["client_id"], "--yes", db=pg_url).code == 0
    revoked = verify(pg_url, live["client_id"], live["secret"])
    assert revoked.code == 1 and "revoked" in revoked.stderr
    again = run("keys", "enable", live["client_id"], db=pg_url)
    assert again.code == 1
    assert _actions(pg_url) == [
        "key.created", "key.created", "key.rolled", "key.grace_ended", "key.renamed",
        "key.disabled", "key.enabled", "key.revoked",
    ]
    audit = run("audit", "--client-id", test["client_id"], db=pg_url)
    assert audit.code == 0 and "key.renamed" in audit.stdout
    assert test["secret"] not in audit.stdout and "$argon2" not in audit.stdout


@pytest.mark.parametrize("where", ["user part", "parameter"])
def test_a_password_on_the_command_line_is_refused(pg_url, where):
    password = "hunter2-Zq9"
    url = (
        _with_password(pg_url, password) if where == "user part" else f"{pg_url}&password={password}"
    )
    for argv in (["keys", "list"], []):  # a subcommand, and the TUI's own command line
        result = run(*argv, db=url)
        line = result.assert_one_line_error(2)
        assert "PGPASSWORD" in line and "CHANGEUP_TUI_DB" in line and "pgpass" in line
        assert password not in result.stderr and password not in result.stdout
    copy = run("db", "copy", "--to", url, db=pg_url)
    line = copy.assert_one_line_error(2)
    assert "--to must not carry a password" in line and "PGPASSWORD" in line
    assert password not in copy.stderr and password not in copy.stdout


def test_a_password_from_the_environment_is_used_and_never_printed(pg_url):
    password = "hunter2-Zq9"
    env = cli_env(CHANGEUP_TUI_DB=_with_password(pg_url, password))
    made = run("keys", "create", "--name", "From env", "--env", "test", "--json", env=env)
    assert made.code == 0, made.stderr
    assert [k["name"] for k in list_keys(pg_url)] == ["From env"]
    missing = pg_url.replace("/t_", "/nosuchdb_", 1)
    env = cli_env(CHANGEUP_TUI_DB=_with_password(missing, password))
    result = run("keys", "list", env=env)
    line = result.assert_one_line_error(2)
    assert "no such database" in line and "***" in line and password not in result.stderr


def test_a_server_that_is_not_there_is_one_line_exit_2(tmp_path):
    url = f"postgresql://someone@/changeup?host={tmp_path}"  # no server listens in tmp_path
    for argv in (["keys", "list"], ["keys", "create", "--name", "x", "--env", "test"]):
        result = run(*argv, db=url, timeout=30)
        assert "not answering" in result.assert_one_line_error(2)


def test_bad_urls_are_one_line_exit_2(pg_url):
    for url, words in [
        (f"{pg_url}&bogus=1", "unknown URL parameter"),
        ("postgresql://host:notaport/db", "not a valid database URL"),
        ("postgresql://localhost", "names no database"),
    ]:
        assert words in run("keys", "list", db=url).assert_one_line_error(2)


# -- db copy --------------------------------------------------------------------------------------


def _populate(db: Path) -> dict[str, str]:
    """Keys in every state through the CLI; the secrets that must still verify."""
    secrets: dict[str, str] = {}
    billing = create(db, "Billing", "test")
    secrets[billing["client_id"]] = billing["secret"]
    live = create(db, "Payments", "live", "--expires", "365d")
    secrets[live["client_id"]] = live["secret"]
    rolled = create(db, "Rolled", "test")
    roll = run("keys", "roll", rolled["client_id"], "--grace", "24h", "--json", db=db).json()
    secrets[rolled["client_id"]] = roll["secret"]
    secrets[rolled["client_id"] + " old"] = rolled["secret"]  # still in its grace period
    disabled = create(db, "Disabled", "test")
    assert run("keys", "disable", disabled["client_id"], db=db).code == 0
    revoked = create(db, "Revoked", "test")
    assert run("keys", "revoke", revoked["client_id"], db=db).code == 0
    assert verify(db, billing["client_id"], billing["secret"]).code == 0  # a "last used" time
    return secrets | {"disabled": disabled["client_id"], "revoked": revoked["client_id"]}


def test_db_copy_keeps_everything_and_every_secret_verifies(tmp_path, pg_url):
    source = tmp_path / "changeup.db"
    secrets = _populate(source)
    # a key whose Secret Key the TUI was showing when it hung up: the mark travels too
    Backend("sqlite", source).raw("UPDATE api_keys SET secret_confirmed = 0 WHERE name = 'Payments'")
    before_keys = list_keys(source)
    before_audit = run("audit", "--json", db=source).json()

    result = run("db", "copy", "--to", pg_url, db=source)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("copied 5 keys (6 secrets) and ")

    assert list_keys(pg_url) == before_keys  # Client IDs, names, states, times, hints, last used
    assert {k["name"]: k["secret_confirmed"] for k in before_keys} == {
        "Billing": True, "Payments": False, "Rolled": True, "Disabled": True, "Revoked": True
    }
    payments = next(k["client_id"] for k in before_keys if k["name"] == "Payments")
    shown = run("keys", "show", payments, db=pg_url)
    assert shown.code == 0 and "secret never confirmed" in shown.stdout, shown.stderr
    after_audit = run("audit", "--json", db=pg_url).json()
    assert after_audit[0]["action"] == "db.copied" and str(source) in after_audit[0]["detail"]
    strip = [{k: v for k, v in e.items() if k != "id"} for e in before_audit]
    assert [{k: v for k, v in e.items() if k != "id"} for e in after_audit[1:]] == strip
    for client_id, secret in secrets.items():
        if client_id in ("disabled", "revoked"):
            continue
        result = verify(pg_url, client_id.split()[0], secret)
        assert result.code == 0, (client_id, result.stderr)
    for state in ("disabled", "revoked"):
        row = next(k for k in before_keys if k["client_id"] == secrets[state])
        assert row["status"] == state
    # the server's sequences moved on: a new key after the copy
    newer = create(pg_url, "After the copy", "test")
    assert verify(pg_url, newer["client_id"], newer["secret"]).code == 0
    # a second copy is refused, and changes nothing
    snapshot = (list_keys(pg_url), run("audit", "--json", db=pg_url).json())
    again = run("db", "copy", "--to", pg_url, db=source)
    assert "already holds keys" in again.assert_one_line_error(2)
    assert (list_keys(pg_url), run("audit", "--json", db=pg_url).json()) == snapshot


def test_a_failed_copy_leaves_the_target_as_it_was(tmp_path, pg_url):
    source = tmp_path / "changeup.db"
    _populate(source)

    async def prepare() -> None:  # the schema, then a trigger that refuses every audit insert
        store = PostgresStore(pg_url)
        await store.open()
        await store.close()

    run_sync(prepare())
    target = Backend("postgres", pg_url)
    for sql in REFUSE_AUDIT["postgres"]:
        target.raw(sql)
    result = run("db", "copy", "--to", pg_url, db=source)
    assert "refused" in result.assert_one_line_error(2)
    for table in ("api_keys", "key_secrets", "audit_events", "account", "settings"):
        assert target.raw(f"SELECT count(*) FROM {table}") == [(0,)], table


def test_db_copy_needs_a_source_and_a_url(tmp_path, pg_url):
    missing = run("db", "copy", "--to", pg_url, db=tmp_path / "nothing.db")
    assert "no database" in missing.assert_one_line_error(2)
    source = tmp_path / "changeup.db"
    create(source, "Billing", "test")
    to_file = run("db", "copy", "--to", str(tmp_path / "other.db"), db=source)
    assert "postgresql://" in to_file.assert_one_line_error(2)

