"""Checks on the database's files before SQLite opens them: nothing another user planted, or can
still change, is used.

SQLite trusts the files beside a database: a hot `-journal` is rolled back into the database when
it is opened, a `-wal` is replayed into it. Whoever can write the database's folder can plant them
(and replace every key and the audit trail with their own), and whoever owns the database file can
change it at will. So, before anything is opened:

- every symbolic link on the way to the database (in any folder of the path, and the chain of the
  last one) is owned by this user or root;
- the folder that holds the database is owned by this user or root and not writable by group or
  others (the default folder is created 0700);
- the database and its `-journal`, `-wal` and `-shm` files, where present, are owned by this user,
  and the database is a regular file (not a FIFO, a device or a dangling link).

Each refusal is one line that names the cause and what to do. No other module may skip these
checks: `SQLiteStore` runs them in its file preparation."""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from changeup_tui.core.errors import UnsafeDatabaseLocation

SIDE_FILES = ("-journal", "-wal", "-shm")
MAX_LINKS = 40  # as the kernel's ELOOP limit


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _trusted_owner(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def resolve_checked(path: Path) -> Path:
    """The real location of `path`, resolved component by component as the kernel does, with the
    owner of every symbolic link on the way checked. Missing folders are kept as written (they
    are created later)."""
    absolute = Path(os.path.abspath(path))
    current = Path(absolute.anchor or "/")
    queue: deque[str] = deque(p for p in absolute.parts[1:] if p != ".")
    hops = 0
    while queue:
        part = queue.popleft()
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            current = candidate
            continue
        if not stat.S_ISLNK(st.st_mode):
            current = candidate
            continue
        hops += 1
        if hops > MAX_LINKS:
            raise UnsafeDatabaseLocation(
                f"cannot open {path}: too many symbolic links on the way (a loop?)"
            )
        if not _trusted_owner(st.st_uid):
            raise UnsafeDatabaseLocation(
                f"refusing {path}: it is reached through the symbolic link {candidate}, owned "
                f"by another user ({_owner_name(st.st_uid)}), who can point it anywhere; use the "
                "real path, or a link you own"
            )
        target = os.readlink(candidate)
        if os.path.isabs(target):
            current = Path(Path(target).anchor or "/")
        queue.extendleft(reversed([p for p in Path(target).parts if p not in ("/", ".")]))
    return current


def check_database_location(path: Path) -> Path:
    """Refuse (UnsafeDatabaseLocation) a database location another user controls, or that is not a
    regular file; returns the real path of the database, which SQLite is then given."""
    real = resolve_checked(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnsafeDatabaseLocation(
                f"cannot use {path}: it is a symbolic link to {real}, which does not exist; "
                "fix or remove the link"
            ) from None
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else _kind(st.st_mode)
        raise UnsafeDatabaseLocation(
            f"cannot use {path}: it is {kind}, not a database file; give the path of a file"
        )
    check_folder(real.parent)
    if st is not None and st.st_uid != os.geteuid():
        raise UnsafeDatabaseLocation(
            f"refusing {path}: the database file belongs to another user "
            f"({_owner_name(st.st_uid)}), who can change it at will; use a database your user "
            "owns (copy it, or have its owner run changeup-tui)"
        )
    for suffix in SIDE_FILES:
        side = Path(f"{real}{suffix}")
        try:
            side_st = os.lstat(side)
        except FileNotFoundError:
            continue
        if side_st.st_uid != os.geteuid():
            raise UnsafeDatabaseLocation(
                f"refusing {path}: {side} belongs to another user "
                f"({_owner_name(side_st.st_uid)}); SQLite would read it into the database, so "
                "it may have been planted to replace its contents; nothing was opened: remove it "
                "if you did not make it, and keep the folder private"
            )
    return real


def check_folder(folder: Path) -> None:
    """The folder that holds the database: owned by this user or root, not writable by group or
    others. A folder that does not exist yet is fine (it is created 0700)."""
    try:
        st = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    mode = stat.S_IMODE(st.st_mode)
    if not _trusted_owner(st.st_uid):
        raise UnsafeDatabaseLocation(
            f"refusing the database folder {folder}: it belongs to another user "
            f"({_owner_name(st.st_uid)}), who can replace the files in it; use a folder you own "
            "(the default one, or one made with mkdir -m 700)"
        )
    if mode & 0o022:
        who = "group and others" if mode & 0o022 == 0o022 else (
            "its group" if mode & 0o020 else "other users")
        raise UnsafeDatabaseLocation(
            f"refusing the database folder {folder}: {who} can write it (mode {mode:04o}) and "
            f"could plant files beside the database; run chmod go-w {folder}, or use a private "
            "folder (the default one, or one made with mkdir -m 700)"
        )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
