"""The TUI and the command line make themselves non-dumpable for their whole life: RLIMIT_CORE 0
and, on Linux, PR_SET_DUMPABLE 0, set by `changeup_tui.cli.main` before anything else. Checked in
child processes: the flag after `main` ran a subcommand, the flag while the TUI's launcher runs,
and the core limit of the real processes while they run (a `verify` waiting on stdin, the TUI in
a pseudo-terminal)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers.processes import child_env

from .pty_app import PtyApp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from changeup_tui import cli
    from changeup_tui.core.nodump import is_dumpable

    before = is_dumpable()
    seen = {}

    def fake_run_tui(settings):  # stands in for the TUI's lifetime: what holds while it runs
        seen["tui"] = is_dumpable()
        return 0

    if sys.argv[1] == "tui":
        cli._run_tui = fake_run_tui
        code = cli.main(["--db", sys.argv[2]])
    else:
        code = cli.main(["--db", sys.argv[2], "keys", "list"])
    print(json.dumps({"before": before, "after": is_dumpable(), "code": code, **seen,
                      "core": resource.getrlimit(resource.RLIMIT_CORE)}))
    """
)


def run_child(mode: str, db: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(db)], capture_output=True,
                          text=True, env=child_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def core_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return " ".join(line.split()[4:6])
    raise AssertionError("no core limit line")


def test_cli_subcommand_is_non_dumpable(tmp_path):
    db = tmp_path / "data" / "c.db"
    subprocess.run([sys.executable, "-m", "changeup_tui", "--db", str(db), "keys", "create",
                    "--name", "x", "--env", "test"], env=child_env(), check=True,
                   capture_output=True, timeout=60)
    result = run_child("cli", db)
    assert result["before"] is True  # a plain Python process is dumpable: the check can fail
    assert result["after"] is False
    assert result["core"] == [0, 0]
    assert result["code"] == 0


def test_tui_launch_is_non_dumpable(tmp_path):
    result = run_child("tui", tmp_path / "data" / "c.db")
    assert result["before"] is True
    assert result["tui"] is False and result["core"] == [0, 0]


def test_running_verify_has_no_core_limit(tmp_path):
    """The real process, while it waits for the secret on stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "changeup_tui", "--db", str(tmp_path / "c.db"), "verify",
         "--client-id", "cu_test_ci_" + "a" * 24],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while core_limit(proc.pid) != "0 0" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert core_limit(proc.pid) == "0 0"
    finally:
        proc.communicate(b"\n", timeout=30)


def test_running_tui_has_no_core_limit(tmp_path):
    app = PtyApp.module("--db", str(tmp_path / "data" / "c.db"))
    try:
        app.wait_for("Create New API Key")  # the page is up
        assert core_limit(app.child.pid) == "0 0"
    finally:
        code = app.quit()
    assert code == 0
