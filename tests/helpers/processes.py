"""Child processes in tests: their environment (`child_env`) and the real command line run in a
subprocess, as a script or an operator would (`run_cli`, which returns a `Result`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import changeup_tui

PACKAGE_PARENT = str(Path(changeup_tui.__file__).resolve().parent.parent)
"""The folder the package under test is imported from: a child process imports the same one."""

PROG_PREFIX = "changeup-tui: "


def child_env(**extra: str | None) -> dict[str, str]:
    """The environment for a child process in a test: this one's (the test's own HOME and XDG
    folders), without CHANGEUP_TUI_DB, with this package importable whatever the working folder.
    `extra` sets variables, or removes those given as None."""
    env = dict(os.environ)
    env.pop("CHANGEUP_TUI_DB", None)
    env["PYTHONPATH"] = PACKAGE_PARENT
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@dataclass(frozen=True)
class Result:
    """How a command line run ended: its exit code and its output, as bytes (`stdout_bytes`,
    `stderr_bytes`) and as text (`stdout`, `stderr`: UTF-8, undecodable bytes kept as
    surrogates, so hostile output never breaks the test that reads it)."""

    code: int
    stdout_bytes: bytes
    stderr_bytes: bytes

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", errors="surrogateescape")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", errors="surrogateescape")

    def json(self) -> Any:
        return json.loads(self.stdout_bytes)

    def assert_one_line_error(self, code: int = 2) -> str:
        """Assert exit `code`, exactly one line on stderr that starts with the program's name,
        no traceback; return that line."""
        assert self.code == code, (self.code, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith(PROG_PREFIX), self.stderr
        return lines[0]


def run_cli(
    *args: str | Path,
    db: Path | None = None,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] | None = None,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 60,
) -> Result:
    """Run `python -m changeup_tui [--db DB] ARGS...` and wait for it. `stdin` is what it reads
    (nothing: /dev/null); `env` defaults to `child_env()`; `prefix` (say, ['unshare', '--user'])
    goes before the interpreter."""
    argv = [*(prefix or ()), sys.executable, "-m", "changeup_tui"]
    if db is not None:
        argv += ["--db", str(db)]
    argv += [str(a) for a in args]
    proc = subprocess.run(
        argv,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=env if env is not None else child_env(),
        cwd=cwd,
        preexec_fn=preexec_fn,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
