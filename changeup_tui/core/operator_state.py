"""What one operator chose last (the environment), kept in that operator's own state folder, never
in the shared database: one operator switching to Live does not make every later start, by anyone,
open in Live.

The file is `<user_state_dir("changeup-tui")>/operator.json`, written 0600 in a 0700 folder by
an atomic rename. A missing, unreadable or corrupt file means "nothing remembered": the app starts in
Test. Nothing is read or created at import time."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Environment
from changeup_tui.core.private_folder import mkdir_private

APP_NAME = "changeup-tui"
STATE_FILE = "operator.json"
MAX_STATE_BYTES = 4096
"""A larger file is not ours (or is damaged): ignored, never read whole."""


class OperatorStateError(StoreError):
    """The state folder or file cannot be written. The message says where; the choice still
    applies for this run."""


def default_state_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME)) / STATE_FILE


class OperatorState:
    """The operator's remembered choices. `path` defaults to the user's state folder."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = default_state_path()
        return self._path

    def _read(self) -> dict[str, object]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return {}
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return {}
            raw = os.read(fd, MAX_STATE_BYTES + 1)
        except OSError:
            return {}
        finally:
            os.close(fd)
        if len(raw) > MAX_STATE_BYTES:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def environment(self) -> Environment | None:
        """The environment chosen last, or None when nothing (valid) is remembered."""
        value = self._read().get("environment")
        if not isinstance(value, str):
            return None
        try:
            return Environment(value)
        except ValueError:
            return None

    def set_environment(self, environment: Environment) -> None:
        data = self._read()
        data["environment"] = environment.value
        self._write(data)

    def _write(self, data: dict[str, object]) -> None:
        path = self.path
        folder = path.parent
        temporary = folder / f".{path.name}.{os.getpid()}.tmp"
        try:
            _private_folder(folder)
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, json.dumps(data, sort_keys=True).encode("utf-8") + b"\n")
            finally:
                os.close(fd)
            os.replace(temporary, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            reason = exc.strerror or type(exc).__name__
            raise OperatorStateError(f"cannot save your choices in {folder}: {reason}") from None


def _private_folder(folder: Path) -> None:
    """Create `folder` (and any missing folder above it) 0700, whatever the umask; an existing
    folder of ours loses any permission beyond the owner's."""
    mkdir_private(folder)
    st = folder.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(folder, stat.S_IMODE(st.st_mode) & 0o700)
