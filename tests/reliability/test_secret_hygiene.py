"""Secret hygiene: a Secret Key is never in the database file or its -wal (byte scan, after a
create and after a roll), never in an audit row, never in a log record (every logger at DEBUG,
aiosqlite's included), never in an exception's message, repr or traceback, and never in the
local variables a traceback prints (Python's capture_locals and Rich's show_locals, which
Textual's crash report uses)."""

from __future__ import annotations

import io
import logging
import sqlite3
import traceback
from datetime import timedelta

import pytest
from rich.console import Console
from rich.traceback import Traceback

from changeup_tui.core.errors import DatabaseLocked, DuplicateName, StoreError
from changeup_tui.core.models import Actor, CreatedKey, Environment, Secret
from changeup_tui.core.service import KeyService
from changeup_tui.core.store import sqlite as sqlite_store
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FixedClock, SeededKeyGenerator
from tests.helpers.processes import run_cli

from .support import raw_db


def fragments(secret: Secret | str) -> list[bytes]:
    """The secret, and pieces of it long enough that finding one means the secret leaked (the
    last four characters are the hint, stored on purpose, so nothing that short is checked)."""
    text = secret.reveal() if isinstance(secret, Secret) else secret
    body = text[len("cu_test_sk_"):]
    pieces = [text, body, body[:20], body[20:40], body[-24:-4]]
    return [p.encode() for p in pieces]


def leaks(data: bytes | str, secrets: list[Secret]) -> list[str]:
    blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    found = []
    for secret in secrets:
        for piece in fragments(secret):
            if piece in blob:
                found.append(f"{len(piece)} characters of a secret ending …{secret.hint}")
    return found


def file_bytes(db_path) -> dict[str, bytes]:
    out = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = db_path.parent / (db_path.name + suffix)
        if path.exists():
            out[suffix or "db"] = path.read_bytes()
    return out


@pytest.fixture
async def svc(db_path):
    store = SQLiteStore(db_path)
    await store.open()
    service = KeyService(store, clock=FixedClock(), keygen=SeededKeyGenerator(11, valid_checksum=True),
                         actor=Actor("tester", "local"))
    yield service
    await store.close()


async def test_secret_not_in_database_or_wal_after_create_and_roll(svc, db_path):
    secrets: list[Secret] = []
    created = [await svc.create(f"scan {i}", Environment.TEST if i % 2 else Environment.LIVE)
               for i in range(3)]
    secrets += [c.secret for c in created]
    files = file_bytes(db_path)
    assert files.get("-wal"), "the writes should still be in the -wal while the store is open"
    for name, data in files.items():
        assert not leaks(data, secrets), name

    rolled = await svc.roll(created[0].key.client_id, timedelta(hours=1))
    secrets.append(rolled.secret)
    for name, data in file_bytes(db_path).items():
        assert not leaks(data, secrets), name
    assert (await svc.verify(rolled.key.client_id, rolled.secret)).ok
    assert (await svc.verify(created[0].key.client_id, created[0].secret)).ok  # grace period

    await svc.store.close()  # the last connection checkpoints the -wal into the file
    for name, data in file_bytes(db_path).items():
        assert not leaks(data, secrets), name
    # The test can find what it looks for: the scan is not blind.
    assert created[0].key.client_id.encode() in db_path.read_bytes()


async def test_audit_rows_hold_no_secret_and_no_hash(svc, db_path):
    created = await svc.create("audit me", Environment.LIVE)
    rolled = await svc.roll(created.key.client_id)
    await svc.verify(created.key.client_id, rolled.secret)
    await svc.disable(created.key.client_id)
    with raw_db(db_path) as db:
        rows = db.execute("SELECT * FROM audit_events").fetchall()
        hashes = [r[0] for r in db.execute("SELECT phc FROM key_secrets")]
    assert len(rows) >= 3
    dump = repr(rows)
    assert not leaks(dump, [created.secret, rolled.secret])
    for phc in hashes:
        assert phc not in dump
        assert phc.rsplit("$", 1)[1] not in dump  # not even the digest part


@pytest.fixture
def all_logs():
    """Every log record of every logger, at DEBUG."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    saved = {name: lg.level for name, lg in logging.root.manager.loggerDict.items()
             if isinstance(lg, logging.Logger)}
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in [*saved, "aiosqlite", "asyncio", "argon2", "changeup_tui"]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def rendered(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for record in records:
        parts.append(formatter.format(record))
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


async def test_secret_never_logged_at_debug(svc, all_logs):
    created = await svc.create("logged?", Environment.TEST)
    assert (await svc.verify(created.key.client_id, created.secret)).ok
    assert not (await svc.verify(created.key.client_id, created.secret.reveal()[:-1] + "x")).ok
    rolled = await svc.roll(created.key.client_id)
    assert (await svc.verify(created.key.client_id, rolled.secret.reveal())).ok
    with pytest.raises(DuplicateName):
        await svc.create("logged?", Environment.TEST)
    text = rendered(all_logs)
    # The capture works: aiosqlite really logged its statements at DEBUG.
    assert any(r.name == "aiosqlite" for r in all_logs), {r.name for r in all_logs}
    assert "INSERT INTO api_keys" in text
    assert not leaks(text, [created.secret, rolled.secret])


def assert_clean_exception(exc: BaseException, secrets: list[Secret]) -> None:
    """No secret in the message, the repr, the formatted traceback, the locals of every frame
    (Python's capture_locals), nor Rich's show_locals rendering (Textual's crash report)."""
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    python_text = "".join(te.format())
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True,
                                           locals_max_length=50, locals_max_string=200))
    rich_text = console.file.getvalue()
    for label, text in (("str", str(exc)), ("repr", repr(exc)), ("traceback", python_text),
                        ("rich traceback", rich_text)):
        assert not leaks(text, secrets), label
    assert "locals" in rich_text.lower() or "─" in rich_text


async def test_duplicate_name_error_carries_no_secret(db_path):
    store = SQLiteStore(db_path)
    await store.open()
    keygen = SeededKeyGenerator(99, valid_checksum=True)
    preview = SeededKeyGenerator(99, valid_checksum=True)  # the same seed: the secrets the service will make
    try:
        service = KeyService(store, keygen=keygen, actor=Actor("tester", "local"))
        await service.create("twice", Environment.TEST)
        preview.secret(Environment.TEST), preview.client_id(Environment.TEST)
        doomed = preview.secret(Environment.TEST)  # generated, then refused
        # Past the early name check: the duplicate is caught by the unique index, in the insert,
        # after the secret exists in create()'s frame.
        async def no_check(*args, **kwargs):
            return None
        service.check_name = no_check  # type: ignore[method-assign]
        with pytest.raises(DuplicateName) as info:
            await service.create("TWICE", Environment.TEST)
        assert_clean_exception(info.value, [doomed])
        # The frames really held the secret object (so the redaction is what kept it out).
        frames = [f for f, _ in traceback.walk_tb(info.value.__traceback__)]
        assert any(isinstance(v, Secret) for f in frames for v in f.f_locals.values())
    finally:
        await store.close()


async def test_locked_database_during_create_carries_no_secret(db_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    store = SQLiteStore(db_path)
    await store.open()
    preview = SeededKeyGenerator(5, valid_checksum=True)
    try:
        service = KeyService(store, keygen=SeededKeyGenerator(5, valid_checksum=True),
                             actor=Actor("tester", "local"))
        doomed = preview.secret(Environment.LIVE)
        blocker = sqlite3.connect(db_path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseLocked) as info:
                await service.create("locked out", Environment.LIVE)
        finally:
            blocker.rollback()
            blocker.close()
        assert "locked" in str(info.value)
        assert_clean_exception(info.value, [doomed])
        # Retrying after the lock is gone works.
        await service.create("locked out", Environment.LIVE)
    finally:
        await store.close()


async def test_store_failure_during_verify_carries_no_secret(svc, monkeypatch):
    """A store error in the middle of verify (say, the file went away): the traceback's locals
    show no secret, even though verify had to look at the text."""
    created = await svc.create("verify me", Environment.TEST)

    async def broken(client_id):
        raise StoreError("the database went away")

    monkeypatch.setattr(svc.store, "get_key", broken)
    for presented in (created.secret, created.secret.reveal()):
        with pytest.raises(StoreError) as info:
            await svc.verify(created.key.client_id, presented)
        if isinstance(presented, Secret):
            assert_clean_exception(info.value, [created.secret])
        else:
            # The caller passed plain text: its own frame holds it; the service's frames must
            # not add copies beyond the argument it was given.
            frames = [f for f, _ in traceback.walk_tb(info.value.__traceback__)]
            verify_frame = next(f for f in frames if f.f_code.co_name == "verify")
            copies = [k for k, v in verify_frame.f_locals.items()
                      if isinstance(v, str) and v == created.secret.reveal() and k != "secret"]
            assert not copies, copies


def test_secret_repr_in_a_frame_is_redacted():
    secret = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.LIVE)

    def holds_a_secret(s: Secret):
        also = CreatedKey(key=None, secret=s, secret_id=1)  # type: ignore[arg-type]
        shown = f"{s} {s!r} {also!r}"
        raise RuntimeError(f"failed with {shown}")

    with pytest.raises(RuntimeError) as info:
        holds_a_secret(secret)
    assert_clean_exception(info.value, [secret])
    te = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    assert "Secret('********')" in "".join(te.format())
    assert str(secret) == "********" and format(secret, ">70") == "********"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


@pytest.mark.slow
def test_cli_never_echoes_a_secret_given_in_argv(db_path):
    secret = SeededKeyGenerator(8, valid_checksum=True).secret(Environment.TEST).reveal()
    for args in (("keys", "create", "--name", secret, "--env", "test"),
                 ("keys", "rename", "cu_test_ci_xxxxxxxxxxxxxxxxxxxxxxxx", "--name", secret),
                 ("verify", "--client-id", secret)):
        result = run_cli(*args, db=db_path)
        line = result.assert_one_line_error(2)
        assert not leaks(result.stdout_bytes + result.stderr_bytes, [Secret(secret)]), line
        assert "command line" in line
    assert not db_path.exists()  # refused before any database was opened
