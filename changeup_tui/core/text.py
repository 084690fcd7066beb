"""Text from the database is hostile: make every control, format and escape character visible,
so a key name can never move the cursor, set the title, write the clipboard or reorder a line."""

from __future__ import annotations

import unicodedata

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
"""Unicode categories that control, format or hide: never allowed in a name, always escaped."""


def visible(text: str, limit: int | None = None) -> str:
    """`text` with every invisible or controlling character written as an escape (\\x1b,
    \\u202e...). With `limit`, the result is cut to at most that many characters, ending in …"""
    if limit is not None and len(text) > limit * 8:
        text = text[: limit * 8]  # a 10,000-character name costs no more than a short one
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in HIDDEN_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    result = "".join(out)
    if limit is not None and len(result) > limit:
        result = result[: max(limit - 1, 0)] + "…"
    return result
