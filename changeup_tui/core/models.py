"""Plain data that crosses layers: no I/O, no Textual."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, NoReturn

import msgspec


class Environment(enum.StrEnum):
    LIVE = "live"
    TEST = "test"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, value: str) -> Environment:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(f"environment must be 'live' or 'test', not {value!r}") from None


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    REVOKED = "revoked"


class Secret:
    """A Secret Key held in memory. Its repr and str are redacted so that a log line, an
    exception message or Textual's crash report (which prints local variables) never shows it.
    Call `reveal()` where the real text is needed, and nowhere else."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def hint(self) -> str:
        return self._value[-4:]

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __format__(self, spec: str) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:  # never pickled into a cache or a crash dump
        raise TypeError("a Secret cannot be pickled")


NEVER_CONFIRMED = "secret never confirmed"
"""How the list, a key's details and `keys show` mark a key whose secret nobody may hold."""


class ApiKey(msgspec.Struct, frozen=True):
    """A key as every layer shows it: its Client ID, environment, name, status and times, and
    the hint of its newest secret. Never a secret or a hash."""

    client_id: str
    environment: Environment
    name: str
    created_at: datetime
    created_by: str
    status: KeyStatus = KeyStatus.ACTIVE
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    status_changed_at: datetime | None = None
    hint: str = ""
    """The last four characters of the newest secret, shown as `cu_test_sk_…abcd`."""
    secrets_count: int = 1
    """How many secrets verify now (two during a roll's grace period)."""
    damaged: str = ""
    """Why the stored row could not be read whole ('' when it could): say "name is not UTF-8
    text; created_at is not a time". A damaged key is shown as such and never verifies."""
    unreadable: frozenset[str] = frozenset()
    """The columns that could not be read; the key holds a stand-in for each (see `damaged`)."""
    secret_confirmed: bool = True
    """False while the TUI shows the newest Secret Key, and for good when it went away meanwhile
    (a hang-up): nobody may hold that secret, so the key should be rolled."""

    @property
    def never_confirmed(self) -> bool:
        """The newest Secret Key's one showing never ended normally, on a key still in use."""
        return not self.secret_confirmed and self.status is not KeyStatus.REVOKED

    @property
    def masked_secret(self) -> str:
        return f"cu_{self.environment.value}_sk_…{self.hint}"

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def state(self, now: datetime) -> str:
        """What a person should read in the Status column."""
        if self.damaged:
            return "damaged"
        if self.status is KeyStatus.ACTIVE and self.is_expired(now):
            return "expired"
        return self.status.value


class StoredSecret(msgspec.Struct, frozen=True):
    """One hashed secret of a key: its argon2 PHC string and hint. Never the secret itself."""

    id: int
    phc: str
    hint: str
    created_at: datetime
    expires_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class KeySecret(msgspec.Struct, frozen=True):
    """A secret of a key as a person may see it: its hint and when it stops. Never the hash."""

    hint: str
    created_at: datetime
    expires_at: datetime | None = None
    """None: no end of its own (the newest secret); else the end of a roll's grace period."""

    def masked(self, environment: Environment) -> str:
        return f"cu_{environment.value}_sk_…{self.hint}"


class KeyDetail(msgspec.Struct, frozen=True):
    """Everything about one key that a person may see: the key, every secret that verifies
    (newest first; after a roll with grace, the old one too), and its recent audit events."""

    key: ApiKey
    secrets: tuple[KeySecret, ...]
    activity: tuple[AuditEvent, ...]

    @property
    def grace_secrets(self) -> tuple[KeySecret, ...]:
        """The secrets that verify until the end of a grace period (all but the newest)."""
        return tuple(s for s in self.secrets if s.expires_at is not None)


class KeyRecord(msgspec.Struct, frozen=True):
    """A key with the hashes that verify it; only the service sees this."""

    key: ApiKey
    secrets: tuple[StoredSecret, ...]


class SecretState(msgspec.Struct, frozen=True):
    """One secret of a key as a verifier needs it: which one, its hint, until when it verifies.
    No hash."""

    id: int
    hint: str
    expires_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class KeyState(msgspec.Struct, frozen=True):
    """A key and its secrets' ends, read in one indexed query: what a verifier reads again to
    follow a revoke, a disable, a roll or an expiry."""

    key: ApiKey
    secrets: tuple[SecretState, ...]


class KeyUse(msgspec.Struct, frozen=True):
    """A successful verification to record: `last_used_at = at` where it is NULL or older than
    `not_since`; and, when `new_phc` is set, the secret `secret_id` rehashed with the current
    parameters (only if its hash is still `old_phc`)."""

    client_id: str
    at: datetime
    not_since: datetime
    secret_id: int | None = None
    old_phc: str | None = None
    new_phc: str | None = None


class CreatedKey(msgspec.Struct, frozen=True):
    """What `create` and `roll` return: the key and its Secret, once."""

    key: ApiKey
    secret: Secret
    secret_id: int
    """Which stored secret `secret` is (hints can repeat): what `confirm_secret` confirms."""


class AuditEvent(msgspec.Struct, frozen=True):
    """One row of the audit log: who did what, from where, to which key, and when."""

    at: datetime
    actor: str
    origin: str
    action: str
    environment: Environment | None = None
    client_id: str | None = None
    detail: str = ""
    id: int | None = None
    damaged: str = ""
    """Why the stored row could not be read whole ('' when it could); `at` is then a stand-in
    when the time is what could not be read (see `unreadable`)."""
    unreadable: frozenset[str] = frozenset()
    key_name: str | None = None
    """The key's name now (read with the event; never stored in it), None without a key."""


class Account(msgspec.Struct, frozen=True):
    """The operator's account, as the header and the Profile page show it."""

    display_name: str
    email: str
    organisation: str


class Actor(msgspec.Struct, frozen=True):
    """Who does a write, and from where: recorded in the audit table."""

    user: str
    origin: str


class SortField(enum.StrEnum):
    CREATED = "created"
    NAME = "name"
    LAST_USED = "last_used"


KeyCursor = tuple[str, int]
"""A keyset pagination cursor: the sort value and the row id of the last key of a page."""


class KeyQuery(msgspec.Struct, frozen=True):
    """Which keys a page lists, in which order, and from where (keyset pagination)."""

    environment: Environment | None = None
    """None means both environments."""
    search: str = ""
    sort: SortField = SortField.CREATED
    include_revoked: bool = True
    limit: int = 200
    after: KeyCursor | None = None
    """Keyset cursor: the `next_cursor` of the previous page."""


class KeyPage(msgspec.Struct, frozen=True):
    """One page of keys, and where the next one starts."""

    keys: tuple[ApiKey, ...]
    next_cursor: KeyCursor | None = None
    """Where the next page starts; None on the last page."""


class AuditQuery(msgspec.Struct, frozen=True):
    """Which audit events a page lists, newest first, and from where (`before_id`)."""

    client_id: str | None = None
    action: str | None = None
    limit: int = 200
    before_id: int | None = None
    key_search: str = ""
    """Events of the keys whose name, or a part of whose Client ID, holds this text."""


class VerifiedKey(msgspec.Struct, frozen=True):
    """Who a verified request came from, for the application behind the middleware: never the
    secret."""

    client_id: str
    name: str
    environment: Environment


class VerifyResult(msgspec.Struct, frozen=True):
    """The answer to a verification: ok or not, why, and the key when it was found."""

    ok: bool
    reason: str
    """'ok', or why not: 'malformed', 'environment_mismatch', 'unknown_key', 'revoked',
    'disabled', 'expired', 'wrong_secret', 'damaged' (the stored key cannot be read whole);
    from a Verifier also 'busy' (its argon2 pool and
    queue are full: try again in a second) and 'throttled' (too many wrong secrets for this Client
    ID lately: cache misses for it are refused for a while). README, "Verifying keys"."""
    key: ApiKey | None = None
    verified: VerifiedKey | None = None
    """For an `ok` result: the key's identity, made once with the result (a middleware hands
    the same object to every request answered from one reading of the key)."""

    @classmethod
    def accepted(cls, key: ApiKey) -> VerifyResult:
        """The `ok` answer for `key`."""
        return cls(True, "ok", key, VerifiedKey(key.client_id, key.name, key.environment))

    def __bool__(self) -> bool:
        return self.ok

    # By hand (msgspec has no per-field repr or compare option), as the dataclass had them: the
    # repr (and Rich's, Textual's crash report) shows neither `key` nor `verified`; equality and
    # the hash leave `verified` out.

    def __repr__(self) -> str:
        return f"VerifyResult(ok={self.ok!r}, reason={self.reason!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [("ok", self.ok), ("reason", self.reason)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyResult) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.ok, self.reason, self.key) == (other.ok, other.reason, other.key)

    def __hash__(self) -> int:
        return hash((self.ok, self.reason, self.key))
