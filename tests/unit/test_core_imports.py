"""The core and the command line never import Textual (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import changeup_tui.core, changeup_tui.cli
import changeup_tui.core.service, changeup_tui.core.verifier, changeup_tui.core.store.sqlite
import changeup_tui.testing
found = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps({"textual": found, "core": "changeup_tui.core.service" in sys.modules}))
"""


def test_core_and_cli_do_not_import_textual():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(out.stdout)
    assert report["core"] is True  # the probe really imported the core
    assert report["textual"] == []


def test_the_probe_would_see_textual():
    """The check can fail: importing Textual shows up in sys.modules as the probe looks for."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys, textual; print('textual' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "True"
