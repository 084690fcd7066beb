"""The refusals both middleware give as the same 401 (`{"error": "invalid_api_key"}`,
`WWW-Authenticate: ApiKey`): one table, run by the ASGI tests (uvicorn) and the WSGI tests
(wsgiref) alike. Each case is the list of headers a client sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from changeup_tui.core.models import CreatedKey, Environment
from changeup_tui.testing import SeededKeyGenerator

from .conftest import change_key

Headers = list[tuple[str, str | bytes]]
Made = dict[str, CreatedKey]


@dataclass(frozen=True)
class Case:
    name: str
    headers: Callable[[Made, SeededKeyGenerator], Headers]


def _pair(client_id: str | bytes | None, secret: str | bytes | None) -> Headers:
    out: Headers = []
    if client_id is not None:
        out.append(("x-client-id", client_id))
    if secret is not None:
        out.append(("x-api-key", secret))
    return out


def _billing(made: Made) -> tuple[str, str]:
    return made["Billing"].key.client_id, made["Billing"].secret.reveal()


CASES = [
    Case("wrong secret", lambda m, g: _pair(_billing(m)[0], g.secret(Environment.LIVE).reveal())),
    Case("unknown Client ID",
         lambda m, g: _pair(g.client_id(Environment.LIVE), g.secret(Environment.LIVE).reveal())),
    Case("a valid Test key at a Live service",
         lambda m, g: _pair(m["Sandbox"].key.client_id, m["Sandbox"].secret.reveal())),
    Case("revoked", lambda m, g: _pair(m["Retired"].key.client_id, m["Retired"].secret.reveal())),
    Case("disabled", lambda m, g: _pair(m["Paused"].key.client_id, m["Paused"].secret.reveal())),
    Case("no secret", lambda m, g: _pair(_billing(m)[0], None)),
    Case("no Client ID", lambda m, g: _pair(None, _billing(m)[1])),
    Case("no headers", lambda m, g: []),
    Case("empty secret", lambda m, g: _pair(_billing(m)[0], "")),
    Case("empty Client ID", lambda m, g: _pair("", _billing(m)[1])),
    Case("secret one character short", lambda m, g: _pair(_billing(m)[0], _billing(m)[1][:-1])),
    Case("secret with a wrong checksum",
         lambda m, g: _pair(_billing(m)[0], _billing(m)[1][:-1]
                            + ("A" if _billing(m)[1][-1] != "A" else "B"))),
    Case("secret bytes not UTF-8",
         lambda m, g: _pair(_billing(m)[0], b"cu_live_sk_\xff\xfe" + b"a" * 47)),
    Case("secret not ASCII",
         lambda m, g: _pair(_billing(m)[0], b"cu_live_sk_" + "é".encode() * 24 + b"a")),
    Case("secret over 1 KiB", lambda m, g: _pair(_billing(m)[0], b"a" * 2048)),
    Case("Client ID bytes not UTF-8",
         lambda m, g: _pair(b"cu_live_ci_\xff" + b"a" * 23, _billing(m)[1])),
    Case("Client ID over 1 KiB", lambda m, g: _pair(b"a" * 4096, _billing(m)[1])),
    Case("secret header twice",
         lambda m, g: [*_pair(*_billing(m)), ("x-api-key", _billing(m)[1])]),
    Case("Client ID header twice",
         lambda m, g: [*_pair(*_billing(m)), ("x-client-id", _billing(m)[0])]),
]


def prepare(db: Path, made: Made) -> None:
    """Retire and pause the keys the table presents as revoked and disabled (the `keys` fixture
    made them active)."""
    change_key(db, "revoke", made["Retired"].key.client_id, confirm_name="Retired")
    change_key(db, "disable", made["Paused"].key.client_id)


def assert_unauthorized(response: httpx.Response, case: str = "") -> None:
    assert response.status_code == 401, (case, response.status_code, response.text)
    assert response.json() == {"error": "invalid_api_key"}, case
    assert response.headers["www-authenticate"] == "ApiKey", case
    assert response.headers["content-type"] == "application/json", case


def check_every_refusal(client: httpx.Client, db: Path, made: Made) -> None:
    """Every case of the table is the same 401; then the key the cases abused still works. Twice:
    the second time the key is in use (in the verifier's cache), so the cases that abuse its
    Client ID meet the middleware's path for keys in use too."""
    prepare(db, made)
    gen = SeededKeyGenerator(5, valid_checksum=True)
    for _ in range(2):
        for case in CASES:
            assert_unauthorized(client.get("/", headers=case.headers(made, gen)), case.name)
        ok = client.get("/", headers=_pair(*_billing(made)))
        assert ok.status_code == 200, ok.text
