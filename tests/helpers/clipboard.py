"""The fake local clipboard: what pyperclip's copy/paste would do, in memory."""

from __future__ import annotations


class FakeClipboard:
    """Stands in for pyperclip's copy/paste. `broken` makes copy raise; `lossy` makes paste
    return something else (a clipboard that did not take the text). `copies` keeps every copy."""

    def __init__(self, *, broken: bool = False, lossy: bool = False) -> None:
        self.text = ""
        self.copies: list[str] = []
        self.broken = broken
        self.lossy = lossy

    def copy(self, text: str) -> None:
        if self.broken:
            raise RuntimeError("no clipboard here")
        self.copies.append(text)
        self.text = text

    def paste(self) -> str:
        return "" if self.lossy else self.text
