"""The key format: Client ID and Secret Key shapes, the CRC32 checksum, base62, generators.
Nothing here hashes or touches a database."""

from __future__ import annotations

import re
import zlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from changeup_tui.core.credentials import (
    BASE62,
    CHECKSUM_LEN,
    SCANNER_REGEX,
    SECRET_LEN,
    SECRET_RE,
    SecureKeyGenerator,
    SeededKeyGenerator,
    b62encode,
    checksum,
    fake_secret,
    parse_client_id,
    parse_secret,
    secret_from_body,
)
from changeup_tui.core.errors import InvalidCredential
from changeup_tui.core.models import Environment, Secret


def b62decode(text: str) -> int:
    """The inverse of b62encode, written here to check it (the package only encodes)."""
    number = 0
    for ch in text:
        number = number * 62 + BASE62.index(ch)
    return number


def is_valid_secret(text: str) -> bool:
    try:
        parse_secret(text)
    except InvalidCredential:
        return False
    return True

SCANNER = re.compile(SCANNER_REGEX)
ENVS = list(Environment)


def _secrets(count: int, seed: int = 11) -> list[tuple[Environment, str]]:
    gen = SeededKeyGenerator(seed, valid_checksum=True)
    return [(env, gen.secret(env).reveal()) for _ in range(count) for env in ENVS]


# -- format -------------------------------------------------------------------------------------


def test_scanner_regex_is_the_documented_one():
    assert SCANNER_REGEX == r"cu_(live|test)_sk_[0-9A-Za-z]{49}"


@pytest.mark.parametrize("env", ENVS)
def test_secure_secret_format(env):
    gen = SecureKeyGenerator()
    for _ in range(200):
        secret = gen.secret(env)
        assert isinstance(secret, Secret)
        text = secret.reveal()
        assert len(text) == SECRET_LEN == 60
        assert text.startswith(f"cu_{env.value}_sk_")
        body = text[len(f"cu_{env.value}_sk_") :]
        assert len(body) == 49 and all(c in BASE62 for c in body)
        # The scanner finds it, whole, in surrounding text.
        assert SCANNER.fullmatch(text)
        found = SCANNER.findall(f"token={text}; other")
        assert found == [env.value]
        assert SCANNER.search(f"x {text} y").group(0) == text
        # The last 6 characters are the CRC32 of everything before them.
        head, tail = text[:-CHECKSUM_LEN], text[-CHECKSUM_LEN:]
        assert b62decode(tail) == zlib.crc32(head.encode("ascii"))
        assert parse_secret(text).environment is env
        assert parse_secret(text).secret == secret


@pytest.mark.parametrize("env", ENVS)
def test_secure_client_id_format(env):
    gen = SecureKeyGenerator()
    for _ in range(200):
        client_id = gen.client_id(env)
        assert isinstance(client_id, str)
        prefix = f"cu_{env.value}_ci_"
        assert client_id.startswith(prefix)
        body = client_id[len(prefix) :]
        assert len(body) == 24 and all(c in BASE62 for c in body)
        assert len(client_id) == len(prefix) + 24
        assert parse_client_id(client_id) is env
        # A Client ID is never mistaken for a secret by the scanner.
        assert not SCANNER.search(client_id)


def test_secure_generator_outputs_are_distinct():
    gen = SecureKeyGenerator()
    secrets = {gen.secret(env).reveal() for env in ENVS for _ in range(500)}
    ids = {gen.client_id(env) for env in ENVS for _ in range(500)}
    assert len(secrets) == 1000
    assert len(ids) == 1000
    # The random part uses the whole alphabet and is not padded with a fixed character.
    bodies = [s[11:54] for s in secrets]
    assert set("".join(bodies)) == set(BASE62)
    assert len({b[0] for b in bodies}) > 40


def test_seeded_generator_is_deterministic():
    a, b, c = SeededKeyGenerator(7), SeededKeyGenerator(7), SeededKeyGenerator(8)
    seq_a = [(a.client_id(e), a.secret(e).reveal()) for e in ENVS for _ in range(20)]
    seq_b = [(b.client_id(e), b.secret(e).reveal()) for e in ENVS for _ in range(20)]
    seq_c = [(c.client_id(e), c.secret(e).reveal()) for e in ENVS for _ in range(20)]
    assert seq_a == seq_b
    assert seq_a != seq_c
    assert len({s for _, s in seq_a}) == len(seq_a)
    for (client_id, secret), env in zip(seq_a, [e for e in ENVS for _ in range(20)], strict=True):
        assert parse_client_id(client_id) is env
        assert SECRET_RE.fullmatch(secret) and secret.startswith(f"cu_{env.value}_sk_FAKE")
        assert not is_valid_secret(secret)  # fake by default: fails the checksum


def test_seeded_secrets_are_fake_unless_asked_and_keep_ids_and_hints():
    """The default secrets read as fake and fail the checksum (what the snapshots show); with
    valid_checksum=True they pass. Client IDs and the 4-character hints are the same either way,
    so only the full secret differs (the reveal snapshots), never the list."""
    fake, valid = SeededKeyGenerator(1), SeededKeyGenerator(1, valid_checksum=True)
    for env in [e for e in ENVS for _ in range(50)]:
        assert fake.client_id(env) == valid.client_id(env)
        f, v = fake.secret(env), valid.secret(env)
        assert is_valid_secret(v.reveal()) and not is_valid_secret(f.reveal())
        with pytest.raises(InvalidCredential, match="checksum"):
            parse_secret(f.reveal())
        assert f.hint == v.hint and f.reveal()[-6:] == v.reveal()[-6:]
        assert f.reveal()[11:15] == "FAKE" and f.reveal()[15:-6] == v.reveal()[15:-6]


def test_fake_secret_never_has_a_valid_checksum_even_by_chance():
    """fake_secret changes the checksum when the FAKE body happens to match it."""
    real = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.TEST)
    text = real.reveal()
    faked_head = text[:11] + "FAKE" + text[15:-6]
    lucky = Secret(text[:15] + text[15:-6] + checksum(faked_head))  # its checksum fits the fake
    assert not is_valid_secret(fake_secret(lucky).reveal())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cu_test_sk_",
        "cu_prod_sk_" + "a" * 49,
        "CU_TEST_SK_" + "a" * 49,
        "cu_test_ci_" + "a" * 49,
        "cu_test_sk_" + "a" * 48,
        "cu_test_sk_" + "a" * 50,
        "cu_test_sk_" + "a" * 48 + "-",
        "cu_test_sk_" + "a" * 48 + "é",
        "cu_test_sk_" + "a" * 48 + "٣",  # a non-ASCII digit
    ],
)
def test_parse_secret_rejects_bad_shapes(text):
    with pytest.raises(InvalidCredential):
        parse_secret(text)
    assert not is_valid_secret(text)


def test_parse_secret_rejects_surrounding_whitespace():
    text = SeededKeyGenerator(1, valid_checksum=True).secret(Environment.TEST).reveal()
    for variant in (text + "\n", " " + text, text + " "):
        assert not is_valid_secret(variant)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cu_test_ci_" + "a" * 23,
        "cu_test_ci_" + "a" * 25,
        "cu_live_sk_" + "a" * 24,
        "cu_test_ci_" + "a" * 23 + "!",
        "cu_tst_ci_" + "a" * 24,
    ],
)
def test_parse_client_id_rejects_bad_shapes(text):
    with pytest.raises(InvalidCredential):
        parse_client_id(text)


def test_error_messages_never_repeat_the_text():
    text = SeededKeyGenerator(3, valid_checksum=True).secret(Environment.LIVE).reveal()
    broken = text[:-1] + ("a" if text[-1] != "a" else "b")
    for candidate in (broken, text[:-1], text + "x"):
        with pytest.raises(InvalidCredential) as info:
            parse_secret(candidate)
        message = str(info.value)
        assert candidate not in message
        assert text[11:30] not in message


# -- checksum: any one-character change fails ----------------------------------------------------


@pytest.mark.parametrize("env,text", _secrets(2))
def test_every_single_base62_substitution_is_caught(env, text):
    """Exhaustive: every position, every other base62 character (60 x 61 variants)."""
    assert is_valid_secret(text)
    for position in range(len(text)):
        for replacement in BASE62:
            if replacement == text[position]:
                continue
            variant = text[:position] + replacement + text[position + 1 :]
            assert not is_valid_secret(variant), (position, replacement)


@pytest.mark.parametrize("env,text", _secrets(2, seed=5))
def test_every_adjacent_transposition_and_deletion_is_caught(env, text):
    for position in range(len(text) - 1):
        a, b = text[position], text[position + 1]
        if a != b:
            swapped = text[:position] + b + a + text[position + 2 :]
            assert not is_valid_secret(swapped), position
    for position in range(len(text)):
        assert not is_valid_secret(text[:position] + text[position + 1 :]), position


@settings(max_examples=400, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    env=st.sampled_from(ENVS),
    position=st.integers(min_value=0, max_value=SECRET_LEN - 1),
    replacement=st.one_of(st.sampled_from(BASE62), st.characters()),
)
def test_any_one_character_change_fails(seed, env, position, replacement):
    text = SeededKeyGenerator(seed, valid_checksum=True).secret(env).reveal()
    assume(replacement != text[position])
    variant = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(InvalidCredential):
        parse_secret(variant)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    env=st.sampled_from(ENVS),
    position=st.integers(min_value=0, max_value=SECRET_LEN),
    inserted=st.characters(),
)
def test_any_one_character_insertion_fails(seed, env, position, inserted):
    text = SeededKeyGenerator(seed, valid_checksum=True).secret(env).reveal()
    with pytest.raises(InvalidCredential):
        parse_secret(text[:position] + inserted + text[position:])


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet=BASE62, min_size=43, max_size=43), env=st.sampled_from(ENVS))
def test_any_body_with_its_checksum_parses(body, env):
    secret = secret_from_body(env, body)
    parsed = parse_secret(secret.reveal())
    assert parsed.environment is env
    assert SCANNER.fullmatch(secret.reveal())
    assert secret.reveal()[-CHECKSUM_LEN:] == checksum(secret.reveal()[:-CHECKSUM_LEN])


def test_test_secret_cannot_pass_as_live():
    text = SeededKeyGenerator(9, valid_checksum=True).secret(Environment.TEST).reveal()
    relabelled = text.replace("cu_test_", "cu_live_", 1)
    assert not is_valid_secret(relabelled)


# -- base62 ---------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(width=st.integers(min_value=1, max_value=50), data=st.data())
def test_b62_round_trip(width, data):
    number = data.draw(st.integers(min_value=0, max_value=62**width - 1))
    text = b62encode(number, width)
    assert len(text) == width
    assert all(c in BASE62 for c in text)
    assert b62decode(text) == number


@given(text=st.text(alphabet=BASE62, min_size=1, max_size=50))
def test_b62_decode_encode_round_trip(text):
    assert b62encode(b62decode(text), len(text)) == text


def test_b62_edges():
    assert b62encode(0, 3) == "000"
    assert b62encode(61, 1) == "z"
    assert b62encode(62, 2) == "10"
    with pytest.raises(ValueError):
        b62encode(62**3, 3)
    # the checksum always fits its 6 characters
    assert 62**CHECKSUM_LEN > 2**32
    assert b62encode(2**32 - 1, CHECKSUM_LEN)


@pytest.mark.usefixtures("fast_argon2")
async def test_a_fake_seeded_secret_is_refused_as_malformed_before_any_lookup(service):
    """What verify does with the snapshots' secrets: the key exists and its hash matches the fake
    secret, but the checksum step refuses it first (a typo never reaches the database)."""
    service.keygen = SeededKeyGenerator(4)  # fake secrets, as the snapshots get
    created = await service.create("fake one", Environment.TEST)
    assert created.secret.reveal().startswith("cu_test_sk_FAKE")
    result = await service.verify(created.key.client_id, created.secret)
    assert not result.ok and result.reason == "malformed"
