"""Key names: NFC, 1 to 64 characters after trimming, no control or format characters."""

from __future__ import annotations

import unicodedata

from changeup_tui.core.errors import InvalidName
from changeup_tui.core.text import HIDDEN_CATEGORIES

MAX_NAME = 64
_CATEGORY_WORDS = {
    "Cc": "control characters",
    "Cf": "invisible formatting characters",
    "Zl": "line separators",
    "Zp": "paragraph separators",
    "Co": "private-use characters",
    "Cs": "surrogates",
    "Cn": "unassigned characters",
}


def normalize_name(raw: str) -> str:
    """Return the name as it will be stored, or raise InvalidName with a reason fit to show.
    The reason never repeats the name (it may hold escape sequences)."""
    if not isinstance(raw, str):
        raise InvalidName("The name must be text.")
    name = raw.strip()
    # NFC shrinks a text at most fourfold (U+1F82 and kin decompose to 4 code points; a test
    # pins this), so past 4x the limit the name is too long whatever it holds: a 10 MB paste
    # fails at once, before the costly steps.
    if len(name) > MAX_NAME * 4:
        raise InvalidName(f"The name is too long: at most {MAX_NAME} characters.")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidName("Enter a name for the key.")
    for ch in name:
        category = unicodedata.category(ch)
        if category in HIDDEN_CATEGORIES:
            raise InvalidName(
                f"The name cannot contain {_CATEGORY_WORDS[category]} "
                f"(found U+{ord(ch):04X})."
            )
    if len(name) > MAX_NAME:
        raise InvalidName(
            f"The name is too long: {len(name)} characters, at most {MAX_NAME}."
        )
    return name


def name_key(name: str) -> str:
    """The form two names are compared in: case-insensitive, canonical."""
    return unicodedata.normalize("NFC", name.casefold())
