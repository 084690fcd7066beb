"""The memory of a Verifier: the keys in use (a bounded LRU) and the Client IDs that met too many
wrong secrets lately. In memory only, per process; nothing here is ever written anywhere.

For each cached key it keeps a keyed digest (BLAKE2b under a random key made per process) of each
secret that was accepted, never the secret: a memory dump gives an attacker digests that they can
neither reverse (256-bit secrets) nor compute for a guess (the key never leaves the process)."""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from hashlib import blake2b

import msgspec

from changeup_tui.core.models import ApiKey, KeyState, KeyStatus, Secret, SecretState, VerifyResult

LAST_USED_RESOLUTION = timedelta(minutes=1)
""""Last used" is written at most once a minute per key (the service's own resolution)."""

DEFAULT_MAX_KEYS = 10_000


STALE = float("-inf")
"""The `read_at` of a state that must be read again before the next answer."""


class CachedKey(msgspec.Struct):
    key: ApiKey
    """As last read: status, expiry, name (for the answer)."""
    secrets: dict[int, SecretState]
    """Every secret of the key as last read (id -> its end), so a roll's end of grace applies."""
    by_digest: dict[bytes, Accepted]
    """Keyed digest of a secret accepted -> what a hit with it needs (also in the cache's index
    of every accepted digest)."""
    read_at: float
    """When the state was read (the verifier's monotonic clock, taken before the query)."""
    refusal: str | None = None
    """Why the key's status refuses it (revoked, disabled), as last read."""
    ok: VerifyResult | None = None
    """The answer for an accepted secret, made once per read."""
    use_due: datetime | None = None
    """When a hit should next queue a "last used" write (None: now)."""
    used: bool = False
    """Used since the eviction last passed it (its second chance: see KeyCache)."""
    hot: bool = False
    """Answered since the verifier's last sweep (which reads the keys in use again)."""

    def refresh(self, state: KeyState, read_at: float) -> list[bytes]:
        """The key as read in `state`; gives the digests of the secrets that are gone."""
        key = state.key
        self.key = key
        self.secrets = {s.id: s for s in state.secrets}
        gone = [d for d, a in self.by_digest.items() if a.secret_id not in self.secrets]
        for digest in gone:
            del self.by_digest[digest]
        for accepted in self.by_digest.values():
            accepted.ok_until = STALE
        self.read_at = read_at
        self.refusal = None if key.status is KeyStatus.ACTIVE else key.status.value
        self.ok = VerifyResult.accepted(key)
        if key.last_used_at is not None:
            due = key.last_used_at + LAST_USED_RESOLUTION
            if self.use_due is None or due > self.use_due:
                self.use_due = due
        return gone


class Accepted(msgspec.Struct, eq=False):
    """A secret that verified for a cached key: all that a hit reads, besides its entry."""

    entry: CachedKey
    secret_id: int
    ok_until: float = STALE
    """The clock's time (POSIX seconds) before which a hit with this secret is `ok` with
    nothing to note: the earliest of the key's expiry, the secret's end of grace and the next
    "last used" note. Set by the verifier from the state as read; reset by every read, so it
    is never later than what the state says."""


class KeyCache:
    """Client ID -> CachedKey, least recently used first out beyond `max_keys`; and the digest
    of every accepted pair -> its Accepted, the one look-up of a hit.

    The order of use is kept as a flag on each entry (`used`), not by moving the entry on every
    hit: a hit then touches its Accepted and its entry and nothing else (a server answering
    keys in turn spends less on memory than on the look-ups). Beyond `max_keys`, the entry first
    in line goes if unused since it was last passed, else it goes to the back with its flag
    cleared (the "second chance" approximation of LRU: an entry used since is never the one
    pushed out).

    Changes announced by the database (`changed`, PostgreSQL's LISTEN/NOTIFY) move an epoch. A
    state read that began before a change announced for its key (`epoch()` taken before the
    read, given to `accept` / `refresh`) may hold the state from before that change: it is used
    for the answer it was read for, but stored as stale, so the next request reads it again
    instead of trusting it until `max_staleness`."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 0:
            raise ValueError("max_keys must be 0 or more")
        self.max_keys = max_keys
        self._entries: OrderedDict[str, CachedKey] = OrderedDict()
        self._accepted: dict[bytes, Accepted] = {}
        self.find = self._accepted.get
        """digest -> its Accepted or None (the dictionary's own method: no call of ours). A
        plain dictionary look-up: its timing can only tell an attacker about digests under a
        key they do not have, not about secrets."""
        # Keyed once (per process, never stored or shown); each digest copies the keyed state,
        # which saves hashing the key's block on every request.
        self._keyed = blake2b(key=secrets.token_bytes(32), digest_size=32)
        self._epoch = 0
        self._changed: OrderedDict[str, int] = OrderedDict()
        """Client ID -> the epoch of its last announced change, the oldest first; bounded."""
        self._forgotten = 0
        """The newest epoch pushed out of `_changed`: a read older than it counts as changed."""
        self._max_changed = max(max_keys, 1000)

    def __len__(self) -> int:
        return len(self._entries)

    def digest(self, client_id: str, secret: Secret) -> bytes:
        # The Client ID is in the message too: one digest never stands for another key.
        state = self._keyed.copy()
        state.update(f"{client_id}\0{secret.reveal()}".encode("utf-8", "surrogatepass"))
        return state.digest()

    def digest_bytes(self, client_id: bytes, secret: bytes) -> bytes:
        """`digest` of a pair given as bytes (HTTP header values): the same digest as the text's
        when both are ASCII, as every pair that ever verified is. Any other bytes give a digest
        that no accepted pair has."""
        state = self._keyed.copy()
        state.update(client_id)
        state.update(b"\0")
        state.update(secret)
        return state.digest()

    def peek(self, client_id: str) -> CachedKey | None:
        """The entry, without counting as a use."""
        return self._entries.get(client_id)

    def entries(self) -> Iterable[CachedKey]:
        """Every entry, without counting as a use."""
        return self._entries.values()

    def epoch(self) -> int:
        """Take it before reading a key's state; give it with that state to accept / refresh."""
        return self._epoch

    def changed_since(self, client_id: str, epoch: int) -> bool:
        """Whether a change to `client_id` was announced after `epoch` was taken."""
        return self._changed.get(client_id, 0) > epoch or self._forgotten > epoch

    def _read_at(self, client_id: str, read_at: float, epoch: int | None) -> float:
        if epoch is not None and self.changed_since(client_id, epoch):
            return STALE
        return read_at

    def accept(self, client_id: str, state: KeyState, secret_id: int, digest: bytes,
               read_at: float, epoch: int | None = None) -> CachedKey | None:
        """Remember that `digest`'s secret verified for `secret_id` with the key in `state`
        (read from `read_at`, with the cache at `epoch`); gives the key's entry (None when the
        cache keeps nothing)."""
        if self.max_keys == 0:
            return None
        read_at = self._read_at(client_id, read_at, epoch)
        entry = self._entries.get(client_id)
        if entry is None:
            entry = CachedKey(state.key, {}, {}, read_at)
            self._entries[client_id] = entry
        else:
            entry.used = True
        entry.by_digest[digest] = self._accepted[digest] = Accepted(entry, secret_id)
        self._forget(entry.refresh(state, read_at))
        while len(self._entries) > self.max_keys:
            first, oldest = next(iter(self._entries.items()))
            if oldest is entry:  # just accepted: not the one to go
                self._entries.move_to_end(first)
            elif oldest.used:
                oldest.used = False
                self._entries.move_to_end(first)
            else:
                self.drop(first)
        return entry

    def refresh(self, entry: CachedKey, state: KeyState, read_at: float, epoch: int | None = None) -> None:
        """`entry`'s key as read in `state` (from `read_at`, with the cache at `epoch`)."""
        self._forget(entry.refresh(state, self._read_at(entry.key.client_id, read_at, epoch)))

    def _forget(self, digests: Iterable[bytes]) -> None:
        for digest in digests:
            self._accepted.pop(digest, None)

    def drop(self, client_id: str) -> None:
        entry = self._entries.pop(client_id, None)
        if entry is not None:
            self._forget(entry.by_digest)

    def take_hot(self) -> list[str]:
        """The Client IDs answered since the last call (their flags cleared)."""
        hot = []
        for client_id, entry in self._entries.items():
            if entry.hot:
                entry.hot = False
                hot.append(client_id)
        return hot

    def all_changed(self) -> None:
        """Any key may have changed unheard (the announcements were lost a while): every entry
        is read again at its next request (its accepted digests kept: no argon2 again), and any
        state whose read began before now counts as stale."""
        self._epoch += 1
        self._forgotten = self._epoch
        self._changed.clear()
        for entry in self._entries.values():
            entry.read_at = STALE

    def changed(self, client_id: str) -> None:
        """The database announced a change to `client_id`: drop it, and count as stale any
        state of it whose read began before now."""
        self.drop(client_id)
        self._epoch += 1
        self._changed[client_id] = self._epoch
        self._changed.move_to_end(client_id)
        while len(self._changed) > self._max_changed:
            _, self._forgotten = self._changed.popitem(last=False)


class _Failures(msgspec.Struct):
    times: deque[float] = msgspec.field(default_factory=deque)
    blocked_until: float = 0.0


class Throttle:
    """After `limit` wrong secrets for one Client ID within `window` seconds, that Client ID is
    blocked for `block` seconds (for cache misses only: the verifier still answers a secret it
    already holds, so an attacker who knows a Client ID cannot lock its owner out). Bounded: it
    remembers at most `max_ids` Client IDs, the least recently failed first out."""

    def __init__(self, limit: int = 5, window: float = 60.0, block: float = 60.0,
                 max_ids: int = DEFAULT_MAX_KEYS) -> None:
        self.limit, self.window, self.block, self.max_ids = limit, window, block, max_ids
        self._ids: OrderedDict[str, _Failures] = OrderedDict()

    def blocked(self, client_id: str, now: float) -> bool:
        record = self._ids.get(client_id)
        return record is not None and record.blocked_until > now

    def failed(self, client_id: str, now: float) -> None:
        record = self._ids.pop(client_id, None) or _Failures()
        self._ids[client_id] = record
        while record.times and record.times[0] <= now - self.window:
            record.times.popleft()
        record.times.append(now)
        if len(record.times) >= self.limit:
            record.blocked_until = now + self.block
            record.times.clear()
        while len(self._ids) > self.max_ids:
            self._ids.popitem(last=False)


class _Bucket(msgspec.Struct):
    tokens: float
    at: float


class PeerBudget:
    """Refused cache misses a second for each peer (the address a request came from): a token
    bucket of `rate` a second holding at most `burst`. Each miss takes a token before any
    database or argon2 work and a miss that verifies gives it back, so a peer whose keys are
    good is never held back by it (its misses stay within the pool's own bound), while one
    flooding forged pairs gets `rate` of them checked a second and `busy` for the rest, at the
    cost of little more than their HTTP parsing. Keys in use (answered from memory) never ask.
    Bounded: at most `max_peers` peers are remembered, the least recently seen first out (a peer
    forgotten starts again with a full bucket)."""

    def __init__(self, rate: float, burst: float | None = None, max_peers: int = 10_000) -> None:
        if rate < 0:
            raise ValueError("the peer budget's rate must be 0 (off) or more")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.max_peers = max_peers
        self._peers: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, peer: str, now: float) -> bool:
        """True (and one token spent) when `peer` may have one more miss now."""
        if self.rate == 0:
            return True
        bucket = self._peers.pop(peer, None)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        self._peers[peer] = bucket
        while len(self._peers) > self.max_peers:
            self._peers.popitem(last=False)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def give_back(self, peer: str) -> None:
        """The token of a miss that verified."""
        bucket = self._peers.get(peer)
        if bucket is not None:
            bucket.tokens = min(self.burst, bucket.tokens + 1.0)
