"""Lazy re-exports for the `screens`, `modals` and `widgets` packages: importing one module of a
package (the first frame's) does not import the others (bench/startup.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str], namespace: dict[str, Any]) -> Callable:
    """A module `__getattr__` that imports `name` from `package.modules[name]` on first use and
    keeps it in the package's namespace."""

    def __getattr__(name: str) -> object:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
