"""Real HTTP servers on loopback for the middleware tests: uvicorn for ASGI, wsgiref for WSGI,
each in a thread of this process; httpx as the client, so headers arrive as clients send them."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import uvicorn

from changeup_tui.core.models import Actor, CreatedKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import SeededKeyGenerator


def make_keys(db: Path, specs: list[tuple[str, Environment]]) -> dict[str, CreatedKey]:
    async def run() -> dict[str, CreatedKey]:
        store = SQLiteStore(db)
        await store.open()
        try:
            keygen = SeededKeyGenerator(11, valid_checksum=True)
            service = KeyService(store, keygen=keygen, actor=Actor("t", "local"))
            return {name: await service.create(name, env) for name, env in specs}
        finally:
            await store.close()

    return asyncio.run(run())


def change_key(db: Path, action: str, client_id: str, **kwargs: Any) -> None:
    async def run() -> None:
        store = SQLiteStore(db)
        await store.open()
        try:
            service = KeyService(store, actor=Actor("t", "local"))
            await getattr(service, action)(client_id, **kwargs)
        finally:
            await store.close()

    asyncio.run(run())


@pytest.fixture
def keys(tmp_path) -> tuple[Path, dict[str, CreatedKey]]:
    db = tmp_path / "changeup.db"
    made = make_keys(db, [("Billing", Environment.LIVE), ("Payouts", Environment.LIVE),
                          ("Sandbox", Environment.TEST), ("Retired", Environment.LIVE),
                          ("Paused", Environment.LIVE)])
    return db, made


@contextmanager
def uvicorn_server(app: Callable[..., Any], http: str = "auto") -> Iterator[str]:
    """Serve app with uvicorn on 127.0.0.1 (a free port), with the HTTP parser `http` (h11,
    httptools; auto: httptools when installed); yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  daemon=True)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def wsgi_server(app: Callable[..., Any]) -> Iterator[str]:
    """Serve app with wsgiref (a thread per request) on 127.0.0.1; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
