"""changeup_tui.wsgi.ApiKeyMiddleware on its own: its arguments. What it shares with the ASGI
middleware is in test_middleware.py, run against both (wsgiref, a thread per request)."""

from __future__ import annotations

import threading

import pytest

from changeup_tui.core.verifier import SyncVerifier
from changeup_tui.wsgi import ApiKeyMiddleware

from .apps import wsgi_app


def test_the_middleware_needs_an_environment_and_a_database(keys):
    db, _ = keys
    with pytest.raises(TypeError):
        ApiKeyMiddleware(wsgi_app([]), db=db)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ApiKeyMiddleware(wsgi_app([]), environment="live")
    with pytest.raises(ValueError):
        ApiKeyMiddleware(wsgi_app([]), db=db, environment="live", open_paths=["health"])
    with SyncVerifier(db, environment="test") as test_verifier, pytest.raises(ValueError):
        ApiKeyMiddleware(wsgi_app([]), verifier=test_verifier, environment="live")
    # a refused argument leaves no verifier thread running
    assert not [t for t in threading.enumerate() if t.name == "changeup-verifier"]
