"""Shared helpers for the bench scripts: timing, medians, the result line and the exit code.

Every script prints its figures, then one line per budget:

    RESULT  <bench>  <figure>  budget <budget>  ratio <figure/budget>  PASS|OVER

In full mode a script exits 1 when a figure is over its budget; in quick mode (CI, smaller N) it
prints the same verdict but exits 0, because a quick run only proves that the script still works.
Exit code 2 means the script could not run at all."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the installed package first; else the checkout's
    sys.path.append(str(ROOT))

now = time.perf_counter


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="smaller N for CI: prints the verdict but exits 0 when over budget")
    return p


@contextmanager
def workdir(prefix: str):
    """A private temporary folder (the databases hold hashes: keep them 0700)."""
    with tempfile.TemporaryDirectory(prefix=f"changeup-bench-{prefix}-") as name:
        os.chmod(name, 0o700)
        yield Path(name)


@dataclass
class Report:
    bench: str
    quick: bool
    over: list[str] = field(default_factory=list)

    def header(self, text: str) -> None:
        mode = "quick" if self.quick else "full"
        print(f"== {self.bench} ({mode}): {text}", flush=True)

    def line(self, text: str) -> None:
        print(f"   {text}", flush=True)

    def budget(self, figure: str, value: float, budget: float, budget_text: str,
               unit: Callable[[float], str] | None = None) -> bool:
        """Print one RESULT line; value and budget in the same unit (seconds or a ratio)."""
        ratio = value / budget if budget else float("inf")
        ok = value <= budget
        # Three decimals where two would round onto the budget (1.2516x "1.25x OVER").
        digits = 3 if f"{value:.2f}" == f"{budget:.2f}" or f"{ratio:.2f}" == "1.00" else 2
        shown = unit(value) if unit else f"{value:.{digits}f}x"
        print(f"RESULT  {self.bench}  {figure} {shown}  budget {budget_text}  "
              f"ratio {ratio:.{digits}f}  {'PASS' if ok else 'OVER'}", flush=True)
        if not ok:
            self.over.append(figure)
        return ok

    def exit_code(self) -> int:
        if self.over and not self.quick:
            print(f"{self.bench}: over budget: {', '.join(self.over)}", file=sys.stderr)
            return 1
        if self.over:
            print(f"{self.bench}: over budget in quick mode (not a failure): "
                  f"{', '.join(self.over)}", file=sys.stderr)
        return 0


def run_main(main: Callable[[], int]) -> None:
    """Exit with main()'s code; any crash is exit 2 (the script failed to run)."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    except SystemExit:
        raise
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 2
    sys.exit(code)


# -- PostgreSQL ------------------------------------------------------------------------------------

PG_DB_HELP = ("with a postgresql:// URL the bench creates its own databases on that server (the "
              "role needs CREATEDB) and drops them afterwards; never a password on argv "
              "(PGPASSWORD, ~/.pgpass)")


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def shown(target: object) -> str:
    """A path, or a URL without its password."""
    if is_url(target):
        from changeup_tui.core.config import redact_url

        return redact_url(str(target))
    return str(target)


def _admin(url: str, sql: str):
    import asyncio

    import asyncpg

    async def run():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def pg_size(url: str) -> int:
    return _admin(url, "SELECT pg_database_size(current_database())")


@contextmanager
def temp_database(server_url: str, prefix: str):
    """A new database on the server of `server_url`, dropped on the way out: its URL."""
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    if not is_url(server_url):
        raise SystemExit(f"not a postgresql:// URL: {server_url}")
    name = f"changeup_bench_{prefix}_{secrets.token_hex(4)}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tui_available() -> bool:
    """Whether the TUI is importable (the app-level measurements need it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("changeup_tui.tui.app") is not None
    except ImportError:
        return False
