"""The applications behind the middleware in the service tests, and one way to serve any of them:
`served_by(kind, ...)` for each kind of MIDDLEWARE (ASGI through uvicorn with either HTTP parser,
in front of a Starlette or a bare app; WSGI through wsgiref), so that one test runs against all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from changeup_tui import asgi, wsgi

from .conftest import uvicorn_server, wsgi_server

Seen = list[dict[str, Any]]
"""What the app saw of each verified request: the key it was given, and whether the secret's
header reached it."""


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


def wsgi_app(seen: Seen) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/health":
            answer: dict[str, Any] = {"healthy": True}
        else:
            key = environ[wsgi.ENVIRON_KEY]
            answer = {"client_id": key.client_id, "name": key.name,
                      "environment": key.environment.value,
                      "saw_api_key": "HTTP_X_API_KEY" in environ}
            seen.append(answer)
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


ASGI_APPS = {"starlette": starlette_app, "bare": bare_app}
MIDDLEWARE = ["asgi-starlette-httptools", "asgi-bare-httptools", "asgi-bare-h11", "wsgi"]
"""ASGI: uvicorn with httptools (as deployments run it: uvicorn's `standard` extra) in front of
Starlette and of a bare app, and with h11 (the pure-Python parser uvicorn falls back to);
WSGI: wsgiref, a thread per request."""


@contextmanager
def served_by(kind: str, db: Path, seen: Seen, **options: Any) -> Iterator[str]:
    """The middleware of `kind` (MIDDLEWARE) with `options` (open_paths, Verifier options) in
    front of its app, served on loopback; yields the base URL. On the way out the verifier is
    closed: no thread of it is left."""
    if kind == "wsgi":
        app = wsgi.ApiKeyMiddleware(wsgi_app(seen), db=db, environment="live", **options)
        try:
            with wsgi_server(app) as url:
                yield url
        finally:
            app.close()
        assert not [t for t in threading.enumerate() if t.name == "changeup-verifier"]
        return
    _, app_name, http = kind.split("-")
    middleware = asgi.ApiKeyMiddleware(ASGI_APPS[app_name](seen), db=db, environment="live",
                                       **options)
    with uvicorn_server(middleware, http=http) as url:  # closed at the lifespan shutdown
        yield url
    assert not middleware._opened
