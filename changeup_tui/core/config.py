"""Where the database lives: --db, else CHANGEUP_TUI_DB, else the platform's user data folder.
Either names a path (an SQLite file) or a `postgresql://` URL (a PostgreSQL server, libpq form).
How long a copied Secret Key stays in the clipboard: --clear-clipboard, else
CHANGEUP_TUI_CLEAR_CLIPBOARD, else never cleared (0)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import msgspec

from changeup_tui.core.errors import ChangeupError

APP_NAME = "changeup-tui"
DB_ENV_VAR = "CHANGEUP_TUI_DB"
CLEAR_CLIPBOARD_ENV_VAR = "CHANGEUP_TUI_CLEAR_CLIPBOARD"
MAX_CLEAR_SECONDS = 86_400
URL_SCHEMES = ("postgresql", "postgres")
URL_PARAMETERS = frozenset({
    "host", "port", "dbname", "user", "sslmode", "sslrootcert", "sslcert", "sslkey", "passfile",
    "application_name", "target_session_attrs",
})
"""The libpq parameters a URL may carry (besides a password, which only the environment may)."""


class DatabaseUrlError(ChangeupError):
    """A database URL that cannot be used as given (exit 2). Its message never holds a password."""


class PostgresTarget(msgspec.Struct, frozen=True):
    """A PostgreSQL server and database, as a libpq URL. Its repr and str never show a password:
    `display` is the URL with the password replaced by `***`; only `url` (given to the driver)
    holds it, and only when it came from the environment."""

    url: str

    @property
    def display(self) -> str:
        return redact_url(self.url)

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"PostgresTarget({self.display!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # Rich (Textual's crash report, its logs) prints a Struct from this, not from __repr__.
        return [("url", self.display)]


DbTarget = Path | PostgresTarget


def is_postgres_url(text: str) -> bool:
    return text.strip().lower().startswith(tuple(f"{s}://" for s in URL_SCHEMES))


def url_has_password(url: str) -> bool:
    parts = urlsplit(url)
    try:
        has_password = parts.password is not None
    except ValueError:
        has_password = False
    return has_password or any(k == "password" for k, _ in parse_qsl(parts.query))


def redact_url(url: str) -> str:
    """The URL with any password (in the user part or as a parameter) replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user_info, _, host = netloc.rpartition("@")
        if ":" in user_info:
            user_info = user_info.split(":", 1)[0] + ":***"
        netloc = f"{user_info}@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k == "password" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_postgres_url(text: str, *, source: str) -> PostgresTarget:
    """Check a `postgresql://` URL. `source` says where it came from: an option ("--db",
    "--to": argv, where a password is refused) or the environment variable (a password is
    allowed, never shown)."""
    url = text.strip()
    if url_has_password(url) and source.startswith("--"):
        raise DatabaseUrlError(
            f"{source} must not carry a password (other users see the command line): use "
            f"PGPASSWORD, ~/.pgpass, or put the URL in {DB_ENV_VAR}"
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        raise DatabaseUrlError(f"{source}: not a valid database URL: {redact_url(url)}") from None
    if parts.fragment:
        raise DatabaseUrlError(f"{source}: a database URL has no #fragment: {redact_url(url)}")
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if key not in URL_PARAMETERS and key != "password":
            allowed = ", ".join(sorted(URL_PARAMETERS))
            raise DatabaseUrlError(
                f"{source}: unknown URL parameter {key!r} (one of: {allowed}): {redact_url(url)}"
            )
    if not unquote(parts.path.lstrip("/")) and "dbname" not in dict(parse_qsl(parts.query)):
        raise DatabaseUrlError(
            f"{source}: the URL names no database (postgresql://HOST/DBNAME): {redact_url(url)}"
        )
    return PostgresTarget(url)


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "changeup.db"


def resolve_db(cli_value: str | None, environ: Mapping[str, str] | None = None) -> DbTarget:
    """--db, else CHANGEUP_TUI_DB, else the default file: a Path or a PostgresTarget."""
    environ = os.environ if environ is None else environ
    if cli_value:
        if is_postgres_url(cli_value):
            return parse_postgres_url(cli_value, source="--db")
        return Path(cli_value).expanduser()
    value = environ.get(DB_ENV_VAR, "")
    if value.strip():
        if is_postgres_url(value):
            return parse_postgres_url(value, source=DB_ENV_VAR)
        return Path(value).expanduser()
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


class Settings(msgspec.Struct, frozen=True):
    db_path: DbTarget
    """The database: a Path (SQLite file) or a PostgresTarget (server). The name predates URLs."""
    clipboard_clear_seconds: int = 0
    """Clear the clipboard this many seconds after copying a secret (0: never)."""
