"""Where the .tcss files are: `changeup_tui/_styles` in a built wheel (hatch force-include), else
the repository's top-level `styles/` folder (a checkout or an editable install)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def styles_dir() -> Path:
    bundled = _PACKAGE / "_styles"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / "styles"


def style(name: str) -> Path:
    """The absolute path of one stylesheet, e.g. `style("api_keys.tcss")`."""
    return styles_dir() / name
