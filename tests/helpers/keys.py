"""Key generators for tests that need particular secrets: two real draws of the seeded generator
that end in the same four characters (the hint the list shows), handed out in a chosen order."""

from __future__ import annotations

from collections.abc import Iterable

from changeup_tui.core.models import Environment, Secret
from changeup_tui.testing import SeededKeyGenerator


def shared_hint_secrets(seed: int = 8) -> tuple[Secret, Secret]:
    """The first two secrets the seeded generator (valid checksums) draws with the same hint.
    A birthday search over 62**4 hints: about 2,000 draws, well under a second."""
    draws = SeededKeyGenerator(seed, valid_checksum=True)
    first_by_hint: dict[str, Secret] = {}
    while True:
        secret = draws.secret(Environment.TEST)
        first = first_by_hint.setdefault(secret.hint, secret)
        if first is not secret:
            return first, secret


class ScriptedKeys:
    """The seeded generator's Client IDs, and the given secrets in order (then none: a test
    that asks for more is wrong)."""

    def __init__(self, secrets: Iterable[Secret], *, seed: int = 7) -> None:
        self._ids = SeededKeyGenerator(seed, valid_checksum=True)
        self._secrets = iter(secrets)

    def client_id(self, environment: Environment) -> str:
        return self._ids.client_id(environment)

    def secret(self, environment: Environment) -> Secret:
        return next(self._secrets)
