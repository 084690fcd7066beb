"""The key filter's text as both stores match it: a LIKE pattern for part of a name or Client ID."""

from __future__ import annotations

import re

CLIENT_ID_CHARS = re.compile(r"[0-9A-Za-z_]+")
"""Text made only of these may be part of a Client ID; other text can only match a name."""


def like_pattern(text: str) -> str:
    """`text` anywhere, its LIKE wildcards taken literally (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
