"""The cache's index of accepted digests (a hit's one look-up) against its entries: a digest is
found exactly while its key is cached and its secret is in the state last read; the order of use
is kept by a flag (second chance), so the key used since is never the one pushed out. Pure: the
cache alone, with states built by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from changeup_tui.core.models import (
    ApiKey,
    Environment,
    KeyState,
    KeyStatus,
    SecretState,
    VerifiedKey,
)
from changeup_tui.core.verify_cache import STALE, KeyCache


def _id(letter: str) -> str:
    return "cu_test_ci_" + letter * 24


def _state(client_id: str, secret_ids: tuple[int, ...] = (1,)) -> KeyState:
    key = ApiKey(client_id=client_id, environment=Environment.TEST, name="Billing",
                 created_at=datetime(2026, 1, 1, tzinfo=UTC), created_by="tester", hint="abcd",
                 status=KeyStatus.ACTIVE)
    return KeyState(key, tuple(SecretState(id=i, hint="abcd", expires_at=None) for i in secret_ids))


def _digest(letter: str) -> bytes:
    return letter.encode() * 32


def _fill(cache: KeyCache, *letters: str) -> None:
    for letter in letters:
        cache.accept(_id(letter), _state(_id(letter)), 1, _digest(letter), read_at=1.0)


def test_a_digest_is_found_while_its_key_is_cached() -> None:
    cache = KeyCache(max_keys=2)
    _fill(cache, "A", "B")
    found = cache.find(_digest("A"))
    assert found is not None and found.entry is cache.peek(_id("A")) and found.secret_id == 1
    _fill(cache, "C")  # A, the oldest and unused, goes
    assert cache.peek(_id("A")) is None and cache.find(_digest("A")) is None
    assert cache.find(_digest("B")) is not None and cache.find(_digest("C")) is not None
    cache.drop(_id("B"))
    assert cache.find(_digest("B")) is None
    cache.changed(_id("C"))  # announced by the database
    assert cache.find(_digest("C")) is None and len(cache) == 0


def test_a_key_used_since_is_never_the_one_pushed_out() -> None:
    cache = KeyCache(max_keys=2)
    _fill(cache, "A", "B")
    used = cache.find(_digest("A"))
    assert used is not None
    used.entry.used = True  # what a hit does
    _fill(cache, "C")
    assert cache.peek(_id("B")) is None  # B goes, although A came first
    assert cache.peek(_id("A")) is not None and cache.find(_digest("A")) is not None
    # A, passed over, went to the back of the line with its flag cleared, behind C (the
    # approximation: true LRU would now push out A, used before C came)
    _fill(cache, "D")
    assert cache.peek(_id("C")) is None and cache.peek(_id("A")) is not None
    _fill(cache, "E")  # A not used since it was passed over: now it goes
    assert cache.peek(_id("A")) is None and cache.find(_digest("A")) is None
    assert cache.peek(_id("D")) is not None and cache.peek(_id("E")) is not None


def test_a_secret_gone_from_the_state_read_is_no_longer_found() -> None:
    """A roll's grace ended (the old secret's row is gone): its digest goes with it."""
    cache = KeyCache()
    cache.accept(_id("A"), _state(_id("A"), (1, 2)), 1, _digest("A"), read_at=1.0)
    cache.accept(_id("A"), _state(_id("A"), (1, 2)), 2, _digest("N"), read_at=1.0)
    entry = cache.peek(_id("A"))
    assert entry is not None
    cache.refresh(entry, _state(_id("A"), (2,)), 2.0)
    assert cache.find(_digest("A")) is None
    found = cache.find(_digest("N"))
    assert found is not None and found.secret_id == 2 and list(entry.by_digest) == [_digest("N")]


def test_every_read_resets_the_deadline_and_makes_the_answer_once() -> None:
    cache = KeyCache()
    _fill(cache, "A")
    found = cache.find(_digest("A"))
    assert found is not None and found.ok_until == STALE
    found.ok_until = 1e12  # as a hit sets it
    cache.refresh(found.entry, _state(_id("A")), 2.0)
    assert found.ok_until == STALE  # never later than what the new state says
    ok = found.entry.ok
    assert ok is not None and ok.ok
    assert ok.verified == VerifiedKey(_id("A"), "Billing", Environment.TEST)


def test_the_keys_answered_are_taken_once() -> None:
    cache = KeyCache()
    _fill(cache, "A", "B")
    found = cache.find(_digest("B"))
    assert found is not None
    found.entry.hot = True
    assert cache.take_hot() == [_id("B")]
    assert cache.take_hot() == []
