"""changeup_tui.asgi.ApiKeyMiddleware on its own: how it is set up (as a Starlette middleware the
way the README shows), its arguments, and its frames. What it shares with the WSGI twin is in
test_middleware.py, run against both."""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from changeup_tui.asgi import ApiKeyMiddleware

from .apps import Seen, bare_app, starlette_app
from .conftest import uvicorn_server
from .refusals import assert_unauthorized


def headers(client_id: Any, secret: Any) -> dict[str, Any]:
    return {k: v for k, v in (("x-client-id", client_id), ("x-api-key", secret)) if v is not None}


def test_no_frame_through_the_middleware_holds_the_secret(keys):
    """An app that raises: the traceback through the middleware, with every frame's locals, holds
    neither the presented secret's text nor its bytes; for a cache miss and for a key in use."""
    db, made = keys
    billing = made["Billing"]
    secret = billing.secret.reveal()

    async def failing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["state"]["api_key"].client_id == billing.key.client_id
        raise RuntimeError("the app failed")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    async def run() -> list[str]:
        middleware = ApiKeyMiddleware(failing_app, db=db, environment="live")
        texts = []
        try:
            for _ in range(2):  # a miss (argon2), then a hit (from the headers' bytes)
                scope = {"type": "http", "path": "/", "client": ("127.0.0.1", 1),
                         "headers": [(b"host", b"x"),
                                     (b"x-client-id", billing.key.client_id.encode()),
                                     (b"x-api-key", secret.encode())]}
                with pytest.raises(RuntimeError) as caught:
                    await middleware(scope, receive, send)
                below = caught.value.__traceback__.tb_next  # run's own frame holds the secret
                texts.append("".join(traceback.TracebackException(
                    RuntimeError, caught.value, below, capture_locals=True).format()))
        finally:
            await middleware.close()
        return texts

    texts = asyncio.run(run())
    assert len(texts) == 2
    for text in texts:
        assert "asgi.py" in text and "kind = 'http'" in text  # the locals were captured
        assert secret not in text and secret[11:40] not in text


def test_the_middleware_needs_an_environment_and_a_database(keys):
    db, _ = keys
    with pytest.raises(TypeError):
        ApiKeyMiddleware(bare_app([]), db=db)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ApiKeyMiddleware(bare_app([]), environment="live")
    with pytest.raises(ValueError):
        ApiKeyMiddleware(bare_app([]), db=db, environment="live", open_paths=["health"])


def test_as_starlette_middleware_the_way_the_readme_shows(keys):
    """`Starlette(middleware=[Middleware(ApiKeyMiddleware, ...)])` (FastAPI's add_middleware
    does the same): verified requests pass, the database is closed at the lifespan shutdown."""
    from starlette.middleware import Middleware

    db, made = keys
    seen: Seen = []
    inner = starlette_app(seen)
    app = Starlette(routes=inner.routes, middleware=[
        Middleware(ApiKeyMiddleware, db=db, environment="live", open_paths=["/health"])])
    billing = made["Billing"]
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        ok = client.get("/", headers=headers(billing.key.client_id, billing.secret.reveal()))
        assert ok.status_code == 200 and ok.json()["name"] == "Billing"
        assert_unauthorized(client.get("/", headers=headers(billing.key.client_id, None)))
    # after the lifespan shutdown no connection thread of the verifier is left
    assert not [t for t in threading.enumerate() if t.name.startswith("changeup-argon2")]
