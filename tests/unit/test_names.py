"""Key names: NFC, 1..64 characters after trimming, no control/format characters, nothing shaped
like a Secret Key, a visible character, at most 2 combining marks per character; unique per
environment among keys that are not revoked, case-insensitively and confusable-insensitively."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
import time
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from changeup_tui.core.errors import DuplicateName, InvalidName
from changeup_tui.core.models import ApiKey, AuditEvent, Environment
from changeup_tui.core.names import MAX_NAME, name_key, normalize_name
from changeup_tui.core.text import HIDDEN_CATEGORIES
from changeup_tui.testing import FIXED_NOW, SeededKeyGenerator

FORBIDDEN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}

HOSTILE = [
    "\x1b]52;c;SGVsbG8gd29ybGQ=\x07",  # OSC 52: write the clipboard
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b[2J",  # clear the screen
    "\x1b[31mred\x1b[0m",
    "\x9b2J",  # C1 CSI
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE (Cf)
    "\u2066",  # LEFT-TO-RIGHT ISOLATE (Cf)
    "\u200b",  # ZERO WIDTH SPACE (Cf)
    "\u200d",  # ZERO WIDTH JOINER (Cf)
    "\ufeff",  # BOM (Cf)
    "\u2028",  # LINE SEPARATOR (Zl)
    "\u2029",  # PARAGRAPH SEPARATOR (Zp)
    "\ue000",  # private use (Co)
    "\ud800",  # lone surrogate (Cs)
    "\U000e0001",  # LANGUAGE TAG (Cf)
    "\x00",
    "\x7f",
    "\r",
    "\n",
    "\t",
    "[/]",
    "[@click=app.quit]x[/]",
    "[b]bold[/b]",
    "[link=https://evil.example]x[/link]",
    "\\",
]

# The alphabet hypothesis draws from: anything, plus the hostile pieces above.
_chars = st.one_of(
    st.characters(),
    st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"]),
    st.sampled_from(" \t\n\u00a0\u3000"),
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
)
_texts = st.one_of(
    st.text(_chars, max_size=80),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(_chars, max_size=6)), max_size=8).map("".join),
    st.text(st.characters(), min_size=60, max_size=300),
)


BLANKS = set("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f")


def _expected(raw: str) -> str | None:
    """The rules, written independently: the stored name, or None when the name is refused."""
    name = unicodedata.normalize("NFC", raw.strip()).strip()
    if not 1 <= len(name) <= 64:
        return None
    categories = [unicodedata.category(c) for c in name]
    if any(c in FORBIDDEN for c in categories) or BLANKS & set(name):
        return None
    if re.search(r"cu_(live|test)_sk_[0-9a-z]{8}", name, re.IGNORECASE):
        return None
    if not any(c.startswith(("L", "N", "P", "S")) for c in categories):
        return None  # nothing visible
    marks = "".join("M" if c.startswith("M") else "." for c in categories)
    if marks.startswith("M") or "MMM" in marks:
        return None
    return name


def test_constants():
    assert MAX_NAME == 64
    assert HIDDEN_CATEGORIES == FORBIDDEN


@settings(max_examples=600, deadline=None)
@given(raw=_texts)
@example(raw="\x1b]52;c;SGVsbG8=\x07")
@example(raw="\x1b[2J")
@example(raw="evil\u202etxt.exe")
@example(raw="zero\u200bwidth")
@example(raw="e\u0301")
@example(raw=" " * 10 + "x" * 64 + " " * 10)
@example(raw="x" * 65)
@example(raw="\u3164")
@example(raw="a" + "\u0301" * 20)
@example(raw="\ufe0f\ufe0f")
@example(raw="key cu_test_sk_" + "A1b2" * 12 + "x")
def test_normalize_name_properties(raw):
    expected = _expected(raw)
    try:
        result = normalize_name(raw)
    except InvalidName as exc:
        message = str(exc)
        assert expected is None, f"refused a valid name: {message}"
        # a message fit to show: plain printable ASCII, never the name itself
        assert message and message.isascii() and message.isprintable()
        assert "\x1b" not in message
        if raw.strip():
            assert raw.strip() not in message
        return
    assert result == expected, "accepted a name the rules refuse, or changed it wrongly"
    assert unicodedata.is_normalized("NFC", result)
    assert result == result.strip()
    assert 1 <= len(result) <= 64
    assert not any(unicodedata.category(c) in FORBIDDEN for c in result)
    assert normalize_name(result) == result  # idempotent


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b]52;c;SGVsbG8gd29ybGQ=\x07",
        "prod\x1b]52;c;SGVsbG8=\x07",
        "\x1b[2J",
        "a\x1b[2Jb",
        "report\u202eexe.txt",
        "zero\u200bwidth",
        "line\u2028break",
        "para\u2029graph",
        "private\ue000",
        "lone\ud800surrogate",
        "nul\x00byte",
        "bell\x07",
        "in\nside",
        "tab\tinside",
        "\u0378unassigned",  # Cn
    ],
)
def test_hostile_names_are_refused_without_echo(raw):
    with pytest.raises(InvalidName) as info:
        normalize_name(raw)
    message = str(info.value)
    assert message.isascii() and message.isprintable()
    assert raw not in message
    assert "U+" in message  # says which character, as a code point


@pytest.mark.parametrize(
    "raw",
    [
        "[/]",
        "[@click=app.quit]x[/]",
        "[b]bold[/b]",
        "[link=https://x.example]x[/link]",
        "a\\b",
        "100%",
        "a_b",
        "<script>",
        "Prod — ключ 鍵 🔑",
    ],
)
def test_markup_and_brackets_are_plain_characters(raw):
    assert normalize_name(raw) == raw


def test_trimming_and_nfc():
    assert normalize_name("  Billing  ") == "Billing"
    assert normalize_name("\tBilling\n") == "Billing"  # trimming takes outer whitespace controls
    assert normalize_name("Cafe\u0301") == "Café"
    assert normalize_name("Cafe\u0301") == normalize_name("Caf\u00e9")
    assert normalize_name("x" * 64) == "x" * 64
    with pytest.raises(InvalidName, match="too long"):
        normalize_name("x" * 65)
    for empty in ("", "   ", "\t\n", "\u3000"):
        with pytest.raises(InvalidName, match="Enter a name"):
            normalize_name(empty)
    with pytest.raises(InvalidName):
        normalize_name(None)  # type: ignore[arg-type]


def test_length_is_counted_after_nfc_at_the_largest_decomposition():
    """The fast length cut before NFC must not refuse a name that is 64 characters after NFC.
    The longest canonical decomposition of one character is 4 code points (U+1F82...)."""
    longest = max(range(sys.maxunicode + 1), key=lambda c: len(unicodedata.normalize("NFD", chr(c))))
    decomposed = unicodedata.normalize("NFD", chr(longest))
    raw = decomposed * 64
    assert len(raw) == 64 * len(decomposed)
    assert normalize_name(raw) == chr(longest) * 64
    with pytest.raises(InvalidName, match="too long"):
        normalize_name(decomposed * 65)


@pytest.mark.parametrize(
    "raw",
    [
        "a" * 10_000_000,
        "\x1b[2J" * 2_500_000,
        "\u202e" * 10_000_000,
        " " * 10_000_000,
        " " * 5_000_000 + "x" * 100 + " " * 5_000_000,
        "e\u0301" * 5_000_000,
    ],
    ids=["ascii", "escapes", "bidi", "spaces", "padded", "combining"],
)
def test_ten_megabyte_name_is_refused_fast(raw):
    start = time.perf_counter()
    with pytest.raises(InvalidName) as info:
        normalize_name(raw)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed
    assert len(str(info.value)) < 200


def test_name_key_is_case_insensitive_and_canonical():
    assert name_key("Billing") == name_key("BILLING") == name_key("billing")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Caf\u00e9") == name_key("CAFE\u0301")
    assert name_key("\u01f0") == name_key("J\u030c")  # casefold gives a decomposed j-caron
    assert name_key("Billing") != name_key("Billing 2")


# -- uniqueness through the service ---------------------------------------------------------------


@pytest.mark.usefixtures("fast_argon2")
async def test_duplicate_names_per_environment(service):
    first = await service.create("Billing", Environment.TEST)
    for clash in ("Billing", "billing", " BILLING ", "BiLLiNg"):
        with pytest.raises(DuplicateName) as info:
            await service.check_name(clash, Environment.TEST)
        assert clash.strip() not in str(info.value)
    with pytest.raises(DuplicateName):
        await service.create("billing", Environment.TEST)
    # its own name is not a clash (rename to a different case)
    assert (
        await service.check_name("BILLING", Environment.TEST, except_client_id=first.key.client_id)
        == "BILLING"
    )
    # the other environment is separate
    assert await service.check_name("billing", Environment.LIVE) == "billing"
    live = await service.create("billing", Environment.LIVE)
    assert live.key.name == "billing"
    # after revoking, the name is free again in that environment
    await service.revoke(first.key.client_id)
    assert await service.check_name("BILLING", Environment.TEST) == "BILLING"
    again = await service.create("BILLING", Environment.TEST)
    assert again.key.client_id != first.key.client_id
    names = sorted(k.name for k in (await service.list(Environment.TEST)).keys)
    assert names == ["BILLING", "Billing"]  # the revoked one is kept, listed


@pytest.mark.usefixtures("fast_argon2")
async def test_invalid_name_at_create_writes_nothing(service, db_path):
    for raw in ("", "\x1b[2J", "x" * 65, "a\u202eb"):
        with pytest.raises(InvalidName):
            await service.create(raw, Environment.TEST)
    with contextlib.closing(sqlite3.connect(db_path)) as raw_db:
        assert raw_db.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        assert raw_db.execute("SELECT count(*) FROM audit_events").fetchone() == (0,)


async def _insert(store, env: Environment, name: str, gen: SeededKeyGenerator, i: int) -> ApiKey:
    key = ApiKey(
        client_id=gen.client_id(env),
        environment=env,
        name=name,
        created_at=FIXED_NOW,
        created_by="tester",
        hint=f"{i:04d}",
    )
    event = AuditEvent(
        at=FIXED_NOW,
        actor="tester",
        origin="local",
        action="key.created",
        environment=env,
        client_id=key.client_id,
    )
    await store.insert_key(key, name_key(name), "$argon2id$fake", event)
    return key


async def test_check_name_finds_a_clash_among_many_similar_names(service, store):
    """The exact name hides among more than a page of names that contain it."""
    gen = SeededKeyGenerator(99, valid_checksum=True)
    await _insert(store, Environment.TEST, "a", gen, 0)
    for i in range(1, 61):
        await _insert(store, Environment.TEST, f"a{i}", gen, i)
    with pytest.raises(DuplicateName):
        await service.check_name("A", Environment.TEST)
    assert await service.check_name("a61", Environment.TEST) == "a61"


async def test_check_name_clash_with_non_nfc_casefold(service, store):
    await _insert(store, Environment.TEST, "\u01f0", SeededKeyGenerator(98, valid_checksum=True), 1)
    with pytest.raises(DuplicateName):
        await service.check_name("J\u030c", Environment.TEST)
    with pytest.raises(DuplicateName):
        await service.check_name("\u01f0", Environment.TEST)


# -- names that carry a secret, or deceive -------------------------------------------------------

SECRET_LIKE = "cu_test_sk_" + "Zz9" * 16 + "Q"  # the shape (49 base62), not a valid checksum


@pytest.mark.parametrize(
    "raw",
    [
        SECRET_LIKE,
        SECRET_LIKE.replace("test", "live"),
        f"prod key {SECRET_LIKE} copy",
        f"x{SECRET_LIKE}",
        SECRET_LIKE[:30],  # the start of one: a piece of a secret is still a leak
        SECRET_LIKE.upper(),
    ],
    ids=["secret", "live", "surrounded", "glued", "partial", "upper"],
)
def test_secret_shaped_names_are_refused_saying_why_never_repeating_it(raw):
    with pytest.raises(InvalidName) as info:
        normalize_name(raw)
    message = str(info.value)
    assert "Secret Key" in message and "roll" in message
    assert SECRET_LIKE[11:23].lower() not in message.lower()
    assert raw.strip() not in message


@pytest.mark.parametrize("raw", ["cu_test_ci_docs", "cu_test_sk_", "cu_test_sk_short", "sk_live"])
def test_names_that_only_mention_the_format_are_fine(raw):
    assert normalize_name(raw) == raw


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("\u3164", "draw nothing"),  # HANGUL FILLER alone
        ("billing\u3164", "draw nothing"),  # ... or defeating trimming
        ("\u2800", "draw nothing"),  # BRAILLE PATTERN BLANK
        ("\ufe0f", "visible character"),  # a variation selector alone
        ("\ufe0f\ufe0f", "visible character"),
        ("\u0301x", "start with a combining mark"),
        ("a" + "\u0301" * 20, "combining marks"),  # a letter under 20 marks
        ("q\u0301\u0302\u0303", "combining marks"),  # no precomposed q: 3 marks after NFC
    ],
)
def test_names_that_render_blank_or_overdraw_are_refused(raw, reason):
    with pytest.raises(InvalidName, match=reason):
        normalize_name(raw)


@pytest.mark.parametrize(
    "raw", ["Tiếng Việt", "❤️ team", "สวัสดี", "नमस्ते", "a\u0301\u0302", "e\u0301"]
)
def test_ordinary_marks_and_emoji_are_fine(raw):
    assert normalize_name(raw) == unicodedata.normalize("NFC", raw)


def test_name_key_is_the_confusable_skeleton():
    assert name_key("billing") == name_key("b\u0456lling")  # Cyrillic і
    assert name_key("paypal") == name_key("p\u0430yp\u0430l")  # Cyrillic а
    assert name_key("BILLING") == name_key("b\u0456lling")  # case and look-alikes at once
    assert name_key("key0") == name_key("keyO") == name_key("KEYo")
    assert name_key("bi11ing") == name_key("billing")
    assert name_key("billing\ufe0f") == name_key("billing")  # default-ignorables dropped
    assert name_key("billing") != name_key("biling")
    assert name_key("Prod") != name_key("Test")


@pytest.mark.usefixtures("fast_argon2")
async def test_look_alike_names_collide_in_one_environment(service):
    await service.create("billing", Environment.TEST)
    for clash in ("b\u0456lling", "BILL\u0406NG", "bi11ing"):
        with pytest.raises(DuplicateName):
            await service.create(clash, Environment.TEST)
    assert (await service.create("b\u0456lling", Environment.LIVE)).key.name == "b\u0456lling"
