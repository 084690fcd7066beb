"""Plain models: the Secret wrapper never shows itself; ApiKey's derived fields; what the records
(msgspec Structs) keep from the dataclasses they were: frozen, hashed by value, VerifyResult's
repr and equality, and reprs that hide what they hid, in Rich's rendering too."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from datetime import timedelta

import msgspec
import pytest
from rich.pretty import pretty_repr

from changeup_tui.core.config import PostgresTarget, Settings
from changeup_tui.core.models import (
    ApiKey,
    AuditEvent,
    CreatedKey,
    Environment,
    KeyQuery,
    KeyStatus,
    Secret,
    VerifiedKey,
    VerifyResult,
)
from changeup_tui.testing import FIXED_NOW, SeededKeyGenerator


@pytest.fixture
def secret() -> Secret:
    return SeededKeyGenerator(21, valid_checksum=True).secret(Environment.LIVE)


def _key(**changes) -> ApiKey:
    fields = dict(
        client_id="cu_test_ci_" + "A" * 24,
        environment=Environment.TEST,
        name="Billing",
        created_at=FIXED_NOW,
        created_by="ops",
        hint="wxyz",
    )
    fields.update(changes)
    return ApiKey(**fields)


def _leaks(text: str, secret: Secret) -> bool:
    raw = secret.reveal()
    return raw in text or raw[11:40] in text or raw[-10:] in text


def test_secret_repr_str_format_are_redacted(secret):
    raw = secret.reveal()
    assert raw.startswith("cu_live_sk_") and len(raw) == 60
    renderings = [
        repr(secret),
        str(secret),
        format(secret),
        format(secret, ">80"),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret:s}",
        "%s" % secret,  # noqa: UP031
        "%r" % secret,  # noqa: UP031
        "{}".format(secret),  # noqa: UP032
        "{0!r}".format(secret),  # noqa: UP030, UP032
        repr([secret]),
        repr({"k": secret}),
        repr(CreatedKey(key=_key(), secret=secret, secret_id=1)),
        str(CreatedKey(key=_key(), secret=secret, secret_id=1)),
    ]
    for text in renderings:
        assert "********" in text
        assert not _leaks(text, secret), text


def test_secret_not_in_logs_or_tracebacks_with_locals(secret, caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("changeup.test").info("created %s / %r", secret, secret)
    assert caplog.records
    assert not _leaks(caplog.text, secret)

    def crash(api_secret):
        raise RuntimeError("boom")

    try:
        crash(secret)
    except RuntimeError as exc:
        rendered = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert "api_secret" in rendered  # the local was printed...
    assert not _leaks(rendered, secret)  # ...redacted


def test_secret_cannot_be_pickled_or_copied(secret):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(secret, protocol=protocol)
    with pytest.raises(TypeError):
        pickle.dumps(CreatedKey(key=_key(), secret=secret, secret_id=1))
    with pytest.raises(TypeError):
        copy.copy(secret)


def test_secret_has_no_instance_dict(secret):
    assert not hasattr(secret, "__dict__")
    with pytest.raises(AttributeError):
        secret.other = 1  # type: ignore[attr-defined]


def test_secret_equality_and_hint(secret):
    same = Secret(secret.reveal())
    other = SeededKeyGenerator(22, valid_checksum=True).secret(Environment.LIVE)
    assert secret == same
    assert hash(secret) == hash(same)
    assert secret != other
    assert secret != secret.reveal()  # never equal to a plain string
    assert secret.hint == secret.reveal()[-4:]
    assert len(secret.hint) == 4


def test_masked_secret():
    assert _key(hint="wxyz").masked_secret == "cu_test_sk_…wxyz"
    assert (
        _key(environment=Environment.LIVE, client_id="cu_live_ci_" + "B" * 24, hint="0a1B").masked_secret
        == "cu_live_sk_…0a1B"
    )


@pytest.mark.parametrize(
    "status,expires,expected",
    [
        (KeyStatus.ACTIVE, None, "active"),
        (KeyStatus.ACTIVE, FIXED_NOW + timedelta(seconds=1), "active"),
        (KeyStatus.ACTIVE, FIXED_NOW, "expired"),
        (KeyStatus.ACTIVE, FIXED_NOW - timedelta(days=1), "expired"),
        (KeyStatus.DISABLED, None, "disabled"),
        (KeyStatus.DISABLED, FIXED_NOW - timedelta(days=1), "disabled"),
        (KeyStatus.REVOKED, None, "revoked"),
        (KeyStatus.REVOKED, FIXED_NOW - timedelta(days=1), "revoked"),
    ],
)
def test_api_key_state(status, expires, expected):
    key = _key(status=status, expires_at=expires)
    assert key.state(FIXED_NOW) == expected
    assert key.is_expired(FIXED_NOW) is (expires is not None and expires <= FIXED_NOW)


def test_api_key_is_frozen():
    key = _key()
    with pytest.raises(AttributeError):
        key.name = "other"  # type: ignore[misc]


def test_verify_result_truthiness_and_repr_hides_key():
    ok = VerifyResult(True, "ok", _key())
    no = VerifyResult(False, "wrong_secret")
    assert ok and not no
    assert "Billing" not in repr(ok)


def test_environment_parse_and_label():
    assert Environment.parse(" LIVE ") is Environment.LIVE
    assert Environment.parse("test") is Environment.TEST
    assert Environment.LIVE.label == "Live"
    with pytest.raises(ValueError, match="live"):
        Environment.parse("prod")


def test_frozen_models_refuse_assignment_and_new_attributes():
    records = [
        _key(),
        AuditEvent(FIXED_NOW, "ops", "local", "key.created"),
        KeyQuery(),
        VerifyResult(False, "malformed"),
        Settings(PostgresTarget("postgresql://h/db")),
    ]
    for record in records:
        name = type(record).__struct_fields__[0]
        before = getattr(record, name)
        with pytest.raises(AttributeError):
            setattr(record, name, "other")
        with pytest.raises(AttributeError):
            record.other = 1  # type: ignore[union-attr]
        assert getattr(record, name) == before
        assert not hasattr(record, "__dict__")


def test_equal_models_hash_equal():
    a, b = _key(expires_at=FIXED_NOW), _key(expires_at=FIXED_NOW)
    assert a is not b and a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    renamed = msgspec.structs.replace(a, name="Other")
    assert renamed != a and renamed.name == "Other" and a.name == "Billing"
    assert {a: 1}.get(renamed) is None
    # Same fields, other type: not equal (as with dataclasses).
    assert VerifiedKey(a.client_id, a.name, a.environment) != (a.client_id, a.name, a.environment)


def test_verify_result_repr_hides_key_and_equality_ignores_verified():
    key = _key()
    accepted = VerifyResult.accepted(key)
    assert accepted.verified == VerifiedKey(key.client_id, key.name, key.environment)
    for text in (repr(accepted), str(accepted), pretty_repr(accepted), pretty_repr([accepted])):
        assert "VerifyResult(ok=True, reason='ok')" in text, text
        assert key.client_id not in text and "Billing" not in text, text
    elsewhere = VerifiedKey("cu_test_ci_" + "B" * 24, "x", Environment.TEST)
    other_identity = VerifyResult(True, "ok", key, elsewhere)
    assert accepted == other_identity and not accepted != other_identity
    assert hash(accepted) == hash(other_identity)
    assert accepted == VerifyResult(True, "ok", key)  # `verified` left out, as compare=False did
    assert accepted != VerifyResult(True, "ok", _key(name="Other"))  # `key` still compared
    assert accepted != VerifyResult(False, "ok", key)
    assert VerifyResult(False, "wrong_secret") == VerifyResult(False, "wrong_secret")
    assert accepted != (True, "ok", key, accepted.verified)


def test_postgres_target_never_shows_its_password():
    target = PostgresTarget("postgresql://ops:hunter2@db.example/keys")
    settings = Settings(target)
    renderings = [repr(target), str(target), pretty_repr(target), repr(settings), pretty_repr(settings),
                  pretty_repr({"target": target})]
    for text in renderings:
        assert "hunter2" not in text, text
        assert "db.example" in text, text
    assert target.url.endswith("hunter2@db.example/keys")  # the driver still gets it
