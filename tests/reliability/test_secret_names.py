"""A Secret Key pasted as a name, through the command line and the Python API: refused with a
message that says why and never repeats it; nothing reaches the database (the key, its audit
trail, the -wal file)."""

from __future__ import annotations

import pytest

from changeup_tui.core.errors import InvalidName
from changeup_tui.core.models import Environment
from tests.helpers.processes import run_cli as cli

SECRET_LIKE = "cu_test_sk_" + "Mn4" * 16 + "k"
PIECE = SECRET_LIKE[11:31]


def database_bytes(db) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())


@pytest.mark.parametrize(
    "name",
    [f"prod {SECRET_LIKE[:40]}", f"{SECRET_LIKE[:30]}…", f"key={SECRET_LIKE[:20]}"],
    ids=["surrounded", "truncated", "glued"],
)
def test_cli_create_refuses_a_secret_shaped_name(tmp_path, name):
    db = tmp_path / "data" / "c.db"
    line = cli("keys", "create", "--name", name, "--env", "test", db=db).assert_one_line_error(2)
    assert "looks like a Secret Key" in line
    assert SECRET_LIKE[11:20] not in line
    assert not db.exists() or PIECE[:9].encode() not in database_bytes(db)


def test_cli_rename_refuses_a_secret_shaped_name_and_the_audit_stays_clean(tmp_path):
    db = tmp_path / "data" / "c.db"
    created = cli("keys", "create", "--name", "billing", "--env", "test", "--json", db=db)
    assert created.code == 0, created.stderr
    client_id = created.stdout.split('"client_id": "')[1].split('"')[0]
    line = cli("keys", "rename", client_id, "--name", f"note {SECRET_LIKE[:45]}",
               db=db).assert_one_line_error(2)
    assert "looks like a Secret Key" in line and "roll" in line
    assert PIECE.encode() not in database_bytes(db)
    audit = cli("audit", "--json", db=db)
    assert audit.code == 0 and PIECE not in audit.stdout and "key.renamed" not in audit.stdout


async def test_python_api_refuses_a_secret_shaped_name(service, db_path):
    created = await service.create("billing", Environment.TEST)
    for call in (
        lambda: service.create(SECRET_LIKE, Environment.TEST),
        lambda: service.rename(created.key.client_id, f"x {SECRET_LIKE}"),
        lambda: service.check_name(SECRET_LIKE.upper(), Environment.LIVE),
    ):
        with pytest.raises(InvalidName, match="looks like a Secret Key") as info:
            await call()
        assert PIECE not in str(info.value)
    assert PIECE.encode() not in database_bytes(db_path)
