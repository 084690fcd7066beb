"""argon2id hashing of Secret Keys, with parameters pinned here (RFC 9106's second
recommendation: t=3, m=64 MiB, p=4). Only the PHC string and a 4-character hint are stored.

The async functions run argon2 in worker threads of their own: the event loop never waits on a
hash. The TUI also lowers those threads' priority (`use_low_priority_threads`), so on a small
machine the interface gets the CPU first while a hash runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from changeup_tui.core.errors import HashingFailed
from changeup_tui.core.models import Secret

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TIME_COST = 3
MEMORY_COST_KIB = 65536
PARALLELISM = 4
HASH_LEN = 32
SALT_LEN = 16

_hasher: PasswordHasher | None = None

# The hash of a random string nobody kept, with the pinned parameters. Verifying an unknown
# Client ID's secret against it costs what a real verify costs, so timing does not tell which
# Client IDs exist. A test checks that its parameters are the pinned ones.
DUMMY_PHC = (
    "$argon2id$v=19$m=65536,t=3,p=4$f+dGx429r/8ShgAZR6t7rQ$VATakEd2+gSg00EKhI3/wf5Z+TQo4G3uN+QMA35pdOY"
)


def password_hasher() -> PasswordHasher:
    """The pinned hasher, made (and argon2 imported) on first use: the TUI's first frame has no
    use for it (bench/startup.py)."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher, Type

        _hasher = PasswordHasher(
            time_cost=TIME_COST,
            memory_cost=MEMORY_COST_KIB,
            parallelism=PARALLELISM,
            hash_len=HASH_LEN,
            salt_len=SALT_LEN,
            type=Type.ID,
        )
    return _hasher


def hash_secret_sync(secret: Secret) -> str:
    try:
        return password_hasher().hash(secret.reveal())
    except Exception as exc:
        failure = type(exc).__name__
    # Raised outside the except block: argon2's frames (whose locals hold the plain secret) are
    # not chained to it, so no traceback printer with locals can show them.
    raise HashingFailed(f"could not hash the Secret Key ({failure})")


def verify_sync(phc: str, secret: Secret) -> bool:
    """True on a match, False on a mismatch or an unreadable stored hash; HashingFailed when
    argon2 itself fails (out of memory, say): that is not a wrong secret."""
    from argon2.exceptions import InvalidHashError, VerifyMismatchError

    try:
        return password_hasher().verify(phc, secret.reveal())
    except (VerifyMismatchError, InvalidHashError):
        return False
    except Exception as exc:
        failure = type(exc).__name__
    raise HashingFailed(f"could not verify the Secret Key ({failure})")


def needs_rehash(phc: str) -> bool:
    from argon2.exceptions import InvalidHashError

    try:
        return password_hasher().check_needs_rehash(phc)
    except (InvalidHashError, ValueError):
        return True


HASH_THREAD_NICENESS = 10
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_low_priority = False


def use_low_priority_threads() -> None:
    """Run later hashes at nice +10 (argon2's lane threads inherit it): for an interactive
    program on a small machine, where the interface must get the CPU first. A server that
    verifies keys keeps the default priority. Call before the first hash."""
    global _low_priority
    _low_priority = True


def _lower_priority() -> None:
    if _low_priority:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


def _hash_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="argon2", initializer=_lower_priority
            )
        return _executor


async def _off_loop(function, *args):
    return await asyncio.get_running_loop().run_in_executor(_hash_executor(), function, *args)


async def hash_secret(secret: Secret) -> str:
    return await _off_loop(hash_secret_sync, secret)


async def verify(phc: str, secret: Secret) -> bool:
    return await _off_loop(verify_sync, phc, secret)


async def burn_dummy(secret: Secret) -> None:
    """Spend one verify's time for a key that cannot match."""
    await _off_loop(verify_sync, DUMMY_PHC, secret)
