"""The command line's own walks for its subprocess tests: create, verify and list keys, a folder's
bytes, running without root's permission override. Running it at all is `run_cli`
(tests/helpers/processes.py)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import Result, run_cli


def create(db: Path, name: str, env: str = "test", *extra: str) -> dict:
    result = run_cli("keys", "create", "--name", name, "--env", env, "--json", *extra, db=db)
    assert result.code == 0, result.stderr
    return result.json()


def verify(db: Path, client_id: str, secret: str, **kwargs) -> Result:
    return run_cli("verify", "--client-id", client_id, db=db, stdin=secret + "\n", **kwargs)


def list_keys(db: Path, *extra: str, **kwargs) -> list[dict]:
    result = run_cli("keys", "list", "--json", *extra, db=db, **kwargs)
    assert result.code == 0, result.stderr
    return result.json()


def snapshot_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes: to prove that nothing was touched."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@functools.cache
def unprivileged_prefix() -> list[str] | None:
    """How to run a command without root's permission override: nothing when not root;
    `unshare --user` when root and it works here; None when neither is possible."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(
        ["unshare", "--user", sys.executable, "-c", "import os; print(os.geteuid())"],
        capture_output=True, text=True,
    )
    if probe.returncode != 0 or probe.stdout.strip() == "0":
        return None
    return ["unshare", "--user"]


def set_immutable(path: Path, on: bool) -> bool:
    """`chattr +i` / `-i` (root only). False when it is not possible here."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return False
    flag = "+i" if on else "-i"
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0
