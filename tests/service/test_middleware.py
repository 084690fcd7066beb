"""What the ASGI and the WSGI middleware both promise, run against each (apps.MIDDLEWARE: ASGI
through uvicorn with httptools and with h11, in front of Starlette and of a bare app; WSGI
through wsgiref) on loopback, with httpx as the client."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from changeup_tui.core import hashing
from changeup_tui.core.models import Environment
from changeup_tui.testing import SeededKeyGenerator
from tests.helpers.processes import child_env

from .apps import MIDDLEWARE, Seen, served_by
from .refusals import assert_unauthorized, check_every_refusal


@pytest.fixture(params=MIDDLEWARE)
def served(request, keys):
    db, made = keys
    seen: Seen = []
    with (served_by(request.param, db, seen, open_paths=["/health"]) as url,
          httpx.Client(base_url=url, timeout=10) as client):
        yield client, made, seen, db


def headers(client_id: Any, secret: Any) -> dict[str, Any]:
    return {k: v for k, v in (("x-client-id", client_id), ("x-api-key", secret)) if v is not None}


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


def test_throttled_is_429_and_the_owner_keeps_working(served, caplog):
    client, made, _, _ = served
    caplog.set_level(logging.WARNING, logger="changeup_tui.verify")
    billing = made["Billing"]
    good = headers(billing.key.client_id, billing.secret.reveal())
    assert client.get("/", headers=good).status_code == 200
    gen = SeededKeyGenerator(8, valid_checksum=True)
    wrong = [gen.secret(Environment.LIVE).reveal() for _ in range(6)]
    for secret in wrong[:5]:
        assert_unauthorized(client.get("/", headers=headers(billing.key.client_id, secret)))
    throttled = client.get("/", headers=headers(billing.key.client_id, wrong[5]))
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "60"
    assert client.get("/", headers=good).status_code == 200
    text = caplog.text
    assert "reason=throttled" in text and "peer=127.0.0.1" in text
    assert not any(secret[11:30] in text for secret in wrong)


@pytest.mark.parametrize("kind", MIDDLEWARE)
def test_busy_is_503_with_retry_after_at_once(kind, keys, monkeypatch):
    """One argon2 thread, no queue, busy with one key's check: another key's cache miss is
    503 with Retry-After: 1 at once, not after the check."""
    db, made = keys
    started, release = threading.Event(), threading.Event()
    real = hashing.verify_sync

    def slow(phc, secret):
        started.set()
        release.wait(10)
        return real(phc, secret)

    monkeypatch.setattr(hashing, "verify_sync", slow)
    billing, payouts = made["Billing"], made["Payouts"]
    try:
        with served_by(kind, db, [], workers=1, queue=0) as url, ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.get, url + "/", timeout=20, headers=headers(
                billing.key.client_id, billing.secret.reveal()))
            assert started.wait(10)
            t0 = time.monotonic()
            busy = httpx.get(url + "/", timeout=20, headers=headers(
                payouts.key.client_id, payouts.secret.reveal()))
            assert time.monotonic() - t0 < 2
            release.set()
            assert first.result().status_code == 200
    finally:
        release.set()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert busy.json() == {"error": "busy"}


@pytest.mark.parametrize("kind", MIDDLEWARE)
def test_a_peer_over_its_miss_budget_gets_503_and_keys_in_use_still_pass(kind, keys):
    db, made = keys
    billing = made["Billing"]
    gen = SeededKeyGenerator(21, valid_checksum=True)
    with (served_by(kind, db, [], peer_misses=1) as url,
          httpx.Client(base_url=url, timeout=10) as client):
        good = headers(billing.key.client_id, billing.secret.reveal())
        assert client.get("/", headers=good).status_code == 200  # a miss that verified: free
        assert_unauthorized(client.get("/", headers=headers(  # a refused miss: the one token
            gen.client_id(Environment.LIVE), gen.secret(Environment.LIVE).reveal())))
        over = client.get("/", headers=headers(gen.client_id(Environment.LIVE),
                                               gen.secret(Environment.LIVE).reveal()))
        assert over.status_code == 503 and over.headers["retry-after"] == "1"
        assert client.get("/", headers=good).status_code == 200  # a hit asks no budget


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
