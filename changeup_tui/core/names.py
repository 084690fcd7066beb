"""Key names: NFC, 1 to 64 characters after trimming, no control or format characters, nothing
shaped like a Secret Key, at least one visible character, at most MAX_MARKS combining marks on a
character. Two names are the same when their keys are: case-insensitive and confusable-insensitive
(the TR39 skeleton: `billing` and `bіlling`, with a Cyrillic і, are one name)."""

from __future__ import annotations

import re
import unicodedata

from changeup_tui.core.errors import InvalidName
from changeup_tui.core.skeleton import skeleton
from changeup_tui.core.text import HIDDEN_CATEGORIES

MAX_NAME = 64
MAX_MARKS = 2
"""Combining marks after one base character (NFC composes the common accented letters, and
Vietnamese stacks two): a letter under 20 marks overdraws the lines around it."""

SECRET_SHAPED = re.compile(r"cu_(?:live|test)_sk_[0-9A-Za-z]{8,}", re.IGNORECASE)
"""A Secret Key, or the start of one (its prefix and 8 or more of its characters), anywhere in a
name: pasted into the name field, it would be stored in the name and in the append-only audit."""

BLANK_CHARACTERS = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters (Lo) that draw nothing
    "\u2800"  # BRAILLE PATTERN BLANK (So)
    "\u034f\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f"  # invisible marks and separators
)
"""Characters that draw nothing although their category says letter, symbol or mark: refused
anywhere in a name (they defeat trimming, and a name of them alone renders blank)."""
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
    if SECRET_SHAPED.search(name):
        raise InvalidName(
            "The name looks like a Secret Key (cu_..._sk_...): names are shown, listed and kept "
            "in the audit for ever, so a secret never goes in one. If this was a real Secret "
            "Key, roll that key."
        )
    marks = 0
    for ch in name:
        category = unicodedata.category(ch)
        if category in HIDDEN_CATEGORIES:
            raise InvalidName(
                f"The name cannot contain {_CATEGORY_WORDS[category]} "
                f"(found U+{ord(ch):04X})."
            )
        if ch in BLANK_CHARACTERS:
            raise InvalidName(
                f"The name cannot contain characters that draw nothing (found U+{ord(ch):04X})."
            )
        if category[0] == "M":
            marks += 1
            if marks > MAX_MARKS:
                raise InvalidName(
                    f"Too many combining marks on one character (at most {MAX_MARKS}): they "
                    "would draw over the text around the name."
                )
        else:
            marks = 0
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in name):
        raise InvalidName("The name needs at least one visible character.")
    if unicodedata.category(name[0])[0] == "M":
        raise InvalidName("The name cannot start with a combining mark.")
    if len(name) > MAX_NAME:
        raise InvalidName(
            f"The name is too long: {len(name)} characters, at most {MAX_NAME}."
        )
    return name


def sort_key(name: str) -> str:
    """The form the key list sorts names in (stored as `name_sort`): the case-folded name.
    Not the skeleton of `name_key`, which reads `mail` as `rnail` and `0` as `O`: a list sorted
    by it puts names where nobody looks for them."""
    return unicodedata.normalize("NFC", name).casefold()


def name_key(name: str) -> str:
    """The form two names are compared in (stored as `name_key`, unique among the keys of an
    environment that are not revoked, and searched): case-insensitive, canonical and
    confusable-insensitive. Case is folded before and after the skeleton, whose prototypes may be
    capitals (`0` becomes `O`)."""
    return skeleton(unicodedata.normalize("NFC", name).casefold()).casefold()
