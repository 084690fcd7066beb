"""Folders only their owner can enter: the database's and the operator state's."""

from __future__ import annotations

import os
from pathlib import Path


def mkdir_private(folder: Path) -> None:
    """Create `folder` and every missing folder above it 0700, whatever the umask (`mkdir -p`
    gives the parents 0777 minus the umask: world-writable with umask 0). Another process may
    create one of them at the same time."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)
