"""What the ASGI and WSGI middleware share: the refusal answers, the verified key handed to the
application, and the refusal log (logger `changeup_tui.verify`, a few lines a second per reason
at most, never the presented secret)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import msgspec

from changeup_tui.core.credentials import CLIENT_ID_RE
from changeup_tui.core.models import VerifiedKey, VerifyResult

CLIENT_ID_HEADER = "x-client-id"
API_KEY_HEADER = "x-api-key"
LOGGER_NAME = "changeup_tui.verify"
LOG_LINES_PER_SECOND = 5
"""Per reason: a flood of forged requests must not become a flood of log lines."""


class Refusal(msgspec.Struct, frozen=True):
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


_UNAUTHORIZED = Refusal(
    401, b'{"error": "invalid_api_key"}', (("www-authenticate", "ApiKey"),)
)
_THROTTLED = Refusal(429, b'{"error": "too_many_attempts"}', (("retry-after", "60"),))
_BUSY = Refusal(503, b'{"error": "busy"}', (("retry-after", "1"),))


def refusal_for(reason: str) -> Refusal:
    """401 says nothing about why (unknown, revoked, wrong secret... look alike to the caller);
    429 for `throttled`; 503 with Retry-After for `busy` or an unreadable database."""
    if reason == "throttled":
        return _THROTTLED
    if reason in ("busy", "store_error"):
        return _BUSY
    return _UNAUTHORIZED


def verified_key(result: VerifyResult) -> VerifiedKey:
    """What the application gets for a verified request: who, never the secret."""
    verified = result.verified
    assert verified is not None  # an ok result always carries it (VerifyResult.accepted)
    return verified


def path_is_open(path: str, open_paths: frozenset[str]) -> bool:
    return path in open_paths


def open_path_set(paths: Iterable[str]) -> frozenset[str]:
    paths = frozenset(paths)
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"an open path starts with '/': {path!r}")
    return paths


class RefusalLog:
    """Logs refusals: Client ID (only when well formed: anything else is the caller's text),
    reason and peer address; at most `per_second` lines a second for each reason, with a count
    of the lines left out."""

    def __init__(self, per_second: int = LOG_LINES_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logging.getLogger(LOGGER_NAME)
        self._per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int, int]] = {}  # reason -> (second, logged, dropped)

    def refused(self, reason: str, client_id: object, peer: str | None) -> None:
        if not self.logger.isEnabledFor(logging.WARNING):
            return
        second = int(self._clock())
        with self._lock:
            window, logged, dropped = self._windows.get(reason, (second, 0, 0))
            if window != second:
                window, logged = second, 0
            if logged >= self._per_second:
                self._windows[reason] = (window, logged, dropped + 1)
                return
            self._windows[reason] = (window, logged + 1, 0)
        shown = client_id if isinstance(client_id, str) and CLIENT_ID_RE.fullmatch(client_id) else "-"
        more = f" ({dropped} similar refusals not logged)" if dropped else ""
        self.logger.warning("API key refused: reason=%s client_id=%s peer=%s%s",
                            reason, shown, peer or "-", more)
