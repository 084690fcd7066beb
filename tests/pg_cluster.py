"""A real PostgreSQL server for the tests: a throwaway cluster started here, or the server named by
CHANGEUP_TEST_PG_URL.

The throwaway cluster: `initdb` and `pg_ctl` in a temporary folder, listening only on a Unix socket
in that folder (no TCP port), trust authentication on that socket, fsync off (nothing in it
outlives the test run). When the tests run as root it runs as a non-root user (PostgreSQL refuses
root): `postgres` if that user exists, else `nobody`. `stop()` stops it and removes the folder.

Each test gets its own database (`new_database()`), dropped afterwards, so tests never see each
other's keys. With CHANGEUP_TEST_PG_URL the role in that URL needs CREATEDB (and CREATEROLE for
the least-privilege tests)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

URL_ENV_VAR = "CHANGEUP_TEST_PG_URL"
SUPERUSER = "changeup_admin"
T = TypeVar("T")


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        folder = Path(os.path.realpath(initdb)).parent
        if (folder / "pg_ctl").exists():
            return folder
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on a private event loop in another thread: usable from sync
    helpers called inside a running test's event loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def with_database(url: str, dbname: str, user: str | None = None) -> str:
    """`url` pointing at another database (and, when given, as another user)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rpartition("@")[2]
        netloc = f"{quote(user, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + quote(dbname, safe=""), parts.query, ""))


class PgServer:
    """A server the tests may create databases and roles on."""

    def __init__(self, admin_url: str, folder: Path | None = None, run_as: str | None = None,
                 bin_dir: Path | None = None) -> None:
        self.admin_url = admin_url
        self.folder = folder
        self.run_as = run_as
        self.bin_dir = bin_dir

    # -- databases -----------------------------------------------------------------------------

    async def admin(self, sql: str, dbname: str | None = None) -> None:
        import asyncpg

        url = self.admin_url if dbname is None else with_database(self.admin_url, dbname)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def new_database(self) -> str:
        """A new empty database; its URL (as the admin role)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        run_sync(self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        return with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        run_sync(self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        url = self.new_database()
        try:
            yield url
        finally:
            self.drop_database(url)

    # -- the throwaway cluster -----------------------------------------------------------------

    def _cmd(self, *argv: str) -> list[str]:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *command]
        return command

    def pg_ctl(self, action: str, *extra: str) -> None:
        """pg_ctl start/stop/restart on the throwaway cluster (the fault tests stop and start it)."""
        assert self.folder is not None, "not a throwaway cluster"
        subprocess.run(
            self._cmd("pg_ctl", action, "-D", str(self.folder / "data"), "-w", "-t", "60",
                      "-l", str(self.folder / "server.log"), *extra),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder,
        )

    def stop(self) -> None:
        if self.folder is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def _non_root_user() -> str | None:
    if os.getuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


OWNER_FILE = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_clusters(bin_dir: Path) -> None:
    """Stop and remove the clusters of test runs that were killed before their teardown (their
    owner process is gone). Only folders this module made (with an owner.pid) are touched."""
    for owner in glob.glob(f"/tmp/cu-pg-*/{OWNER_FILE}"):
        folder = Path(owner).parent
        with contextlib.suppress(ValueError, OSError):
            if _alive(int(Path(owner).read_text().strip())):
                continue
        data = folder / "data"
        user = folder.stat().st_uid
        stale = PgServer("", folder, pwd.getpwuid(user).pw_name if os.getuid() == 0 and user else None,
                         bin_dir)
        if data.exists():
            stale.stop()
        else:
            shutil.rmtree(folder, ignore_errors=True)


def start_cluster() -> PgServer:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(
            f"PostgreSQL is not installed (no initdb): install it (apt-get install postgresql) "
            f"or set {URL_ENV_VAR}"
        )
    reap_stale_clusters(bin_dir)
    run_as = _non_root_user()
    # Short path: a Unix socket path is limited to about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="cu-pg-", dir="/tmp"))
    (folder / OWNER_FILE).write_text(str(os.getpid()))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PgServer("", folder, run_as, bin_dir)
    try:
        subprocess.run(
            server._cmd("initdb", "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder,
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{folder}' -c port=5432 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        server.pg_ctl("start", "-o", options)
    except BaseException:
        server.stop()
        raise
    server.admin_url = f"postgresql://{SUPERUSER}@/postgres?host={quote(str(folder))}&port=5432"
    return server


def server_from_env() -> PgServer | None:
    url = os.environ.get(URL_ENV_VAR, "").strip()
    return PgServer(url) if url else None
