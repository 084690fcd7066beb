"""The type checker and the import contracts, run as the README's test command runs everything
(and .ci/run runs them again on their own): mypy, strict on changeup_tui/core, normal on the rest;
import-linter's contracts from pyproject.toml (the core imports neither Textual, the TUI nor the
CLI; only changeup_tui.core.store imports a database driver)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(package_parent: Path) -> dict[str, str]:
    """Analyse the package under `package_parent` (the checkout), not an installed copy."""
    return {**os.environ, "PYTHONPATH": str(package_parent)}


def _lint_imports(package_parent: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--config", str(config), "--no-cache"],
        cwd=package_parent, env=_env(package_parent), capture_output=True, text=True, timeout=300,
    )


def test_mypy_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],  # files and strictness from pyproject.toml
        cwd=ROOT, env=_env(ROOT), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_import_contracts_catch_a_violation(tmp_path):
    """The contracts can fail: a copy of the package where the core imports Textual and the CLI
    imports sqlite3 breaks both."""
    shutil.copytree(ROOT / "changeup_tui", tmp_path / "changeup_tui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "changeup_tui" / "core" / "models.py", "a") as handle:
        handle.write("\nimport textual  # noqa\n")
    with open(tmp_path / "changeup_tui" / "cli.py", "a") as handle:
        handle.write("\nimport sqlite3  # noqa\n")
    result = _lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 2 broken" in result.stdout
    assert "changeup_tui.core.models -> textual" in result.stdout
    assert "changeup_tui.cli -> sqlite3" in result.stdout


def test_the_app_module_stays_thin():
    """Issue 14: the App holds the environment, the service, bindings and palette commands;
    screens and navigation do the rest. It grew past its bound once unnoticed (209 lines)."""
    lines = (ROOT / "changeup_tui" / "tui" / "app.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"changeup_tui/tui/app.py has {len(lines)} lines"
