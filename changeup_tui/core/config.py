"""Where the database lives: --db, else CHANGEUP_TUI_DB, else the platform's user data folder.
How long a copied Secret Key stays in the clipboard: --clear-clipboard, else
CHANGEUP_TUI_CLEAR_CLIPBOARD, else never cleared (0)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "changeup-tui"
DB_ENV_VAR = "CHANGEUP_TUI_DB"
CLEAR_CLIPBOARD_ENV_VAR = "CHANGEUP_TUI_CLEAR_CLIPBOARD"
MAX_CLEAR_SECONDS = 86_400


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


def parse_clear_seconds(text: str, source: str = "--clear-clipboard") -> int:
    """A whole number of seconds, 0 (never) to a day. ValueError with a one-line reason."""
    try:
        seconds = int(text.strip())
    except ValueError:
        raise ValueError(f"{source} takes a whole number of seconds (0: never), not {text!r}") from None
    if not 0 <= seconds <= MAX_CLEAR_SECONDS:
        raise ValueError(f"{source} takes 0 (never) to {MAX_CLEAR_SECONDS} seconds, not {seconds}")
    return seconds


def resolve_clear_seconds(cli_value: str | None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    if cli_value is not None:
        return parse_clear_seconds(cli_value)
    if environ.get(CLEAR_CLIPBOARD_ENV_VAR, "").strip():
        return parse_clear_seconds(environ[CLEAR_CLIPBOARD_ENV_VAR], CLEAR_CLIPBOARD_ENV_VAR)
    return 0


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path
    clipboard_clear_seconds: int = 0
    """Clear the clipboard this many seconds after copying a secret (0: never)."""
