"""The key service: every operation on keys, for the TUI, the CLI and the verifier alike.
It owns the rules (`ALLOWED_FROM`: what may happen to a key in which state); the store owns the
SQL and applies each rule as a compare-and-set in the write itself."""

from __future__ import annotations

import builtins
import contextlib
import os
import pwd
import socket
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

import msgspec

from changeup_tui.core import hashing
from changeup_tui.core.context import Clock, current_actor, utc_now
from changeup_tui.core.credentials import KeyGenerator, SecureKeyGenerator
from changeup_tui.core.errors import (
    DuplicateName,
    HashingFailed,
    InvalidName,
    InvalidTransition,
    KeyNotFound,
    StoreError,
)
from changeup_tui.core.models import (
    Account,
    Actor,
    ApiKey,
    AuditEvent,
    AuditQuery,
    CreatedKey,
    Environment,
    KeyCursor,
    KeyDetail,
    KeyPage,
    KeyQuery,
    KeySecret,
    KeyState,
    KeyStatus,
    KeyUse,
    Secret,
    SortField,
    VerifyResult,
)
from changeup_tui.core.names import name_key, normalize_name
from changeup_tui.core.operator_state import OperatorState
from changeup_tui.core.store.base import Store
from changeup_tui.core.verify_cache import LAST_USED_RESOLUTION
from changeup_tui.core.verify_pool import PoolBusy, SharedPool
from changeup_tui.core.verify_rules import Presented, refusal, screen, wrap_secret
from changeup_tui.core.vocabulary import AuditAction, grace_label

T = TypeVar("T")

DETAIL_ACTIVITY = 20
"""How many of a key's audit events its detail carries, newest first."""

_LIVING = frozenset({KeyStatus.ACTIVE, KeyStatus.DISABLED})
ALLOWED_FROM: Final[Mapping[AuditAction, frozenset[KeyStatus]]] = {
    AuditAction.KEY_ROLLED: _LIVING,
    AuditAction.KEY_RENAMED: _LIVING,
    AuditAction.KEY_REVOKED: _LIVING,
    AuditAction.KEY_DISABLED: frozenset({KeyStatus.ACTIVE}),
    AuditAction.KEY_ENABLED: frozenset({KeyStatus.DISABLED}),
}
"""The rules: the states a key may be in for each action. Revoked is final."""


def allows(status: KeyStatus, action: AuditAction) -> bool:
    """Whether a key in `status` may have `action` done to it (the TUI hides what may not)."""
    return status in ALLOWED_FROM.get(action, frozenset())

_VERBS: Final[Mapping[AuditAction, str]] = {
    AuditAction.KEY_ROLLED: "rolled",
    AuditAction.KEY_RENAMED: "renamed",
    AuditAction.KEY_REVOKED: "revoked",
    AuditAction.KEY_DISABLED: "disabled",
    AuditAction.KEY_ENABLED: "enabled",
}


class ArgonPool(Protocol):
    """Where argon2 runs: `verify_pool.HashPool` (bounded, may raise PoolBusy) or SharedPool."""

    async def run(self, function: Callable[..., T], *args: object, admit: bool = True) -> T: ...


class Verification(msgspec.Struct, frozen=True):
    """What `KeyService.check` found: the answer, the state it read after argon2 (on a match)
    and which secret matched (on `ok`). A Verifier caches from it."""

    result: VerifyResult
    state: KeyState | None = None
    secret_id: int | None = None


class KeyService:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utc_now,
        keygen: KeyGenerator | None = None,
        actor: Actor | None = None,
        operator_state: OperatorState | None = None,
        pool: ArgonPool | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keygen = keygen or SecureKeyGenerator()
        self.actor = actor or current_actor()
        self.operator_state = operator_state or OperatorState()
        """This operator's own choices (the environment), outside the shared database."""
        self.pool: ArgonPool = pool or SharedPool()

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def _event(
        self,
        action: AuditAction,
        environment: Environment | None = None,
        client_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            at=at or self.clock(), actor=self.actor.user, origin=self.actor.origin,
            action=action, environment=environment, client_id=client_id, detail=detail,
        )

    # -- names ---------------------------------------------------------------------------------

    async def check_name(
        self, raw: str, environment: Environment, *, except_client_id: str | None = None
    ) -> str:
        """The normalized name, or InvalidName with the reason, uniqueness included."""
        name = normalize_name(raw)
        if await self.store.name_taken(environment, name_key(name), except_client_id):
            raise DuplicateName(f"A {environment.label} key with this name already exists.")
        return name

    # -- create, read --------------------------------------------------------------------------

    async def create(
        self, name: str, environment: Environment, *, expires_at: datetime | None = None,
        confirmed: bool = True,
    ) -> CreatedKey:
        """Create a key. The Secret is returned only after the row and its audit event committed:
        a Secret that was shown always verifies. `confirmed=False` (the TUI, which shows the
        secret until the operator closes it): stored as never confirmed until `confirm_secret`."""
        clean = normalize_name(name)
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidName("The expiry date must be in the future.")
        secret = self.keygen.secret(environment)
        phc = await hashing.hash_secret(secret)  # before the transaction: hold no lock while hashing
        key = ApiKey(
            client_id=self.keygen.client_id(environment),
            environment=environment,
            name=clean,
            created_at=now,
            # what the store records: on PostgreSQL the server's role, not the OS user
            created_by=self.store.acting_role or self.actor.user,
            expires_at=expires_at,
            hint=secret.hint,
            secret_confirmed=confirmed,
        )
        detail = f"expires {expires_at.date().isoformat()}" if expires_at else ""
        secret_id = await self.store.insert_key(
            key, name_key(clean), phc,
            self._event(AuditAction.KEY_CREATED, environment, key.client_id, detail, now),
        )
        return CreatedKey(key, secret, secret_id)

    async def get(self, client_id: str) -> ApiKey:
        record = await self.store.get_key(client_id)
        if record is None:
            raise KeyNotFound(f"no key with Client ID {client_id}")
        now = self.clock()
        live = sum(1 for s in record.secrets if s.expires_at is None or s.expires_at > now)
        return msgspec.structs.replace(record.key, secrets_count=live)

    async def detail(self, client_id: str, *, activity: int = DETAIL_ACTIVITY) -> KeyDetail:
        """The key, every secret that verifies now (newest first: after a roll with grace, the old
        one too, with its end), and its `activity` latest audit events. A revoked key has no
        secret that verifies."""
        record = await self.store.get_key(client_id)
        if record is None:
            raise KeyNotFound(f"no key with Client ID {client_id}")
        now = self.clock()
        secrets = () if record.key.status is KeyStatus.REVOKED else tuple(
            KeySecret(hint=s.hint, created_at=s.created_at, expires_at=s.expires_at)
            for s in record.secrets
            if s.expires_at is None or s.expires_at > now
        )
        events = await self.store.list_audit(AuditQuery(client_id, None, activity))
        key = msgspec.structs.replace(record.key, secrets_count=len(secrets))
        return KeyDetail(key, secrets, tuple(events))

    async def data_version(self) -> int:
        """Changes when another process committed a change (see Store.data_version)."""
        return await self.store.data_version()

    async def grace_secrets(self, client_ids: Sequence[str]) -> dict[str, tuple[KeySecret, ...]]:
        """For each key given that has any, its old secrets still in a grace period now."""
        return await self.store.grace_secrets(client_ids, self.clock())

    async def list(
        self,
        environment: Environment | None = None,
        *,
        search: str = "",
        sort: SortField = SortField.CREATED,
        include_revoked: bool = True,
        limit: int = 200,
        after: KeyCursor | None = None,
    ) -> KeyPage:
        return await self.store.list_keys(
            KeyQuery(environment, search.strip(), sort, include_revoked, limit, after)
        )

    async def list_before(
        self,
        environment: Environment | None = None,
        *,
        search: str = "",
        sort: SortField = SortField.CREATED,
        include_revoked: bool = True,
        limit: int = 200,
        before: KeyCursor | None = None,
    ) -> KeyPage:
        """The page that ends at `before` (None: the last page), see Store.list_keys_before."""
        return await self.store.list_keys_before(
            KeyQuery(environment, search.strip(), sort, include_revoked, limit), before
        )

    async def count(
        self, environment: Environment | None = None, *, search: str = "",
        include_revoked: bool = True,
    ) -> int:
        return await self.store.count_keys(
            KeyQuery(environment, search.strip(), include_revoked=include_revoked)
        )

    # -- lifecycle -----------------------------------------------------------------------------
    # Each change reads the key (its environment and name go into the audit event, and a refused
    # action costs no argon2), then writes it as a compare-and-set on ALLOWED_FROM: a key changed
    # by someone else in between (revoked, say) is not written, and `_refused` says why.

    async def roll(
        self, client_id: str, grace: timedelta = timedelta(0), *, confirmed: bool = True
    ) -> CreatedKey:
        """A new Secret for the same Client ID; the old one verifies until `now + grace`.
        `confirmed`: as for `create`."""
        action = AuditAction.KEY_ROLLED
        key = self._allowed(await self.get(client_id), action)
        secret = self.keygen.secret(key.environment)
        phc = await hashing.hash_secret(secret)
        now = self.clock()
        secret_id = await self.store.add_secret(
            client_id, phc, secret.hint, now, now + grace, ALLOWED_FROM[action],
            self._event(action, key.environment, client_id, f"grace {grace_label(grace)}", now),
            secret_confirmed=confirmed,
        )
        if secret_id is None:
            raise await self._refused(client_id, action)
        return CreatedKey(await self.get(client_id), secret, secret_id)

    async def confirm_secret(self, client_id: str, secret_id: int) -> bool:
        """The showing of the secret `secret_id` (`CreatedKey.secret_id`, from `create` or
        `roll`) ended normally (copied, or closed after the warning): the key is no longer
        "secret never confirmed". Only while that very secret is the key's newest: matched by
        its id, not by its hint, which a later roll's secret may share."""
        return await self.store.confirm_secret(client_id, secret_id)

    async def end_grace(self, client_id: str) -> ApiKey:
        """Stop at once every secret of the key but the newest: the end of a roll's grace period,
        brought forward. InvalidTransition when there is none to stop (or the key is revoked)."""
        key = await self.get(client_id)
        if key.status is KeyStatus.REVOKED:
            raise InvalidTransition("the key is revoked: none of its secrets works any more")
        now = self.clock()
        stopped = await self.store.end_grace(
            client_id, now,
            self._event(AuditAction.KEY_GRACE_ENDED, key.environment, client_id, "old secret stopped", now),
        )
        if stopped == 0:
            key = await self.get(client_id)  # revoked meanwhile, or simply no grace period
            if key.status is KeyStatus.REVOKED:
                raise InvalidTransition("the key is revoked: none of its secrets works any more")
            raise InvalidTransition("the key has no old secret in a grace period: nothing to end")
        return await self.get(client_id)

    async def revoke(self, client_id: str, *, confirm_name: str | None = None) -> ApiKey:
        """Final. A Live key is revoked only when `confirm_name` is its name."""
        key = self._allowed(await self.get(client_id), AuditAction.KEY_REVOKED)
        if key.environment is Environment.LIVE:
            if confirm_name is None or not confirm_name.strip():
                raise InvalidTransition("type the key's name to revoke a Live key")
            if unicodedata.normalize("NFC", confirm_name.strip()) != key.name:
                raise InvalidTransition(
                    "the name typed is not the key's name (it must match exactly, case "
                    "included): the key is not revoked"
                )
        return await self._set_status(key, KeyStatus.REVOKED, AuditAction.KEY_REVOKED)

    async def disable(self, client_id: str) -> ApiKey:
        key = await self.get(client_id)
        return await self._set_status(key, KeyStatus.DISABLED, AuditAction.KEY_DISABLED)

    async def enable(self, client_id: str) -> ApiKey:
        key = await self.get(client_id)
        return await self._set_status(key, KeyStatus.ACTIVE, AuditAction.KEY_ENABLED)

    async def _set_status(self, key: ApiKey, status: KeyStatus, action: AuditAction) -> ApiKey:
        now = self.clock()
        if not await self.store.set_status(
            key.client_id, status, now, self.actor.user, ALLOWED_FROM[action],
            self._event(action, key.environment, key.client_id, at=now),
        ):
            raise await self._refused(key.client_id, action)
        return await self.get(key.client_id)

    async def rename(self, client_id: str, new_name: str) -> ApiKey:
        action = AuditAction.KEY_RENAMED
        key = await self.get(client_id)
        clean = normalize_name(new_name)
        if not await self.store.rename_key(
            client_id, clean, name_key(clean), ALLOWED_FROM[action],
            self._event(action, key.environment, client_id, f"was {key.name}"),
        ):
            raise await self._refused(client_id, action)
        return await self.get(client_id)

    @staticmethod
    def _allowed(key: ApiKey, action: AuditAction) -> ApiKey:
        """`key`, or InvalidTransition when its state does not allow `action`."""
        if not allows(key.status, action):
            raise _not_allowed(key, action)
        return key

    async def _refused(self, client_id: str, action: AuditAction) -> Exception:
        """Why a compare-and-set write changed nothing: the key is gone (KeyNotFound) or, read
        again now, in a state that does not allow `action` (InvalidTransition)."""
        record = await self.store.get_key(client_id)
        if record is None:
            return KeyNotFound(f"no key with Client ID {client_id}")
        return _not_allowed(record.key, action)

    # -- verify --------------------------------------------------------------------------------

    async def verify(
        self, client_id: object, secret: object, *, environment: Environment | None = None
    ) -> VerifyResult:
        """Check a presented Client ID and Secret Key, without a cache: the command line's and
        the TUI's check (a service uses `Verifier`). `environment`: the one accepted (None:
        either). Order: the environment, format and checksum (a typo never touches the
        database), the look-up by Client ID (an unknown one is refused there: no argon2), the
        key's state, argon2, and the state read again before answering `ok`. Bad input of any
        type is `malformed`, never an exception."""
        secret = wrap_secret(secret)  # from here on no frame local holds the plain text, so a
        # traceback that prints locals (Textual's crash report) shows only the redacted form
        presented = screen(client_id, secret, environment)
        if isinstance(presented, VerifyResult):
            return presented
        return (await self.check(presented)).result

    async def check(self, presented: Presented, pool: ArgonPool | None = None) -> Verification:
        """The database and argon2 part of a verification, for a pair that passed `screen`.
        `pool` runs argon2 (a Verifier's bounded pool, which may answer `busy`)."""
        pool = pool or self.pool
        record = await self.store.get_key(presented.client_id)
        if record is None:  # IDs carry 143 random bits and are public: no argon2 to hide this
            return Verification(VerifyResult(False, "unknown_key"))
        key = record.key
        now = self.clock()
        if key.damaged:  # a row that cannot be read whole never verifies
            return Verification(VerifyResult(False, "damaged", key))
        if key.environment is not presented.environment:
            return Verification(VerifyResult(False, "environment_mismatch", key))
        reason = refusal(key, now)
        if reason:
            return Verification(VerifyResult(False, reason, key))
        # The hint (last 4 characters) picks the candidate, so a roll's grace period does not
        # double the cost.
        candidates = [
            s for s in record.secrets if s.hint == presented.secret.hint and s.usable(now)
        ]
        matched = None
        for stored in candidates:
            try:
                if await pool.run(hashing.verify_sync, stored.phc, presented.secret):
                    matched = stored
                    break
            except PoolBusy:
                return Verification(VerifyResult(False, "busy", key))
        if matched is None:
            return Verification(VerifyResult(False, "wrong_secret", key))
        # Read the state again: a revoke, disable or end of grace committed while argon2 ran
        # (or while the check waited for the pool) is never answered `ok`.
        state = await self.store.get_key_state(presented.client_id)
        now = self.clock()
        if state is None:
            return Verification(VerifyResult(False, "unknown_key"))
        reason = refusal(state.key, now)
        current = next((s for s in state.secrets if s.id == matched.id), None)
        if reason is None and (current is None or not current.usable(now)):
            reason = "wrong_secret"
        if reason:
            return Verification(VerifyResult(False, reason, state.key), state)
        key = await self._after_success(state.key, matched.id, matched.phc, presented.secret, now,
                                        pool)
        return Verification(VerifyResult.accepted(key), state, matched.id)

    async def _after_success(
        self, key: ApiKey, secret_id: int, phc: str, secret: Secret, now: datetime,
        pool: ArgonPool,
    ) -> ApiKey:
        """Record "last used" (at most once a minute) and, when the stored hash has older
        parameters, the upgraded hash, in one transaction. Best effort: a verify that succeeded
        stays a success on a read-only or busy database. Returns the key as recorded."""
        if self.store.read_only:
            return key
        new_phc = None
        if hashing.needs_rehash(phc):
            with contextlib.suppress(HashingFailed):
                new_phc = await pool.run(hashing.hash_secret_sync, secret, admit=False)
        recent = key.last_used_at is not None and key.last_used_at >= now - LAST_USED_RESOLUTION
        if recent and new_phc is None:
            return key
        use = KeyUse(key.client_id, now, now - LAST_USED_RESOLUTION, secret_id, phc, new_phc)
        try:
            await self.store.record_use([use])
        except StoreError:
            return key
        return key if recent else msgspec.structs.replace(key, last_used_at=now)

    # -- audit, account, settings --------------------------------------------------------------

    async def audit(
        self, *, client_id: str | None = None, action: str | None = None, limit: int = 200,
        before_id: int | None = None, key_search: str = "",
    ) -> builtins.list[AuditEvent]:  # `list` here is KeyService.list
        """Newest first. `key_search`: events of keys whose name or Client ID holds it."""
        return await self.store.list_audit(
            AuditQuery(client_id, action, limit, before_id, key_search.strip())
        )

    async def account(self) -> Account:
        """The profile; on first run, filled from the operating-system user."""
        account = await self.store.get_account()
        if account is not None:
            return account
        account = _os_account(self.actor.user)
        if not self.store.read_only:
            await self.store.save_account(account, self._event(AuditAction.ACCOUNT_CREATED))
        return account

    async def save_account(self, account: Account) -> Account:
        clean = Account(
            display_name=_profile_field(account.display_name, "Display name", required=True),
            email=_profile_field(account.email, "Email"),
            organisation=_profile_field(account.organisation, "Organisation"),
        )
        if clean.email and ("@" not in clean.email or " " in clean.email):
            raise InvalidName("Email: enter an address such as ops@example.com.")
        await self.store.save_account(clean, self._event(AuditAction.ACCOUNT_UPDATED))
        return clean

    async def environment(self) -> Environment:
        """The environment this operator chose last (their own state file, not the shared
        database); Test when nothing is remembered."""
        return self.operator_state.environment() or Environment.TEST

    async def set_environment(self, environment: Environment) -> None:
        """Remember the operator's choice. OperatorStateError (a StoreError) when the state folder
        cannot be written; the shared database is not touched, even a read-only one is fine."""
        self.operator_state.set_environment(environment)


def _not_allowed(key: ApiKey, action: AuditAction) -> InvalidTransition:
    if key.status is KeyStatus.REVOKED:
        return InvalidTransition(f"a revoked key cannot be {_VERBS[action]}")
    return InvalidTransition(f"the key is {key.status.value}: it cannot be {_VERBS[action]}")


def _profile_field(value: str, label: str, *, required: bool = False) -> str:
    try:
        return normalize_name(value)
    except InvalidName as exc:
        if not required and not value.strip():
            return ""
        raise InvalidName(f"{label}: {exc}") from None


def _os_account(user: str) -> Account:
    display = user
    try:
        gecos = pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
        display = gecos or user
    except (KeyError, OSError):
        pass
    try:
        host = socket.gethostname() or "localhost"
    except OSError:
        host = "localhost"
    return Account(display_name=display, email=f"{user}@{host}", organisation="")
