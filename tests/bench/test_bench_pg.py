"""The bench scripts on PostgreSQL (`--db URL`, the test server): seed.py fills a server database
with what it says; filter.py, list_scale.py and verify.py run in quick mode on databases they
create beside it, and drop them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg_cluster import run_sync
from tests.store_backends import Backend

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.slow


def _run(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["TMPDIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )


def test_seed_fills_a_server_database(pg_url, tmp_path):
    done = _run(str(BENCH / "seed.py"), "500", "--quick", "--db", pg_url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    db = Backend("postgres", pg_url)
    assert db.raw("SELECT count(*), count(DISTINCT client_id) FROM api_keys") == [(500, 500)]
    ids = [r[0] for r in db.raw("SELECT client_id FROM api_keys")]
    assert all(re.fullmatch(r"cu_(live|test)_ci_[0-9A-Za-z]{24}", i) for i in ids)
    assert db.raw("SELECT count(DISTINCT phc), min(shared_hash), count(*) FROM key_secrets") == [
        (1, 1, 500)
    ]
    assert db.raw("SELECT count(*) FROM audit_events WHERE action = 'key.created'") == [(500,)]
    assert {r[0] for r in db.raw("SELECT DISTINCT status FROM api_keys")} == {
        "active", "disabled", "revoked"
    }
    # the sequences moved on: the store adds a key after the seeded ones
    assert db.raw("SELECT nextval(pg_get_serial_sequence('api_keys', 'id'))") == [(501,)]


@pytest.mark.parametrize("name", ["filter", "list_scale", "verify"])
def test_bench_script_runs_on_postgres(name, pg_server, tmp_path):
    async def databases() -> set[str]:
        import asyncpg

        conn = await asyncpg.connect(pg_server.admin_url)
        try:
            return {r[0] for r in await conn.fetch("SELECT datname FROM pg_database")}
        finally:
            await conn.close()

    before = run_sync(databases())
    extra = ["--runs", "3"] if name != "list_scale" else ["--runs", "2", "--service-only"]
    done = _run(str(BENCH / f"{name}.py"), "--quick", "--db", pg_server.admin_url, *extra,
                tmp_path=tmp_path)
    assert done.returncode == 0, f"{name}.py failed:\n{done.stdout}\n{done.stderr}"
    assert "PostgreSQL" in done.stdout
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert results and all(line.split()[-1] in {"PASS", "OVER"} for line in results)
    assert run_sync(databases()) == before  # its databases were dropped
