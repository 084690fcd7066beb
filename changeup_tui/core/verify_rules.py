"""The checks of a verification that need neither the database nor argon2, shared by
`KeyService.verify` and the `Verifier`: what a presented value may be, the environment, the
format and checksum, and which state refuses a key."""

from __future__ import annotations

from datetime import datetime

import msgspec

from changeup_tui.core.credentials import parse_client_id, parse_secret
from changeup_tui.core.errors import InvalidCredential
from changeup_tui.core.models import ApiKey, Environment, KeyStatus, Secret, VerifyResult

MAX_PRESENTED = 1024
"""A presented Client ID or Secret Key longer than this (1 KiB) is `malformed` without being
looked at further."""


def wrap_secret(value: object) -> Secret | None:
    """The presented secret as a Secret (whose repr is redacted), or None when it cannot be one
    (None, bytes, not text, empty, over 1 KiB, not ASCII). Callers rebind their own argument to
    this at once, so that no frame of theirs keeps the plain text in its locals."""
    if isinstance(value, Secret):
        text = value.reveal()
        if text and len(text) <= MAX_PRESENTED and text.isascii():
            return value
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_PRESENTED or not value.isascii():
        return None
    return Secret(value)


def plain_client_id(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_PRESENTED or not value.isascii():
        return None
    return value


class Presented(msgspec.Struct, frozen=True):
    client_id: str
    environment: Environment
    secret: Secret


def screen(
    client_id: object, secret: Secret | None, environment: Environment | None
) -> Presented | VerifyResult:
    """The pair, well formed and of the served environment, or the refusal. In the design's
    order: the environment (a service serves Live or Test, never both by accident), then format
    and checksum. No database, no argon2."""
    cid = plain_client_id(client_id)
    if cid is None:
        return VerifyResult(False, "malformed")
    try:
        id_environment = parse_client_id(cid)
    except InvalidCredential:
        return VerifyResult(False, "malformed")
    if environment is not None and id_environment is not environment:
        return VerifyResult(False, "environment_mismatch")
    if secret is None:
        return VerifyResult(False, "malformed")
    try:
        parsed = parse_secret(secret.reveal())
    except InvalidCredential:
        return VerifyResult(False, "malformed")
    if parsed.environment is not id_environment:
        return VerifyResult(False, "environment_mismatch")
    return Presented(cid, id_environment, parsed.secret)


def refusal(key: ApiKey, now: datetime) -> str | None:
    """Why the key's state refuses every secret now, or None."""
    if key.damaged:  # a stored row that cannot be read whole never verifies
        return "damaged"
    if key.status is not KeyStatus.ACTIVE:
        return key.status.value
    if key.is_expired(now):
        return "expired"
    return None
