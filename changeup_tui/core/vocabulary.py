"""Words the command line and the TUI share, written once: the program's name, the expiry presets
of a new key, the grace periods of a roll with their labels, and the audit actions the service
records."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta

import msgspec

PROG = "changeup-tui"
"""The program's name, as its messages begin and its help spells it."""


class Preset(msgspec.Struct, frozen=True):
    """One choice: `code` is what the command line takes (and the TUI's option id), `span` what it
    means, `label` and `description` what a person reads."""

    code: str
    span: timedelta | None
    label: str
    description: str = ""


EXPIRY_PRESETS: tuple[Preset, ...] = (
    Preset("never", None, "Never"),
    Preset("30d", timedelta(days=30), "In 30 days"),
    Preset("90d", timedelta(days=90), "In 90 days"),
    Preset("365d", timedelta(days=365), "In 365 days"),
)
"""How long a new key lives (`keys create --expires`, the name modal's Expires choice). A date
is the other way to say it: the key stops at 00:00 UTC that day. A preset ends at the same time of
day: at the 00:00 UTC nearest to the end of its span (within 12 hours of it), so "In 30 days"
also reads "expires in 30 days" in the list."""

GRACE_PERIODS: tuple[Preset, ...] = (
    Preset("0", timedelta(0), "Immediately", "the old Secret Key stops working now"),
    Preset("1h", timedelta(hours=1), "1 hour", "both Secret Keys work for an hour"),
    Preset("24h", timedelta(hours=24), "24 hours", "both work until this time tomorrow"),
    Preset("7d", timedelta(days=7), "7 days", "both work for a week"),
)
"""How long the old Secret Key keeps working after a roll (`keys roll --grace`, the grace
picker)."""

DEFAULT_GRACE = "24h"
"""The grace period the picker offers first."""


def preset(presets: tuple[Preset, ...], code: str) -> Preset:
    """The preset with this code; KeyError when there is none."""
    for choice in presets:
        if choice.code == code:
            return choice
    raise KeyError(code)


def grace_period(code: str) -> timedelta:
    """The span of the grace period `code` ("0", "1h", "24h", "7d"); KeyError for another."""
    span = preset(GRACE_PERIODS, code).span
    return span if span is not None else timedelta(0)


def grace_label(span: timedelta) -> str:
    """How the audit detail names a grace period: its code, "none" for none, else seconds."""
    if span == timedelta(0):
        return "none"
    for choice in GRACE_PERIODS:
        if choice.span == span:
            return choice.code
    return f"{int(span.total_seconds())}s"


def grace_words(span: timedelta) -> str:
    """A grace period as a person reads it after "for": "1 hour", "24 hours", "7 days"."""
    for choice in GRACE_PERIODS:
        if choice.span == span and span:
            return choice.label
    hours = int(span.total_seconds() // 3600)
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


class AuditAction(enum.StrEnum):
    """Every action the service writes to the audit table (the Activity Log's filter choices,
    `audit --action`)."""

    KEY_CREATED = "key.created"
    KEY_ROLLED = "key.rolled"
    KEY_REVOKED = "key.revoked"
    KEY_DISABLED = "key.disabled"
    KEY_ENABLED = "key.enabled"
    KEY_RENAMED = "key.renamed"
    KEY_GRACE_ENDED = "key.grace_ended"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"


def expires_on(day: date) -> datetime:
    """An expiry given as a date: the key stops at 00:00 UTC that day."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def expiry_at(text: str, now: datetime) -> datetime | None:
    """When a key given `text` expires: an EXPIRY_PRESETS code ("never": None) counted from
    `now` (then to the nearest 00:00 UTC), or a date (YYYY-MM-DD). ValueError for anything
    else; the past is the service's to refuse."""
    for choice in EXPIRY_PRESETS:
        if choice.code == text:
            return None if choice.span is None else _nearest_midnight(now + choice.span)
    return expires_on(date.fromisoformat(text))


def _nearest_midnight(moment: datetime) -> datetime:
    """The 00:00 UTC nearest to `moment` (the earlier one at exactly noon): where a date's
    expiry falls too."""
    midnight = expires_on(moment.astimezone(UTC).date())
    return midnight if moment - midnight <= timedelta(hours=12) else midnight + timedelta(days=1)
