"""No committed file holds a Secret Key that passes the checksum: a scanner run over the
repository, or push protection, would flag it as a leaked credential. The seeded generator that
the snapshots use makes secrets that start with FAKE and fail the checksum; this scan keeps every
other tracked file honest too. SVG text may be split across elements, so each file is also read
with its markup removed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from changeup_tui.core.credentials import SCANNER_REGEX, parse_secret
from changeup_tui.core.errors import InvalidCredential

ROOT = Path(__file__).resolve().parents[2]
SCANNER = re.compile(SCANNER_REGEX)
MARKUP = re.compile(r"<[^>]*>")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def is_valid_secret(text: str) -> bool:
    """What a checksum-aware scanner accepts: the format and the checksum."""
    try:
        parse_secret(text)
    except InvalidCredential:
        return False
    return True


def valid_secrets_in(text: str) -> list[str]:
    found = []
    for variant in (text, MARKUP.sub("", text)):
        found += [m.group(0) for m in SCANNER.finditer(variant) if is_valid_secret(m.group(0))]
    return list(dict.fromkeys(found))


def test_the_scan_finds_a_valid_secret():
    """The scan can fail: a valid secret, plain or split by SVG markup, is found."""
    from changeup_tui.core.models import Environment
    from changeup_tui.testing import SeededKeyGenerator

    real = SeededKeyGenerator(1, valid_checksum=True).secret(Environment.TEST).reveal()
    assert valid_secrets_in(f"x {real} y") == [real]
    assert valid_secrets_in(f'<text>{real[:20]}</text><text class="r1">{real[20:]}</text>')
    fake = SeededKeyGenerator(1).secret(Environment.TEST).reveal()
    assert valid_secrets_in(f"x {fake} y") == []


def test_no_tracked_file_holds_a_valid_secret():
    files = tracked_files()
    assert len(files) > 50
    leaks = {}
    for path in files:
        if not path.is_file():
            continue
        found = valid_secrets_in(path.read_bytes().decode("latin-1"))
        if found:
            leaks[str(path.relative_to(ROOT))] = [s[:14] + "…" for s in found]
    assert leaks == {}
