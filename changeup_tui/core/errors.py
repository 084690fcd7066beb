"""Typed errors whose messages are fit to show a person. None ever carries a secret or a hash."""


class ChangeupError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 2


class InvalidName(ChangeupError, ValueError):
    """A key name broke the rules (length, characters, uniqueness)."""


class DuplicateName(InvalidName):
    """Another active key of the environment already has this name (case-insensitively)."""


class KeyNotFound(ChangeupError, LookupError):
    exit_code = 1


class InvalidTransition(ChangeupError):
    """The action does not apply to the key in its current state (say, enabling a revoked key)."""

    exit_code = 1


class InvalidCredential(ChangeupError, ValueError):
    """A Client ID or Secret Key that is not of the documented format."""

    exit_code = 1


class StoreError(ChangeupError):
    """The database cannot be used: the message says why and what to do."""


class NotADatabase(StoreError):
    pass


class DatabaseLocked(StoreError):
    pass


class ReadOnlyDatabase(StoreError):
    pass


class SchemaTooNew(StoreError):
    pass


class DiskFull(StoreError):
    pass


class UnsafeDatabaseLocation(StoreError):
    """The database, a file beside it, its folder or a link on the way is controlled by another
    user (or is not a regular file): refused before SQLite reads anything."""


class HashingFailed(StoreError):
    """argon2 itself failed (out of memory, say). Its message never holds the secret."""


class ServerUnavailable(StoreError):
    """The database server cannot be reached, or went away: retrying later may work."""
