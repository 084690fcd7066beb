"""Running the command line in a subprocess, as a script or an operator would."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from changeup_tui.testing import child_env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def assert_one_line_error(self, code: int) -> str:
        """Exit `code`, exactly one line on stderr, no traceback. Returns that line."""
        assert self.code == code, (self.code, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr, self.stderr
        assert len(self.stderr.splitlines()) == 1, self.stderr
        assert self.stderr.startswith("changeup-tui: "), self.stderr
        return self.stderr.strip()


cli_env = child_env


def run(
    *args: str | Path,
    db: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Result:
    argv = [*(prefix or []), sys.executable, "-m", "changeup_tui"]
    if db is not None:
        argv += ["--db", str(db)]
    argv += [str(a) for a in args]
    proc = subprocess.run(
        argv,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(),
        cwd=cwd,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def create(db: Path, name: str, env: str = "test", *extra: str) -> dict:
    result = run("keys", "create", "--name", name, "--env", env, "--json", *extra, db=db)
    assert result.code == 0, result.stderr
    return result.json()


def verify(db: Path, client_id: str, secret: str, **kwargs) -> Result:
    return run("verify", "--client-id", client_id, db=db, stdin=secret + "\n", **kwargs)


def list_keys(db: Path, *extra: str, **kwargs) -> list[dict]:
    result = run("keys", "list", "--json", *extra, db=db, **kwargs)
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
