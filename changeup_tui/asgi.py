"""ASGI middleware that verifies `x-client-id` / `x-api-key` on every request. Pure ASGI: no
framework needed; works under Starlette, FastAPI or a bare ASGI app.

    from changeup_tui.asgi import ApiKeyMiddleware
    app = ApiKeyMiddleware(app, db="/var/lib/changeup/changeup.db", environment="live",
                           open_paths=["/health"])

A verified request reaches the app with `scope["state"]["api_key"]` (Starlette:
`request.state.api_key`), a VerifiedKey (Client ID, name, environment); the `x-api-key` header is
removed from the scope first, so the app never holds the secret. A refused one gets 401 with
`{"error": "invalid_api_key"}` and `WWW-Authenticate: ApiKey` (why is logged, not told), 429 when
throttled, 503 with `Retry-After: 1` when busy. The database is opened on the first request and
closed at the lifespan shutdown (or by `await middleware.close()`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Environment, VerifyResult
from changeup_tui.core.verifier import Verifier
from changeup_tui.core.verify_rules import wrap_secret
from changeup_tui.middleware_common import (
    Refusal,
    RefusalLog,
    open_path_set,
    refusal_for,
    verified_key,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CLIENT_ID = b"x-client-id"
_API_KEY = b"x-api-key"


_NO_HEADER = (b"", b"")


def _text(value: bytes | None) -> str | None:
    """A header's value as text; None (malformed) when absent or not ASCII."""
    if value is None:
        return None
    try:
        return value.decode("ascii")
    except (UnicodeDecodeError, AttributeError):  # AttributeError: not bytes at all
        return None


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


_HEADERS: dict[Refusal, tuple[tuple[bytes, bytes], ...]] = {}


def _response_headers(refusal: Refusal) -> tuple[tuple[bytes, bytes], ...]:
    """A refusal's response headers as ASGI wants them, encoded once (a flood of forged
    requests is answered with the same few)."""
    headers = _HEADERS.get(refusal)
    if headers is None:
        headers = _HEADERS[refusal] = (
            (b"content-type", b"application/json"),
            (b"content-length", str(len(refusal.body)).encode()),
            *((k.encode(), v.encode()) for k, v in refusal.headers),
        )
    return headers


class ApiKeyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        environment: Environment | str,
        db: str | Path | None = None,
        verifier: Verifier | None = None,
        open_paths: Iterable[str] = (),
        **verifier_options: Any,
    ) -> None:
        """`db` (a path) or a `verifier` of your own; `environment` the one this service serves;
        `open_paths` paths served without a key (a health check); other keywords go to
        Verifier (max_keys, max_staleness, workers, queue, ...)."""
        if (db is None) == (verifier is None):
            raise TypeError("give either db or verifier")
        self.app = app
        if verifier is None:
            assert db is not None
            verifier = Verifier(db, environment=environment, **verifier_options)
        self.verifier = verifier
        if self.verifier.environment is not Environment.parse(str(environment)):
            raise ValueError("the verifier serves another environment")
        self.open_paths = open_path_set(open_paths)
        self.log = RefusalLog()
        self._opened = False
        self._opening: asyncio.Lock | None = None

    async def _open(self) -> None:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self._opened:
                await self.verifier.open()
                self._opened = True

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self.verifier.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self.app(scope, self._lifespan_receive(receive), send)
            else:
                await self.app(scope, receive, send)
            return
        if scope.get("path", "") in self.open_paths:
            await self.app(scope, receive, send)
            return
        if not self._opened:
            await self._open()
        client_id_raw: bytes | None = None
        api_key_raw: bytes | None = None
        repeated = False
        kept: list[tuple[bytes, bytes]] = []
        header = _NO_HEADER
        for header in scope.get("headers", ()):
            name = header[0]
            # ASGI servers give header names in lower case; the comparison tolerates others.
            if name == _API_KEY or (len(name) == 9 and name.lower() == _API_KEY):
                repeated = repeated or api_key_raw is not None
                api_key_raw = header[1]
                continue  # the app never sees the secret
            if name == _CLIENT_ID or (len(name) == 11 and name.lower() == _CLIENT_ID):
                repeated = repeated or client_id_raw is not None
                client_id_raw = header[1]
            kept.append(header)
        header = _NO_HEADER  # the loop's last header may have been the secret's
        scope["headers"] = kept  # in place: whoever holds this scope no longer sees the secret
        result: VerifyResult | None = None
        if not repeated and type(client_id_raw) is bytes and type(api_key_raw) is bytes:
            # a key in use: a digest of the headers' bytes and a look-up, nothing awaited
            result = self.verifier.cached_answer_bytes(client_id_raw, api_key_raw)
        if result is None:
            # malformed when absent, repeated or not ASCII; the secret's text is only ever
            # held by a Secret (redacted repr) from here on
            api_key = None if repeated else wrap_secret(_text(api_key_raw))
            api_key_raw = None
            try:
                result = await self.verifier.verify(
                    None if repeated else _text(client_id_raw), api_key, peer=_peer(scope))
            except StoreError:
                result = VerifyResult(False, "store_error")
            api_key = None
        api_key_raw = None  # no frame of a traceback through here holds the secret
        if result.ok:
            verified = verified_key(result)
            state = scope.get("state")
            if state is None:
                scope["state"] = {"api_key": verified}
            else:
                state["api_key"] = verified
            await self.app(scope, receive, send)
            return
        self.log.refused(result.reason, None if repeated else _text(client_id_raw), _peer(scope))
        await self._refuse(kind, result.reason, send)

    @staticmethod
    async def _refuse(kind: str, reason: str, send: Send) -> None:
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        refusal = refusal_for(reason)
        await send({"type": "http.response.start", "status": refusal.status,
                    "headers": _response_headers(refusal)})
        await send({"type": "http.response.body", "body": refusal.body})

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                await self.close()
            return message

        return wrapped
