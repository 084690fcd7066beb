"""The key format: Client IDs and Secret Keys, their checksum, parsing and generation.

    Client ID   cu_<env>_ci_ + 24 base62 characters
    Secret Key  cu_<env>_sk_ + 43 base62 characters (random) + 6 base62 characters (CRC32)

Scanner regex for secrets: cu_(live|test)_sk_[0-9A-Za-z]{49}
"""

from __future__ import annotations

import random
import re
import secrets
import zlib
from typing import Protocol

import msgspec

from changeup_tui.core.errors import InvalidCredential
from changeup_tui.core.models import Environment, Secret

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

CLIENT_ID_BODY = 24
SECRET_BODY = 43
CHECKSUM_LEN = 6
SECRET_LEN = len("cu_test_sk_") + SECRET_BODY + CHECKSUM_LEN  # 60

SCANNER_REGEX = r"cu_(live|test)_sk_[0-9A-Za-z]{49}"
CLIENT_ID_RE = re.compile(r"cu_(live|test)_ci_[0-9A-Za-z]{24}")
SECRET_RE = re.compile(r"cu_(live|test)_sk_([0-9A-Za-z]{43})([0-9A-Za-z]{6})")


def b62encode(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    if number:
        raise ValueError("number does not fit in the width")
    return "".join(reversed(digits))


def checksum(text: str) -> str:
    return b62encode(zlib.crc32(text.encode("ascii")), CHECKSUM_LEN)


def client_id_from_body(environment: Environment, body: str) -> str:
    return f"cu_{environment.value}_ci_{body}"


def secret_from_body(environment: Environment, body: str) -> Secret:
    head = f"cu_{environment.value}_sk_{body}"
    return Secret(head + checksum(head))


class ParsedSecret(msgspec.Struct, frozen=True):
    environment: Environment
    secret: Secret


def parse_client_id(text: str) -> Environment:
    """The environment of a well-formed Client ID; InvalidCredential otherwise."""
    match = CLIENT_ID_RE.fullmatch(text)
    if not match:
        raise InvalidCredential("not a Client ID (expected cu_live_ci_… or cu_test_ci_…)")
    return Environment(match.group(1))


def parse_secret(text: str) -> ParsedSecret:
    """Check the format and the checksum of a Secret Key without touching any database.
    The message never repeats the text."""
    match = SECRET_RE.fullmatch(text)
    if not match:
        raise InvalidCredential("not a Secret Key (expected cu_live_sk_… or cu_test_sk_…, 60 characters)")
    head = text[: -CHECKSUM_LEN]
    if checksum(head) != match.group(3):
        raise InvalidCredential("the Secret Key's checksum does not match: it was mistyped or truncated")
    return ParsedSecret(Environment(match.group(1)), Secret(text))


class KeyGenerator(Protocol):
    def client_id(self, environment: Environment) -> str: ...

    def secret(self, environment: Environment) -> Secret: ...


class SecureKeyGenerator:
    """Credentials from the operating system's CSPRNG (`secrets`): 43 base62 characters hold
    about 256 bits."""

    def client_id(self, environment: Environment) -> str:
        return client_id_from_body(
            environment, b62encode(secrets.randbelow(62**CLIENT_ID_BODY), CLIENT_ID_BODY)
        )

    def secret(self, environment: Environment) -> Secret:
        return secret_from_body(
            environment, b62encode(secrets.randbelow(62**SECRET_BODY), SECRET_BODY)
        )


FAKE_MARK = "FAKE"
"""The first characters of the body of every secret SeededKeyGenerator makes (unless told to make
valid ones): a seeded secret reads as fake wherever it is shown."""


def fake_secret(real: Secret) -> Secret:
    """`real` made visibly fake and failing the checksum (`is_valid_secret` is False), with the
    same format, environment and last 4 characters (the hint the list shows). What the snapshots
    and other committed files show: a scanner or push protection that checks the checksum never
    takes it for a leaked key."""
    text = real.reveal()
    prefix, body, check = text[:11], text[11:-CHECKSUM_LEN], text[-CHECKSUM_LEN:]
    head = prefix + FAKE_MARK + body[len(FAKE_MARK):]
    while checksum(head) == check:  # never a valid checksum by chance: change its first character
        check = BASE62[(BASE62.index(check[0]) + 1) % 62] + check[1:]
    return Secret(head + check)


class SeededKeyGenerator:
    """Deterministic, well-formed credentials for tests, snapshots and benchmarks.
    Never use it for keys that guard anything: anyone with the seed can recreate them.

    Its secrets are fake by default: they start with FAKE and fail the checksum, so the service
    refuses them before any database look-up (as malformed), and a secret that reaches a
    committed file (a snapshot) is no credential. `valid_checksum=True` makes secrets that pass,
    for tests that verify the keys they create; those secrets live in memory only, never in
    committed output. Client IDs and the hints are the same either way."""

    def __init__(self, seed: int = 0, *, valid_checksum: bool = False) -> None:
        self._random = random.Random(seed)
        self.valid_checksum = valid_checksum

    def client_id(self, environment: Environment) -> str:
        return client_id_from_body(
            environment, b62encode(self._random.randrange(62**CLIENT_ID_BODY), CLIENT_ID_BODY)
        )

    def secret(self, environment: Environment) -> Secret:
        real = secret_from_body(
            environment, b62encode(self._random.randrange(62**SECRET_BODY), SECRET_BODY)
        )
        return real if self.valid_checksum else fake_secret(real)
