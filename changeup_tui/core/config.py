"""Where the database lives: --db, else CHANGEUP_TUI_DB, else the platform's user data folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "changeup-tui"
DB_ENV_VAR = "CHANGEUP_TUI_DB"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "changeup.db"


def resolve_db_path(cli_value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if cli_value:
        return Path(cli_value).expanduser()
    if environ.get(DB_ENV_VAR):
        return Path(environ[DB_ENV_VAR]).expanduser()
    return default_db_path()


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path
    clipboard_clear_seconds: int = 0
    """Clear the clipboard this many seconds after copying a secret (0: never)."""
