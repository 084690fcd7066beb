"""changeup_tui.asgi.ApiKeyMiddleware through a real uvicorn server on loopback, in front of a
Starlette app and of a bare ASGI app; httpx as the client."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from changeup_tui.asgi import ApiKeyMiddleware
from changeup_tui.core import hashing
from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.processes import child_env

from .conftest import uvicorn_server
from .refusals import assert_unauthorized, check_every_refusal

Seen = list[dict[str, Any]]


def starlette_app(seen: Seen) -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        key = request.state.api_key
        answer = {"client_id": key.client_id, "name": key.name,
                  "environment": key.environment.value,
                  "saw_api_key": "x-api-key" in request.headers}
        seen.append(answer)
        return JSONResponse(answer)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"healthy": True})

    return Starlette(routes=[Route("/", whoami), Route("/health", health)])


def bare_app(seen: Seen) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/health":
            answer: dict[str, Any] = {"healthy": True}
        else:
            key = scope["state"]["api_key"]
            answer = {"client_id": key.client_id, "name": key.name,
                      "environment": key.environment.value,
                      "saw_api_key": any(n.lower() == b"x-api-key" for n, _ in scope["headers"])}
            seen.append(answer)
        body = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


APPS = {"starlette": starlette_app, "bare": bare_app}
SERVED = [("starlette", "httptools"), ("bare", "httptools"), ("bare", "h11")]
"""(app, uvicorn's HTTP parser): httptools as deployments run it (uvicorn's `standard` extra),
and h11, the pure-Python parser uvicorn falls back to without it."""


@pytest.fixture(params=SERVED, ids=["-".join(p) for p in SERVED])
def served(request, keys):
    db, made = keys
    seen: Seen = []
    app_name, http = request.param
    app = ApiKeyMiddleware(APPS[app_name](seen), db=db, environment="live",
                           open_paths=["/health"])
    with uvicorn_server(app, http=http) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, made, seen, db


def headers(client_id: Any, secret: Any) -> dict[str, Any]:
    out = {}
    if client_id is not None:
        out["x-client-id"] = client_id
    if secret is not None:
        out["x-api-key"] = secret
    return out


def test_a_verified_request_reaches_the_app_with_the_key_and_without_the_secret(served):
    client, made, seen, _ = served
    billing = made["Billing"]
    for _ in range(3):  # the first through argon2, the others from the cache
        response = client.get("/", headers=headers(billing.key.client_id,
                                                   billing.secret.reveal()))
        assert response.status_code == 200, response.text
        assert response.json() == {"client_id": billing.key.client_id, "name": "Billing",
                                   "environment": "live", "saw_api_key": False}
    assert len(seen) == 3


def test_no_frame_through_the_middleware_holds_the_secret(keys):
    """An app that raises: the traceback through the middleware, with every frame's locals, holds
    neither the presented secret's text nor its bytes; for a cache miss and for a key in use."""
    import asyncio
    import traceback

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


def test_every_refusal_is_the_same_401(served):
    client, made, seen, db = served
    check_every_refusal(client, db, made)
    assert len(seen) == 2  # only the good request after each pass of the table reached the app


def test_open_paths_need_no_key(served):
    client, _, seen, _ = served  # seen stays empty
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"healthy": True}
    assert_unauthorized(client.get("/health/more"))
    assert seen == []


def test_throttled_is_429_and_the_owner_keeps_working(served):
    client, made, _, _ = served
    billing = made["Billing"]
    good = headers(billing.key.client_id, billing.secret.reveal())
    assert client.get("/", headers=good).status_code == 200
    gen = SeededKeyGenerator(8, valid_checksum=True)
    for _ in range(5):
        assert_unauthorized(client.get("/", headers=headers(
            billing.key.client_id, gen.secret(Environment.LIVE).reveal())))
    throttled = client.get("/", headers=headers(billing.key.client_id,
                                                gen.secret(Environment.LIVE).reveal()))
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers
    assert client.get("/", headers=good).status_code == 200


def test_busy_is_503_with_retry_after(keys, monkeypatch):
    db, made = keys
    started, release = threading.Event(), threading.Event()
    real = hashing.verify_sync

    def slow(phc, secret):
        started.set()
        release.wait(10)
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", slow)
    app = ApiKeyMiddleware(starlette_app([]), db=db, environment="live", workers=1, queue=0)
    billing, payouts = made["Billing"], made["Payouts"]
    with uvicorn_server(app) as url, ThreadPoolExecutor(2) as pool:
        first = pool.submit(httpx.get, url + "/", headers=headers(
            billing.key.client_id, billing.secret.reveal()), timeout=20)
        assert started.wait(10)
        t0 = time.monotonic()
        busy = httpx.get(url + "/", headers=headers(payouts.key.client_id,
                                                    payouts.secret.reveal()), timeout=20)
        assert time.monotonic() - t0 < 2
        release.set()
        assert first.result().status_code == 200
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"


def test_refusals_are_logged_without_the_secret_and_rate_limited(served, caplog):
    client, made, _, _ = served
    billing = made["Billing"]
    caplog.set_level(logging.WARNING, logger="changeup_tui.verify")
    wrong = [
        SeededKeyGenerator(100 + i, valid_checksum=True).secret(Environment.LIVE).reveal()
        for i in range(3)
    ]
    gen = SeededKeyGenerator(9, valid_checksum=True)
    unknown = [gen.client_id(Environment.LIVE) for _ in range(40)]
    client.get("/", headers=headers(billing.key.client_id, wrong[0]))
    t0 = time.monotonic()
    for client_id in unknown:
        client.get("/", headers=headers(client_id, wrong[1]))
    elapsed = time.monotonic() - t0
    records = [r for r in caplog.records if r.name == "changeup_tui.verify"]
    text = "\n".join(r.getMessage() for r in records)
    assert f"reason=wrong_secret client_id={billing.key.client_id} peer=127.0.0.1" in text
    assert "reason=unknown_key" in text
    for secret in wrong:
        assert secret not in text and secret[11:30] not in text
    unknown_lines = [r for r in records if "unknown_key" in r.getMessage()]
    assert len(unknown_lines) <= 5 * (int(elapsed) + 2) < 40  # a few a second, not one each


def test_a_key_revoked_with_the_command_line_is_refused_within_max_staleness(served):
    client, made, _, db = served
    billing = made["Billing"]
    good = headers(billing.key.client_id, billing.secret.reveal())
    assert client.get("/", headers=good).status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "changeup_tui", "--db", str(db), "keys", "revoke",
         billing.key.client_id, "--yes"],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    revoked_at = time.monotonic()
    while client.get("/", headers=good).status_code == 200:
        assert time.monotonic() - revoked_at < 1.5, "still accepted after max_staleness + 0.5 s"
        time.sleep(0.02)
    assert_unauthorized(client.get("/", headers=good))


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


def test_a_peer_over_its_miss_budget_gets_503_and_keys_in_use_still_pass(keys):
    db, made = keys
    billing = made["Billing"]
    gen = SeededKeyGenerator(21, valid_checksum=True)
    app = ApiKeyMiddleware(bare_app([]), db=db, environment="live", peer_misses=1)
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        good = headers(billing.key.client_id, billing.secret.reveal())
        assert client.get("/", headers=good).status_code == 200  # a miss that verified: free
        assert_unauthorized(client.get("/", headers=headers(  # a refused miss: the one token
            gen.client_id(Environment.LIVE), gen.secret(Environment.LIVE).reveal())))
        over = client.get("/", headers=headers(gen.client_id(Environment.LIVE),
                                               gen.secret(Environment.LIVE).reveal()))
        assert over.status_code == 503 and over.headers["retry-after"] == "1"
        assert client.get("/", headers=good).status_code == 200  # a hit asks no budget
