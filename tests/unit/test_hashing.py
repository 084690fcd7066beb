"""argon2id with pinned parameters; only the PHC string and a hint are stored, never the secret."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import threading
import traceback
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import HashingError, VerificationError

from changeup_tui.core import hashing
from changeup_tui.core.errors import HashingFailed
from changeup_tui.core.models import Environment, Secret
from changeup_tui.testing import SeededKeyGenerator

PINNED = dict(time_cost=1, memory_cost=16384, parallelism=1, hash_len=32, salt_len=16)
OLD = dict(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16)
"""The parameters before issue 10 (RFC 9106's second recommendation, for passwords)."""


def _assert_pinned(phc: str) -> None:
    params = extract_parameters(phc)
    assert phc.startswith("$argon2id$v=19$m=16384,t=1,p=1$")
    assert params.type is Type.ID
    assert params.version == 19
    for name, value in PINNED.items():
        assert getattr(params, name) == value, name


def test_module_constants_are_the_pinned_ones():
    assert (hashing.TIME_COST, hashing.MEMORY_COST_KIB, hashing.PARALLELISM) == (1, 16384, 1)
    assert (hashing.HASH_LEN, hashing.SALT_LEN) == (32, 16)


def test_produced_phc_has_the_pinned_parameters():
    secret = SeededKeyGenerator(1).secret(Environment.TEST)
    phc = hashing.hash_secret_sync(secret)
    _assert_pinned(phc)
    assert secret.reveal() not in phc
    assert hashing.verify_sync(phc, secret) is True
    assert hashing.verify_sync(phc, SeededKeyGenerator(2).secret(Environment.TEST)) is False
    assert hashing.needs_rehash(phc) is False
    # salted: the same secret hashes differently each time
    assert hashing.hash_secret_sync(secret) != phc


def test_no_dummy_hash_is_left():
    """Unknown Client IDs cost no argon2 any more (issue 10): nothing burns a dummy verify."""
    assert not hasattr(hashing, "DUMMY_PHC") and not hasattr(hashing, "burn_dummy")


def test_needs_rehash_for_other_parameters():
    secret = SeededKeyGenerator(4).secret(Environment.TEST)
    for params in (OLD, dict(PINNED, memory_cost=8192), dict(PINNED, time_cost=2)):
        old = PasswordHasher(**params).hash(secret.reveal())
        assert hashing.needs_rehash(old) is True, params
        assert hashing.verify_sync(old, secret) is True  # an old hash still verifies
    argon2i = PasswordHasher(**PINNED, type=Type.I).hash(secret.reveal())
    assert hashing.needs_rehash(argon2i) is True
    assert hashing.needs_rehash("not a phc string") is True
    assert hashing.verify_sync("not a phc string", secret) is False


async def test_hashing_runs_off_the_event_loop(monkeypatch):
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real_hash, real_verify = hashing.hash_secret_sync, hashing.verify_sync

    def spy_hash(secret):
        seen.append(threading.get_ident())
        return real_hash(secret)

    def spy_verify(phc, secret):
        seen.append(threading.get_ident())
        return real_verify(phc, secret)

    monkeypatch.setattr(hashing, "hash_secret_sync", spy_hash)
    monkeypatch.setattr(hashing, "verify_sync", spy_verify)
    secret = SeededKeyGenerator(5).secret(Environment.TEST)
    phc = await hashing.hash_secret(secret)
    assert await hashing.verify(phc, secret) is True
    assert len(seen) == 2
    assert loop_thread not in seen


# -- nothing secret at rest -----------------------------------------------------------------------


def _forms(secret: Secret) -> list[bytes]:
    """The secret and the encodings a careless store might use."""
    raw = secret.reveal()
    data = raw.encode()
    forms = [
        data,
        raw.encode("utf-16-le"),
        raw.encode("utf-16-be"),
        data.hex().encode(),
        data.hex().upper().encode(),
        base64.b64encode(data),
        base64.b64encode(data).rstrip(b"="),
        base64.urlsafe_b64encode(data).rstrip(b"="),
        raw[::-1].encode(),
    ]
    # any run of 12 characters of the random part (the hint is only the last 4)
    body = raw[11:]
    forms += [body[i : i + 12].encode() for i in range(0, len(body) - 12 + 1)]
    return forms


def _files(db: Path) -> dict[str, bytes]:
    out = {}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            out[suffix or "db"] = path.read_bytes()
    return out


async def test_no_secret_in_database_or_wal_bytes(service, store, db_path):
    created = [
        await service.create("Billing", Environment.TEST),
        await service.create("Payouts", Environment.LIVE),
    ]
    rolled = await service.roll(created[0].key.client_id)
    assert (await service.verify(rolled.key.client_id, rolled.secret)).ok
    secrets = [c.secret for c in created] + [rolled.secret]

    # While the store is open the writes are in the -wal file: it must exist and hold data.
    files = _files(db_path)
    assert "-wal" in files and len(files["-wal"]) > 0, files.keys()
    # the key rows really are in these bytes (the scan looks at the right place)
    assert any(created[0].key.client_id.encode() in blob for blob in files.values())
    assert any(b"$argon2id$" in blob for blob in files.values())
    for secret in secrets:
        for form in _forms(secret):
            for name, blob in files.items():
                assert form not in blob, f"secret material found in {name}"

    # and after close (checkpointed into the main file)
    await store.close()
    files = _files(db_path)
    for secret in secrets:
        for form in _forms(secret):
            for name, blob in files.items():
                assert form not in blob, f"secret material found in {name} after close"


async def test_audit_rows_hold_no_secret_and_no_hash(service, db_path):
    made = await service.create("Billing", Environment.TEST)
    rolled = await service.roll(made.key.client_id)
    await service.rename(made.key.client_id, "Billing 2")
    await service.disable(made.key.client_id)
    await service.enable(made.key.client_id)
    await service.revoke(made.key.client_id)

    with contextlib.closing(sqlite3.connect(db_path)) as raw:
        rows = raw.execute("SELECT * FROM audit_events").fetchall()
        phcs = [r[0] for r in raw.execute("SELECT phc FROM key_secrets")]
    assert len(rows) == 6
    assert phcs and all(p.startswith("$argon2id$") for p in phcs)
    text = "\n".join("|".join(str(c) for c in row) for row in rows)
    assert "$argon2" not in text
    for phc in phcs:
        assert phc.split("$")[-1] not in text
    for secret in (made.secret, rolled.secret):
        raw_secret = secret.reveal()
        assert raw_secret not in text
        assert raw_secret[11:30] not in text


_A_HASH = PasswordHasher(**PINNED).hash("a secret nobody kept")


def test_an_argon2_failure_is_typed_and_carries_no_secret(monkeypatch):
    """argon2 failing for its own reasons (out of memory, say) is HashingFailed, not a wrong
    secret, and nothing chained to it holds the plain secret (Textual's crash report prints the
    locals of every frame of the chain)."""
    secret = SeededKeyGenerator(5).secret(Environment.TEST)

    class Broken:
        def hash(self, password):
            raise HashingError("Memory allocation error")

        def verify(self, phc, password):
            raise VerificationError("Memory allocation error")

    monkeypatch.setattr(hashing, "_hasher", Broken())
    for call in (lambda: hashing.hash_secret_sync(secret),
                 lambda: hashing.verify_sync(_A_HASH, secret)):
        with pytest.raises(HashingFailed) as caught:
            call()
        assert caught.value.__context__ is None and caught.value.__cause__ is None
        text = "".join(traceback.TracebackException.from_exception(
            caught.value, capture_locals=True).format())
        assert secret.reveal() not in text
