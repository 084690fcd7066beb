"""How times and database text are shown: local time, relative "last used", plain Text."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from changeup_tui.core.text import visible


def plain(value: str | None, limit: int | None = None, *, style: str = "") -> Text:
    """Database text as a Text: control characters made visible, never parsed as markup."""
    return Text(visible(value or "", limit), style=style, no_wrap=True, overflow="ellipsis")


def local_date(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d") if value else "—"


def local_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def relative(value: datetime | None, now: datetime) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', '2 days ago', or the date past 30 days."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds / 86400 + 0.5)  # a 30-day key read a minute later: still "30 days"
    if days <= 30:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return local_date(value)


def expiry(value: datetime | None, now: datetime) -> str:
    """'' for a key that never expires, else 'expired', 'expires in 12 min', 'expires in 5 h',
    'expires in 1 day', 'expires in 30 days' (whole days, rounded to the nearest)."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds < 3600:
        return f"expires in {max(int(seconds // 60), 1)} min"
    if seconds < 86400:
        return f"expires in {int(seconds // 3600)} h"
    days = int(seconds / 86400 + 0.5)  # a 30-day key read a minute later: still "30 days"
    return "expires in 1 day" if days == 1 else f"expires in {days} days"
