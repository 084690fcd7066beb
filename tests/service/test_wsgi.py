"""changeup_tui.wsgi.ApiKeyMiddleware (on SyncVerifier) through a real WSGI server on loopback
(wsgiref, a thread per request); httpx as the client."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.wsgi import ENVIRON_KEY, ApiKeyMiddleware

from .conftest import wsgi_server
from .refusals import assert_unauthorized, check_every_refusal


def wsgi_app(seen: list[dict[str, Any]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/health":
            answer: dict[str, Any] = {"healthy": True}
        else:
            key = environ[ENVIRON_KEY]
            answer = {"client_id": key.client_id, "name": key.name,
                      "environment": key.environment.value,
                      "saw_api_key": "HTTP_X_API_KEY" in environ}
            seen.append(answer)
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


@pytest.fixture
def served(keys):
    db, made = keys
    seen: list[dict[str, Any]] = []
    app = ApiKeyMiddleware(wsgi_app(seen), db=db, environment="live", open_paths=["/health"])
    try:
        with wsgi_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            yield client, made, seen, db
    finally:
        app.close()
    assert not [t for t in threading.enumerate() if t.name == "changeup-verifier"]


def _h(client_id: Any, secret: Any) -> dict[str, Any]:
    return {k: v for k, v in (("x-client-id", client_id), ("x-api-key", secret)) if v is not None}


def test_verified_request_reaches_the_app_in_environ_without_the_secret(served):
    client, made, seen, _ = served
    billing = made["Billing"]
    for _ in range(3):
        response = client.get("/", headers=_h(billing.key.client_id, billing.secret.reveal()))
        assert response.status_code == 200, response.text
        assert response.json() == {"client_id": billing.key.client_id, "name": "Billing",
                                   "environment": "live", "saw_api_key": False}
    assert len(seen) == 3


def test_every_refusal_is_the_same_401(served):
    client, made, seen, db = served
    check_every_refusal(client, db, made)
    assert len(seen) == 2  # only the good request after each pass of the table reached the app


def test_open_paths_need_no_key(served):
    client, _, seen, _ = served
    assert client.get("/health").json() == {"healthy": True}
    assert_unauthorized(client.get("/health/more"))
    assert seen == []


def test_throttled_is_429_and_the_owner_keeps_working(served, caplog):
    client, made, _, _ = served
    caplog.set_level(logging.WARNING, logger="changeup_tui.verify")
    billing = made["Billing"]
    good = _h(billing.key.client_id, billing.secret.reveal())
    assert client.get("/", headers=good).status_code == 200
    gen = SeededKeyGenerator(4, valid_checksum=True)
    wrong = [gen.secret(Environment.LIVE).reveal() for _ in range(6)]
    for secret in wrong[:5]:
        assert_unauthorized(client.get("/", headers=_h(billing.key.client_id, secret)))
    assert client.get("/", headers=_h(billing.key.client_id, wrong[5])).status_code == 429
    assert client.get("/", headers=good).status_code == 200
    text = caplog.text
    assert "reason=throttled" in text and "peer=127.0.0.1" in text
    assert not any(secret[11:30] in text for secret in wrong)


def test_busy_is_503_with_retry_after(keys, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from changeup_tui.core import hashing

    db, made = keys
    started, release = threading.Event(), threading.Event()
    real = hashing.verify_sync

    def slow(phc, secret):
        started.set()
        release.wait(10)
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", slow)
    app = ApiKeyMiddleware(wsgi_app([]), db=db, environment="live", workers=1, queue=0)
    billing, payouts = made["Billing"], made["Payouts"]
    try:
        with wsgi_server(app) as url, ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.get, url + "/", timeout=20,
                                headers=_h(billing.key.client_id, billing.secret.reveal()))
            assert started.wait(10)
            busy = httpx.get(url + "/", timeout=20,
                             headers=_h(payouts.key.client_id, payouts.secret.reveal()))
            release.set()
            assert first.result().status_code == 200
    finally:
        release.set()
        app.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert busy.json() == {"error": "busy"}


def test_a_peer_over_its_miss_budget_gets_503_and_keys_in_use_still_pass(keys):
    db, made = keys
    billing = made["Billing"]
    gen = SeededKeyGenerator(22, valid_checksum=True)
    app = ApiKeyMiddleware(wsgi_app([]), db=db, environment="live", peer_misses=1)
    try:
        with wsgi_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            good = _h(billing.key.client_id, billing.secret.reveal())
            assert client.get("/", headers=good).status_code == 200  # a miss that verified: free
            assert_unauthorized(client.get("/", headers=_h(  # a refused miss: the one token
                gen.client_id(Environment.LIVE), gen.secret(Environment.LIVE).reveal())))
            over = client.get("/", headers=_h(gen.client_id(Environment.LIVE),
                                              gen.secret(Environment.LIVE).reveal()))
            assert over.status_code == 503 and over.headers["retry-after"] == "1"
            assert client.get("/", headers=good).status_code == 200  # a hit asks no budget
    finally:
        app.close()
