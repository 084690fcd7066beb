"""The core: models, key format, hashing, store and service. Never imports Textual."""

from changeup_tui.core.credentials import SCANNER_REGEX, SecureKeyGenerator
from changeup_tui.core.errors import ChangeupError
from changeup_tui.core.models import (
    Account,
    ApiKey,
    AuditEvent,
    CreatedKey,
    Environment,
    KeyStatus,
    Secret,
    SortField,
    VerifyResult,
)
from changeup_tui.core.service import KeyService
from changeup_tui.core.store import SQLiteStore
from changeup_tui.core.verifier import SyncVerifier, Verifier, verify_key

__all__ = [
    "SCANNER_REGEX",
    "Account",
    "ApiKey",
    "AuditEvent",
    "ChangeupError",
    "CreatedKey",
    "Environment",
    "KeyService",
    "KeyStatus",
    "SQLiteStore",
    "Secret",
    "SecureKeyGenerator",
    "SortField",
    "SyncVerifier",
    "Verifier",
    "VerifyResult",
    "verify_key",
]
