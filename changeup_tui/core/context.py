"""Who is acting, from where, and when: the facts the audit table records."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from changeup_tui.core.models import Actor

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def in_ssh_session(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY") or environ.get("SSH_CLIENT"))


def current_actor(environ: Mapping[str, str] | None = None, *, interface: str = "") -> Actor:
    """The OS user, and the SSH client's address or "local", followed by the `interface` that
    acts ("TUI", "CLI") when given: "203.0.113.7 (TUI)", "local (CLI)".

    What the client claims: on SQLite it is recorded as is. On PostgreSQL the server records the
    role it authenticated as the actor, and this OS user before the origin ("root@203.0.113.7
    (TUI)") unless it is the role's name (pg_migrations step 4)."""
    environ = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except Exception:
        user = f"uid:{os.getuid()}"
    origin = "local"
    for variable in ("SSH_CONNECTION", "SSH_CLIENT"):
        value = environ.get(variable, "").split()
        if value:
            origin = value[0]
            break
    return Actor(user=user, origin=f"{origin} ({interface})" if interface else origin)
