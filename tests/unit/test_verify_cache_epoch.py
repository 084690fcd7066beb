"""The cache against a change announced while a key's state was being read (PostgreSQL's
LISTEN/NOTIFY): a state whose read began before the announcement is stored as stale, so the next
request reads the key again, instead of trusting the old state until max_staleness. Pure: the
cache alone, with states built by hand (test_pg_changes.py has the same race on a real server)."""

from __future__ import annotations

from datetime import UTC, datetime

from changeup_tui.core.models import ApiKey, Environment, KeyState, KeyStatus, SecretState
from changeup_tui.core.verify_cache import STALE, KeyCache

CLIENT_ID = "cu_test_ci_" + "A" * 24
OTHER_ID = "cu_test_ci_" + "B" * 24


def _state(client_id: str = CLIENT_ID, status: KeyStatus = KeyStatus.ACTIVE) -> KeyState:
    key = ApiKey(client_id=client_id, environment=Environment.TEST, name="Billing",
                 created_at=datetime(2026, 1, 1, tzinfo=UTC), created_by="tester", hint="abcd",
                 status=status)
    return KeyState(key, (SecretState(id=1, hint="abcd", expires_at=None),))


def test_a_fill_read_before_a_change_is_stored_stale() -> None:
    cache = KeyCache()
    epoch = cache.epoch()  # the read begins
    cache.changed(CLIENT_ID)  # the announcement arrives while it is in flight
    cache.accept(CLIENT_ID, _state(), 1, b"d" * 32, read_at=100.0, epoch=epoch)
    entry = cache.peek(CLIENT_ID)
    assert entry is not None and entry.read_at == STALE


def test_a_fill_read_after_the_change_or_for_another_key_stays_fresh() -> None:
    cache = KeyCache()
    cache.changed(CLIENT_ID)
    epoch = cache.epoch()  # this read began after the announcement
    cache.accept(CLIENT_ID, _state(), 1, b"d" * 32, read_at=100.0, epoch=epoch)
    assert cache.peek(CLIENT_ID).read_at == 100.0  # type: ignore[union-attr]

    epoch = cache.epoch()
    cache.changed(OTHER_ID)  # another key's change says nothing about this one
    cache.accept(CLIENT_ID, _state(), 1, b"d" * 32, read_at=200.0, epoch=epoch)
    assert cache.peek(CLIENT_ID).read_at == 200.0  # type: ignore[union-attr]


def test_a_refresh_read_before_a_change_is_stale_but_applied() -> None:
    """The state read is still the newest known (the answer it was read for uses it), but the
    next request reads again."""
    cache = KeyCache()
    cache.accept(CLIENT_ID, _state(), 1, b"d" * 32, read_at=100.0, epoch=cache.epoch())
    entry = cache.peek(CLIENT_ID)
    assert entry is not None
    epoch = cache.epoch()
    cache.changed(CLIENT_ID)
    assert cache.peek(CLIENT_ID) is None  # dropped at once
    cache.refresh(entry, _state(status=KeyStatus.DISABLED), 150.0, epoch)
    assert entry.read_at == STALE and entry.refusal == "disabled"


def test_the_change_record_is_bounded_and_errs_on_the_side_of_stale() -> None:
    cache = KeyCache(max_keys=0)
    epoch = cache.epoch()
    for i in range(1500):  # more than it remembers (1000 at least)
        cache.changed(f"cu_test_ci_{i:024d}")
    assert len(cache._changed) == 1000
    # CLIENT_ID never changed, but a change older than the record can no longer be ruled out
    assert cache.changed_since(CLIENT_ID, epoch)
    assert not cache.changed_since(CLIENT_ID, cache.epoch())


def test_all_changed_makes_every_entry_and_every_read_in_flight_stale() -> None:
    """The announcements were lost a while (the listening connection dropped): on listening
    again, nothing read before counts as fresh; the accepted digests stay (no argon2 again)."""
    cache = KeyCache()
    cache.accept(CLIENT_ID, _state(), 1, b"d" * 32, read_at=100.0, epoch=cache.epoch())
    in_flight = cache.epoch()
    cache.all_changed()
    entry = cache.peek(CLIENT_ID)
    assert entry is not None and entry.read_at == STALE
    assert {d: a.secret_id for d, a in entry.by_digest.items()} == {b"d" * 32: 1}
    cache.accept(OTHER_ID, _state(OTHER_ID), 1, b"e" * 32, read_at=150.0, epoch=in_flight)
    assert cache.peek(OTHER_ID).read_at == STALE  # type: ignore[union-attr]
    cache.accept(OTHER_ID, _state(OTHER_ID), 1, b"e" * 32, read_at=160.0, epoch=cache.epoch())
    assert cache.peek(OTHER_ID).read_at == 160.0  # type: ignore[union-attr]
