"""argon2id hashing of Secret Keys, with parameters pinned here. Only the PHC string and a
4-character hint are stored.

The parameters are chosen for 256-bit random secrets, not for passwords: t=1, m=16 MiB, p=1.
A password needs a slow hash because people pick guessable ones; a Secret Key holds about 256 bits
from the CSPRNG, so an attacker who stole the hashes would need about 2^255 guesses whatever the
cost of one. What the cost does decide is how many checks a verifying service can afford: with
RFC 9106's t=3, m=64 MiB, p=4 one check took 150-390 ms and 64 MiB on a 2-core machine (6 to 7 a
second for the whole machine); with these it takes about 8-10 ms and 16 MiB on one core (README,
"Performance"). p=1: one check is one thread, so a pool of N threads uses N cores and N x 16 MiB,
no more. Hashes made with other parameters still verify, and are upgraded on their next successful
verification (`needs_rehash`).

The async functions run argon2 in worker threads of their own: the event loop never waits on a
hash. The TUI also lowers those threads' priority (`use_low_priority_threads`), so on a small
machine the interface gets the CPU first while a hash runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from changeup_tui.core.errors import HashingFailed
from changeup_tui.core.models import Secret

if TYPE_CHECKING:
    from argon2 import PasswordHasher

T = TypeVar("T")

TIME_COST = 1
MEMORY_COST_KIB = 16384
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

_hasher: PasswordHasher | None = None


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


async def off_loop(function: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_executor(), function, *args)


async def hash_secret(secret: Secret) -> str:
    return await off_loop(hash_secret_sync, secret)


async def verify(phc: str, secret: Secret) -> bool:
    return await off_loop(verify_sync, phc, secret)
