"""The command line: launches the TUI, or runs a subcommand on the core.

Exit codes: 0 success, 1 "no" (verification failed, key not found), 2 usage or environment error.
Errors are one line on stderr. A secret is never accepted in argv: `verify` reads it from stdin."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import msgspec

from changeup_tui import __version__
from changeup_tui.core.config import (
    Settings,
    is_postgres_url,
    parse_postgres_url,
    resolve_clear_seconds,
    resolve_db,
)
from changeup_tui.core.context import current_actor
from changeup_tui.core.credentials import (
    SCANNER_REGEX,
    parse_client_id,
    parse_secret,
)
from changeup_tui.core.errors import ChangeupError, InvalidCredential, StoreError
from changeup_tui.core.models import (
    NEVER_CONFIRMED,
    ApiKey,
    AuditEvent,
    CreatedKey,
    Environment,
    KeyDetail,
    KeySecret,
    KeyStatus,
    Secret,
)
from changeup_tui.core.nodump import make_non_dumpable
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.core.text import HIDDEN_CATEGORIES, visible
from changeup_tui.core.vocabulary import (
    DEFAULT_GRACE,
    EXPIRY_PRESETS,
    GRACE_PERIODS,
    PROG,
    AuditAction,
    expiry_at,
    grace_period,
)

_EXPIRY_SPANS = ", ".join(p.code for p in EXPIRY_PRESETS if p.span is not None)


AUDIT_ACTIONS = tuple(action.value for action in AuditAction)
"""`audit --action` takes one of the actions the service writes; anything else is a usage error
that lists them."""

SECRET_LINE_LIMIT = 4096
"""`verify` reads at most this many bytes of stdin (a Secret Key is 60 characters): a stream
without a line end is refused, never read into memory whole."""


class UsageError(ChangeupError):
    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised as UsageError (one line, exit 2), and a subcommand's
    arguments added only when that subcommand is parsed (`arguments`, given to `add_parser`):
    launching the TUI builds only the top-level parser (1.5 ms less CPU before the keys show)."""

    def __init__(self, *args: Any,
                 arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arguments = arguments

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it on namespace
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._arguments is not None:
            arguments, self._arguments = self._arguments, None
            arguments(self)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Manage ChangeUp-style API keys (Live and Test).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--db", metavar="PATH|URL",
        help="database file, or postgresql:// URL without a password (else $CHANGEUP_TUI_DB; "
        "default: changeup.db in your user data folder)",
    )
    parser.add_argument(
        "--clear-clipboard", metavar="SECONDS",
        help="in the TUI, clear the clipboard this many seconds after a Secret Key was copied, "
        "if it still holds it (else $CHANGEUP_TUI_CLEAR_CLIPBOARD; default 0: never)",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("keys", help="list and manage keys", arguments=_keys_arguments)
    commands.add_parser(
        "verify", help="check a Client ID and the Secret Key read from stdin (one line)",
        arguments=_verify_arguments,
    )
    commands.add_parser("audit", help="the audit log, newest first", arguments=_audit_arguments)
    commands.add_parser("db", help="move the database", arguments=_db_arguments)
    return parser


def _keys_arguments(keys: argparse.ArgumentParser) -> None:
    actions = keys.add_subparsers(dest="action", required=True, parser_class=_Parser)

    listing = actions.add_parser(
        "list", help="list keys (never a secret): a table, or JSON with --json"
    )
    listing.add_argument("--env", choices=["live", "test", "all"], default="all",
                         help="which environment's keys (default: all)")
    listing.add_argument("--search", default="",
                         help="only keys whose name or Client ID holds TEXT (default: every key)",
                         metavar="TEXT")
    listing.add_argument("--json", action="store_true",
                         help="one JSON array (with each key's grace_secrets) instead of the table")

    show = actions.add_parser(
        "show", help="one key's details: its secrets that verify and its recent activity"
    )
    show.add_argument("client_id", metavar="CLIENT_ID")
    show.add_argument("--json", action="store_true")

    create = actions.add_parser("create", help="create a key and print its Secret Key once")
    create.add_argument("--name", required=True)
    create.add_argument("--env", choices=["live", "test"], required=True)
    create.add_argument(
        "--expires", metavar=f"{_EXPIRY_SPANS.replace(', ', '|')}|never|YYYY-MM-DD",
        help="when the key stops working (default: never)",
    )
    create.add_argument("--json", action="store_true")

    roll = actions.add_parser("roll", help="give a key a new Secret Key")
    roll.add_argument("client_id", metavar="CLIENT_ID")
    roll.add_argument(
        "--grace", choices=[p.code for p in GRACE_PERIODS], default=DEFAULT_GRACE,
        help=f"how long the old secret keeps working beside the new one (default: {DEFAULT_GRACE}); "
        "0 stops it at once, which for a Live key needs --yes or its name typed",
    )
    roll.add_argument("--yes", action="store_true",
                      help="confirm rolling a Live key with --grace 0")
    roll.add_argument("--json", action="store_true")

    end_grace = actions.add_parser(
        "end-grace", help="stop at once every secret of a key but its newest (end a roll's grace)"
    )
    end_grace.add_argument("client_id", metavar="CLIENT_ID")

    revoke = actions.add_parser("revoke", help="revoke a key, for good")
    revoke.add_argument("client_id", metavar="CLIENT_ID")
    revoke.add_argument("--yes", action="store_true", help="confirm revoking a Live key")

    for verb in ("disable", "enable"):
        sub = actions.add_parser(verb, help=f"{verb} a key")
        sub.add_argument("client_id", metavar="CLIENT_ID")

    rename = actions.add_parser("rename", help="rename a key")
    rename.add_argument("client_id", metavar="CLIENT_ID")
    rename.add_argument("--name", required=True)


def _verify_arguments(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("--client-id", required=True)
    verify.add_argument(
        "--env", choices=["live", "test"],
        help="the environment to accept (as a service would); left out, either is accepted and "
        "the answer says which",
    )


def _audit_arguments(audit: argparse.ArgumentParser) -> None:
    audit.add_argument("--client-id")
    audit.add_argument(
        "--action", choices=AUDIT_ACTIONS, metavar="ACTION",
        help=f"only this action: {', '.join(AUDIT_ACTIONS)}",
    )
    audit.add_argument("--limit", type=int, default=1000,
                       help="at most this many events (default: 1000)")
    audit.add_argument("--json", action="store_true")


def _db_arguments(database: argparse.ArgumentParser) -> None:
    db_actions = database.add_subparsers(dest="action", required=True, parser_class=_Parser)
    copy = db_actions.add_parser(
        "copy", help="copy this database (--db) to a PostgreSQL server that holds no keys yet"
    )
    copy.add_argument(
        "--to", required=True, metavar="URL",
        help="postgresql:// URL without a password (PGPASSWORD or ~/.pgpass give it)",
    )
    db_actions.add_parser(
        "init", help="create or upgrade the schema (on a server: as the role that owns it)"
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def key_json(key: ApiKey, now: datetime, grace: Sequence[KeySecret] = ()) -> dict:
    """A key for scripts. `grace`: its old secrets still in a roll's grace period. A damaged key
    (only `keys show` prints one) has "damaged": why, and null for each column it could not
    read."""
    payload = {
        "client_id": key.client_id,
        "environment": key.environment.value,
        "name": key.name,
        "status": key.status.value,
        "state": key.state(now),
        "secret_confirmed": key.secret_confirmed,
        "created_at": _iso(key.created_at),
        "created_by": key.created_by,
        "last_used_at": _iso(key.last_used_at),
        "expires_at": _iso(key.expires_at),
        "secret_hint": key.masked_secret,
        "grace_secrets": [secret_json(s, key.environment) for s in grace],
    }
    if key.damaged:
        for column in key.unreadable:
            payload[_JSON_FIELD.get(column, column)] = None
        payload["damaged"] = key.damaged
    return payload


_JSON_FIELD = {"hint": "secret_hint"}
"""The JSON field of a key column whose name differs."""


def secret_json(secret: KeySecret, environment: Environment) -> dict:
    return {
        "hint": secret.masked(environment),
        "created_at": _iso(secret.created_at),
        "expires_at": _iso(secret.expires_at),
    }


def detail_json(detail: KeyDetail, now: datetime) -> dict:
    payload = key_json(detail.key, now, detail.grace_secrets)
    payload["secrets"] = [secret_json(s, detail.key.environment) for s in detail.secrets]
    payload["activity"] = [event_json(e) for e in detail.activity]
    return payload


def event_json(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "actor": event.actor,
        "origin": event.origin,
        "action": event.action,
        "environment": event.environment.value if event.environment else None,
        "client_id": event.client_id,
        "detail": event.detail,
    }


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        return expiry_at(text, now)
    except ValueError:
        raise UsageError(f"--expires takes {_EXPIRY_SPANS}, never or a date (YYYY-MM-DD)") from None


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def to_json(value: object) -> str:
    """JSON for scripts and terminals alike: readable non-ASCII text, but every control, format
    or unassigned character (C1 CSI, bidi overrides, zero-width...) written as a \\u escape, so
    the data round-trips exactly and nothing raw reaches the terminal. Such characters can only
    occur inside strings (JSON's own syntax is ASCII), where the escape is valid."""
    import json
    import unicodedata

    text = json.dumps(value, indent=2, ensure_ascii=False)
    if text.isascii():
        return text
    return "".join(
        _json_escape(ch) if not ch.isascii() and unicodedata.category(ch) in HIDDEN_CATEGORIES else ch
        for ch in text
    )


class NotVerified(ChangeupError):
    exit_code = 1


def read_secret_line() -> Secret:
    """One line from stdin (without echo at a terminal). Bytes that are not ASCII cannot be part
    of a Secret Key: they make it malformed, not a crash."""
    if sys.stdin is None:
        raise UsageError("verify reads the Secret Key from stdin, and there is no stdin")
    if sys.stdin.isatty():
        import getpass

        text = getpass.getpass("Secret Key: ")
    else:
        raw = sys.stdin.buffer.readline(SECRET_LINE_LIMIT + 1)
        if len(raw) > SECRET_LINE_LIMIT:
            raise UsageError(
                f"verify reads one line from stdin, at most {SECRET_LINE_LIMIT} bytes: this "
                "is not a Secret Key (a Secret Key is 60 characters)"
            )
        text = raw.decode("ascii", errors="replace")
    text = text.strip()
    if not text:
        raise UsageError("verify reads the Secret Key from stdin (one line), and none was given")
    return Secret(text)


def precheck_credentials(
    client_id: str, secret: Secret, accepted: Environment | None = None
) -> None:
    """Environment, format and checksum of the pair, before any database is opened: a typo
    never touches (or creates) the database. Messages never repeat the secret."""
    try:
        environment = parse_client_id(client_id)
    except InvalidCredential as exc:
        raise NotVerified(f"not verified: {exc}") from None
    if accepted is not None and environment is not accepted:
        raise NotVerified(
            f"not verified: environment mismatch (a {environment.value} Client ID, "
            f"--env {accepted.value})"
        )
    try:
        parsed = parse_secret(secret.reveal())
    except InvalidCredential as exc:
        raise NotVerified(f"not verified: {exc}") from None
    if parsed.environment is not environment:
        raise NotVerified("not verified: environment mismatch")


async def run_command(
    args: argparse.Namespace, settings: Settings, secret: Secret | None = None
) -> int:
    # Only `keys create` may start a new database: a mistyped --db for `verify` or `list` is an
    # error (exit 2), not an empty database that answers "unknown key" for ever.
    if args.command == "db":
        if args.action == "init":
            store = make_store(settings.db_path)
            await store.open()
            await store.close()
            _out(f"schema ready: {settings.db_path}")
            return 0
        return await _copy_database(args, settings)
    creates = args.command == "keys" and args.action == "create"
    store = make_store(settings.db_path, create=creates)
    await store.open()
    try:
        service = KeyService(store, actor=current_actor(interface="CLI"))
        return await _dispatch(args, service, secret)
    finally:
        await store.close()


async def _copy_database(args: argparse.Namespace, settings: Settings) -> int:
    from changeup_tui.core.context import current_actor, utc_now
    from changeup_tui.core.store.copy import copy_database

    if not is_postgres_url(args.to):
        raise UsageError("db copy --to takes a postgresql:// URL")
    destination = parse_postgres_url(args.to, source="--to")
    source = make_store(settings.db_path, create=False)
    await source.open()
    try:
        target = make_store(destination)
        await target.open()
        try:
            report = await copy_database(
                source, target, actor=current_actor(), at=utc_now(),
                source_label=str(settings.db_path),
            )
        finally:
            await target.close()
    finally:
        await source.close()
    _out(
        f"copied {report.keys} keys ({report.secrets} secrets) and {report.audit_events} audit "
        f"events to {destination.display}"
    )
    return 0


async def _dispatch(
    args: argparse.Namespace, service: KeyService, secret: Secret | None = None
) -> int:
    now = service.clock()
    if args.command == "verify":
        assert secret is not None
        accepted = Environment(args.env) if args.env else None
        result = await service.verify(args.client_id, secret, environment=accepted)
        if result.ok and result.key is not None:
            # Without --env either environment passes: say which one this key is.
            _out("ok" if accepted else f"ok ({result.key.environment.value} key)")
            return 0
        sys.stderr.write(f"{PROG}: not verified: {result.reason.replace('_', ' ')}\n")
        return 1
    if args.command == "audit":
        events = await service.audit(
            client_id=args.client_id, action=args.action, limit=args.limit
        )
        damaged_events = [e for e in events if e.damaged]
        events = [e for e in events if not e.damaged]
        if args.json:
            _out(to_json([event_json(e) for e in events]))
        else:
            for e in events:
                env = e.environment.value if e.environment else "-"
                _out(f"{_iso(e.at)}  {visible(e.actor)}  {visible(e.origin)}  "
                     f"{visible(e.action)}  {env}  {visible(e.client_id or '-')}  "
                     f"{visible(e.detail)}")
        return _report_damaged(
            "audit event", [f"#{e.id}: {e.damaged}" for e in damaged_events]
        )
    action: Callable = getattr(_Keys, args.action.replace("-", "_"))
    return await action(args, service, now)


class _Keys:
    @staticmethod
    async def list(args, service: KeyService, now: datetime) -> int:
        env = None if args.env == "all" else Environment(args.env)
        keys: list[ApiKey] = []
        after = None
        while True:
            page = await service.list(env, search=args.search, limit=1000, after=after)
            keys.extend(page.keys)
            if page.next_cursor is None:
                break
            after = page.next_cursor
        damaged = [k for k in keys if k.damaged]
        keys = [k for k in keys if not k.damaged]
        if args.json:
            grace: dict[str, tuple[KeySecret, ...]] = {}
            for start in range(0, len(keys), 1000):
                grace.update(await service.grace_secrets([k.client_id for k in keys[start:start + 1000]]))
            _out(to_json([key_json(k, now, grace.get(k.client_id, ())) for k in keys]))
        else:
            for line in key_table(keys, now):
                _out(line)
        return _report_damaged("key", [f"{k.client_id}: {k.damaged}" for k in damaged])

    @staticmethod
    async def show(args, service: KeyService, now: datetime) -> int:
        detail = await service.detail(args.client_id)
        if args.json:
            _out(to_json(detail_json(detail, now)))
        else:
            for line in detail_lines(detail, now):
                _out(line)
        if detail.key.damaged:  # printed above with what could be read; never verifies
            sys.stdout.flush()
            _error(f"key {detail.key.client_id} is damaged: {detail.key.damaged}")
            return 1
        return 0

    @staticmethod
    async def end_grace(args, service: KeyService, now: datetime) -> int:
        key = await service.end_grace(args.client_id)
        _out(f"ended the grace period of {visible(key.client_id)}: only its newest Secret Key "
             f"({visible(key.masked_secret)}) works now")
        return 0

    @staticmethod
    async def create(args, service: KeyService, now: datetime) -> int:
        created = await service.create(
            args.name, Environment(args.env), expires_at=parse_expiry(args.expires, now)
        )
        try:
            return _print_secret(args, created, now)
        except OSError as exc:  # a full disk, a closed pipe: nobody received the secret
            raise await _revoke_unreceived(service, created, exc) from None

    @staticmethod
    async def roll(args, service: KeyService, now: datetime) -> int:
        grace = grace_period(args.grace)
        if not grace and not args.yes:
            key = await service.get(args.client_id)
            if key.environment is Environment.LIVE and key.status is not KeyStatus.REVOKED:
                _confirm_live_roll(key)
        # Stored "secret never confirmed" until the new secret is printed: when it cannot be,
        # the list and `keys show` say so, as after a TUI's hang-up.
        created = await service.roll(args.client_id, grace, confirmed=False)
        try:  # only for the note on the old secret: the new one is printed whatever happens here
            old = (await service.grace_secrets([created.key.client_id])).get(
                created.key.client_id, ()
            )
        except StoreError:
            old = ()
        printed = msgspec.structs.replace(
            created, key=msgspec.structs.replace(created.key, secret_confirmed=True)
        )
        try:
            code = _print_secret(args, printed, now, old)  # as it stands once printed
        except OSError as exc:  # the key is in use: not revoked, but the operator must roll again
            _drop_stdout()
            raise SecretNotDelivered(_roll_unreceived(created, old, exc)) from None
        await service.confirm_secret(created.key.client_id, created.secret_id)
        return code

    @staticmethod
    async def revoke(args, service: KeyService, now: datetime) -> int:
        key = await service.get(args.client_id)
        confirm = None
        if key.environment is Environment.LIVE:
            if args.yes:
                confirm = key.name
            elif sys.stdin.isatty():
                sys.stderr.write(
                    f"Type the name of the Live key to revoke it ({visible(key.name, 64)}): "
                )
                sys.stderr.flush()
                confirm = sys.stdin.readline().rstrip("\n")
            else:
                raise UsageError(
                    "revoking a Live key needs --yes (or its name typed at a terminal)"
                )
        key = await service.revoke(args.client_id, confirm_name=confirm)
        _out(f"revoked {visible(key.client_id)}")
        return 0

    @staticmethod
    async def disable(args, service: KeyService, now: datetime) -> int:
        key = await service.disable(args.client_id)
        _out(f"disabled {visible(key.client_id)}")
        return 0

    @staticmethod
    async def enable(args, service: KeyService, now: datetime) -> int:
        key = await service.enable(args.client_id)
        _out(f"enabled {visible(key.client_id)}")
        return 0

    @staticmethod
    async def rename(args, service: KeyService, now: datetime) -> int:
        key = await service.rename(args.client_id, args.name)
        _out(f"renamed {visible(key.client_id)} to {visible(key.name)}")
        return 0


def _confirm_live_roll(key: ApiKey) -> None:
    """A Live roll with no grace period breaks every client still on the old secret at once: it
    goes on only with the key's name typed, exactly, at a terminal (or --yes)."""
    if not sys.stdin.isatty():
        raise UsageError(
            "rolling a Live key with --grace 0 stops its Secret Key at once: add --yes (or type "
            "its name at a terminal), or give the old secret a grace period"
        )
    sys.stderr.write(
        "With --grace 0 the current Secret Key of this Live key stops at once.\n"
        f"Type the name of the Live key to roll it ({visible(key.name, 64)}): "
    )
    sys.stderr.flush()
    typed = unicodedata.normalize("NFC", sys.stdin.readline().strip())
    if typed != key.name:
        raise UsageError("the name typed is not the key's name: nothing was rolled")


def _local(value: datetime | None, *, seconds: bool = False, none: str = "never") -> str:
    """A time as a person reads it: local time (the zone's name when seconds are shown)."""
    if value is None:
        return none
    local = value.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M")


def _cells(text: str) -> int:
    """How many terminal columns `text` takes (wide East Asian characters take two). Text from
    `visible` holds no control character, so ASCII text takes one column a character."""
    if text.isascii():
        return len(text)
    return len(text) + sum(  # only the characters beyond ASCII can take other than one column
        -1 if unicodedata.combining(ch) else 1 if unicodedata.east_asian_width(ch) in "WF" else 0
        for ch in _NOT_ASCII.findall(text)
    )


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` columns (ending in …) and padded to exactly `width`."""
    if _cells(text) > width:
        cut: list[str] = []
        used = 0
        for ch in text:
            size = _cells(ch)
            if used + size > width - 1:
                break
            cut.append(ch)
            used += size
        text = "".join(cut) + "…"
    return text + " " * (width - _cells(text))


TABLE_NAME_WIDTH = 40
"""Names longer than this (in columns) are cut in the table; `keys show` prints them whole."""
_TABLE_HEADER = ("Name", "Status", "Client ID", "Last used", "Expires", "Secret")


DAMAGED_SHOWN = 3
"""How many damaged rows the one line of `_report_damaged` names before "and N more"."""


def _report_damaged(what: str, damaged: Sequence[str]) -> int:
    """0 when nothing was damaged; else one line on stderr naming the damaged rows (each with
    why, made visible) and 1: the other rows were printed, these could not be read whole."""
    if not damaged:
        return 0
    sys.stdout.flush()  # the rows that could be read come first
    count = f"{len(damaged)} damaged {what}{'' if len(damaged) == 1 else 's'}"
    named = ", ".join(damaged[:DAMAGED_SHOWN])
    more = f" and {len(damaged) - DAMAGED_SHOWN} more" if len(damaged) > DAMAGED_SHOWN else ""
    _error(f"{count} could not be read whole and {'is' if len(damaged) == 1 else 'are'} not "
           f"listed: {named}{more}")
    return 1


def key_table(keys: Sequence[ApiKey], now: datetime) -> list[str]:
    """The plain listing: a header row and one row per key, columns aligned. Names and every
    other text from the database go through `visible`, so nothing in them drives the terminal
    or splits a row."""
    rows = [
        (visible(k.name, TABLE_NAME_WIDTH), NEVER_CONFIRMED if k.never_confirmed else k.state(now),
         visible(k.client_id),
         _local(k.last_used_at), _local(k.expires_at), visible(k.masked_secret))
        for k in keys
    ]
    widths = [max([_cells(h), *(_cells(r[i]) for r in rows)]) for i, h in enumerate(_TABLE_HEADER)]
    widths[0] = min(widths[0], TABLE_NAME_WIDTH)
    return [
        "  ".join(_fit(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (_TABLE_HEADER, *rows)
    ]


def detail_lines(detail: KeyDetail, now: datetime) -> list[str]:
    key = detail.key

    def field(column: str, text: str) -> str:
        return "unreadable" if column in key.unreadable else text

    lines = [
        f"Name:        {visible(key.name)}",
        f"Status:      {key.state(now)}"
        + (f" ({NEVER_CONFIRMED}: roll this key)" if key.never_confirmed else ""),
        f"Environment: {field('environment', key.environment.label)}",
        f"Client ID:   {visible(key.client_id)}",
        f"Created:     {field('created_at', _local(key.created_at, seconds=True))} "
        f"by {visible(key.created_by)}",
        f"Expires:     {field('expires_at', _local(key.expires_at, seconds=True))}",
        f"Last used:   {field('last_used_at', _local(key.last_used_at, seconds=True))}",
    ]
    if key.damaged:
        lines.append(f"Damaged:     {visible(key.damaged)}")
    if (key.status_changed_at is not None and key.status is not KeyStatus.ACTIVE
            and not key.unreadable & {"status", "status_changed_at"}):
        label = f"{key.status.value.capitalize()}:"
        lines.append(f"{label:<13}{_local(key.status_changed_at, seconds=True)}")
    state = key.state(now)
    heading = {
        "active": "Secret Keys that verify:",
        "disabled": "Secret Keys (none verifies while the key is disabled):",
        "expired": "Secret Keys (none verifies: the key has expired):",
        "damaged": "Secret Keys (none verifies: the key is damaged):",
    }.get(state, "Secret Keys: none verifies, the key is revoked")
    lines += ["", heading]
    if not detail.secrets and state != "revoked":
        lines.append("  none")
    for secret in detail.secrets:
        if secret.expires_at is not None:
            until = f"until {_local(secret.expires_at, seconds=True)} (grace period of a roll)"
        elif key.expires_at is not None:
            until = "newest, until the key expires"
        else:
            until = "newest, no end of its own"
        lines.append(f"  {visible(secret.masked(key.environment))}  {until}")
    lines += ["", f"Recent activity (latest {len(detail.activity)}, newest first):"]
    if not detail.activity:
        lines.append("  none")
    for e in detail.activity:
        at = "unreadable time" if "at" in e.unreadable else _local(e.at, seconds=True)
        line = f"  {at}  {visible(e.action)}  {visible(e.actor)}  {visible(e.origin)}"
        if e.detail:
            line += f"  {visible(e.detail, 200)}"
        lines.append(line)
    return lines


def _print_secret(args, created, now: datetime, grace: Sequence[KeySecret] = ()) -> int:
    """Write the secret and flush: an OSError here means it did not reach stdout."""
    if sys.stdout is None:
        raise OSError("there is no stdout")
    if args.json:
        payload = key_json(created.key, now, grace)
        payload["secret"] = created.secret.reveal()
        _out(to_json(payload))
    else:
        _out(f"Client ID:  {created.key.client_id}")
        _out(f"Secret Key: {created.secret.reveal()}")
    sys.stdout.flush()
    if not args.json:
        sys.stderr.write(
            "This is the only time the Secret Key is shown: it is not stored and cannot be "
            "retrieved. Store it somewhere safe now.\n"
        )
        for secret in grace:
            sys.stderr.write(
                f"The old Secret Key ({visible(secret.masked(created.key.environment))}) keeps "
                f"working until {_local(secret.expires_at, seconds=True)}; "
                f"`{PROG} keys end-grace {created.key.client_id}` stops it sooner.\n"
            )
    return 0


class SecretNotDelivered(ChangeupError):
    exit_code = 2


async def _revoke_unreceived(
    service: KeyService, created: CreatedKey, exc: OSError
) -> SecretNotDelivered:
    """The new key's secret could not be written: nobody has it, so the key is revoked (in a
    transaction of its own) rather than left active for ever. Returns the error to raise, which
    says what happened. What was buffered is dropped, so Python's flush at exit neither retries
    it nor complains."""
    _drop_stdout()
    reason = exc.strerror or str(exc) or type(exc).__name__
    client_id = created.key.client_id
    try:
        await service.revoke(client_id, confirm_name=created.key.name)
    except ChangeupError as revoke_error:
        return SecretNotDelivered(
            f"could not write the Secret Key to stdout ({reason}), and could not revoke the new "
            f"key {client_id} ({revoke_error}): revoke it with `{PROG} keys revoke {client_id}`"
        )
    return SecretNotDelivered(
        f"could not write the Secret Key to stdout ({reason}): the new key {client_id} was "
        "revoked, since nobody received its secret; nothing else changed"
    )


def _roll_unreceived(created: CreatedKey, old: Sequence[KeySecret], exc: OSError) -> str:
    """What to say when a rolled key's new secret could not be written: nobody has it, how long
    the old secret still works, and how to get a new one. A rolled key is in use, so unlike an
    undelivered new key it is not revoked."""
    client_id = created.key.client_id
    reason = exc.strerror or str(exc) or type(exc).__name__
    if old:
        until = max(s.expires_at for s in old if s.expires_at is not None)
        still = f"the old Secret Key keeps working until {_local(until, seconds=True)}"
    else:
        still = "the old Secret Key stopped when it was rolled (no grace period)"
    return (
        f"could not write the new Secret Key to stdout ({reason}): nobody received it; the key "
        f"{client_id} was rolled and {still}: roll it again with `{PROG} keys roll {client_id}`"
    )


def _drop_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _refuse_secrets_in_argv(argv: Sequence[str]) -> None:
    if any(re.search(SCANNER_REGEX, arg) for arg in argv):
        raise UsageError(
            "a Secret Key was given on the command line, where other users can see it: "
            "pass it on stdin, and roll that key"
        )


def main(argv: Sequence[str] | None = None) -> int:
    make_non_dumpable()  # for the process's whole life: it may hold a Secret Key (core/nodump.py)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _refuse_secrets_in_argv(argv)
        args = build_parser().parse_args(argv)
        if args.command is None:
            return _launch_tui(args.db, args.clear_clipboard)
        settings = Settings(db_path=resolve_db(args.db))
        secret = None
        if args.command == "verify":
            secret = read_secret_line()
            precheck_credentials(
                args.client_id, secret, Environment(args.env) if args.env else None
            )
        return asyncio.run(run_command(args, settings, secret))
    except ChangeupError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`keys list | head -1`): stop quietly, as Unix tools do, and keep
        # Python from complaining again when it flushes stdout on the way out.
        _drop_stdout()
        return 141
    except Exception as exc:  # the contract: one line, never a traceback
        _error(f"unexpected error: {type(exc).__name__}: {exc}")
        return 2


def _error(message: str) -> None:
    """Exactly one line on stderr: a path or a name with a newline or an escape in it cannot
    split the line or drive the terminal."""
    sys.stderr.write(f"{PROG}: {visible(message)}\n")
    sys.stderr.flush()


def _launch_tui(db: str | None, clear_clipboard: str | None) -> int:
    try:
        seconds = resolve_clear_seconds(clear_clipboard)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return _run_tui(Settings(db_path=resolve_db(db), clipboard_clear_seconds=seconds))


def _run_tui(settings: Settings) -> int:
    # Importing Textual and the app allocates much and frees almost nothing, so the collector
    # would only walk it: paused for the import, then what it built is set aside for good
    # (gc.freeze). About 30 ms of CPU less before the keys show (bench/startup.py).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from changeup_tui.tui.app import run_tui
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    return run_tui(settings)


if __name__ == "__main__":
    raise SystemExit(main())
