"""WSGI middleware (Flask, Django, any WSGI app), the twin of `changeup_tui.asgi`, on
SyncVerifier.

    from changeup_tui.wsgi import ApiKeyMiddleware
    app.wsgi_app = ApiKeyMiddleware(app.wsgi_app, db="/var/lib/changeup/changeup.db",
                                    environment="live", open_paths=["/health"])

A verified request reaches the app with `environ["changeup.api_key"]`, a VerifiedKey (Client ID,
name, environment); `HTTP_X_API_KEY` is removed from the environ first. Refusals as in the ASGI
middleware: 401 + `WWW-Authenticate: ApiKey`, 429, 503 + `Retry-After: 1`. The database is opened
when the middleware is made; `close()` closes it (a process that never calls it still exits: the
verifier's threads are daemons)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Environment, VerifyResult
from changeup_tui.core.verifier import SyncVerifier
from changeup_tui.core.verify_rules import wrap_secret
from changeup_tui.middleware_common import (
    RefusalLog,
    open_path_set,
    refusal_for,
    verified_key,
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ENVIRON_KEY = "changeup.api_key"


def _header(environ: Environ, name: str) -> str | None:
    value = environ.get(name)
    # WSGI hands header bytes over as latin-1 text: anything outside ASCII was not ASCII.
    if not isinstance(value, str) or not value.isascii():
        return None
    return value


class ApiKeyMiddleware:
    def __init__(
        self,
        app: WSGIApp,
        *,
        environment: Environment | str,
        db: str | Path | None = None,
        verifier: SyncVerifier | None = None,
        open_paths: Iterable[str] = (),
        **verifier_options: Any,
    ) -> None:
        if (db is None) == (verifier is None):
            raise TypeError("give either db or verifier")
        self.app = app
        # The arguments are checked before a verifier is made: a bad one leaves no thread behind.
        self.open_paths = open_path_set(open_paths)
        if verifier is None:
            assert db is not None
            verifier = SyncVerifier(db, environment=environment, **verifier_options)
        elif verifier.environment is not Environment.parse(str(environment)):
            raise ValueError("the verifier serves another environment")
        self.verifier = verifier
        self.log = RefusalLog()

    def close(self) -> None:
        self.verifier.close()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self.open_paths:
            return self.app(environ, start_response)
        client_id = _header(environ, "HTTP_X_CLIENT_ID")
        # Wrapped at once (a redacted repr) and removed from the environ: no local of this frame
        # and nothing the app gets holds the plain secret.
        api_key = wrap_secret(_header(environ, "HTTP_X_API_KEY"))
        environ.pop("HTTP_X_API_KEY", None)
        peer = environ.get("REMOTE_ADDR")
        try:
            result = self.verifier.verify(client_id, api_key, peer=peer)
        except StoreError:
            result = VerifyResult(False, "store_error")
        if result.ok:
            environ[ENVIRON_KEY] = verified_key(result)
            return self.app(environ, start_response)
        self.log.refused(result.reason, client_id, peer)
        refusal = refusal_for(result.reason)
        status = {401: "401 Unauthorized", 429: "429 Too Many Requests",
                  503: "503 Service Unavailable"}[refusal.status]
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(refusal.body))),
                                *((k.title(), v) for k, v in refusal.headers)])
        return [refusal.body]
