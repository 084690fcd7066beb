"""What start-up leaves for later (issue 6, bench/startup.py), and that leaving it changes nothing
an operator can see:

- launching the TUI imports neither the modals, the other screens, the palette provider nor
  argparse (checked in a fresh interpreter); they come when first used;
- a command line that only launches the TUI is read without argparse, and exactly as argparse
  would read it; anything else goes to argparse;
- the garbage collector, paused for start-up, is running again (and start-up's objects frozen)
  once the first frame is drawn;
- the styles the first frame does not use are loaded right after it."""

from __future__ import annotations

import gc
import importlib.util
import json
import subprocess
import sys

import pytest

from changeup_tui.core.config import Settings
from changeup_tui.core.models import Actor
from changeup_tui.testing import FixedClock, SeededKeyGenerator

from .support import child_env

PROBE = """
import json, sys
import changeup_tui.cli
from changeup_tui.tui.app import ChangeupApp, run_tui
print(json.dumps(sorted(sys.modules)))
"""

LATER = [
    "argparse",
    "changeup_tui.tui.commands",
    "changeup_tui.tui.modals.confirm_close",
    "changeup_tui.tui.modals.grace_picker",
    "changeup_tui.tui.modals.name_modal",
    "changeup_tui.tui.modals.profile_menu",
    "changeup_tui.tui.modals.rename_modal",
    "changeup_tui.tui.modals.reveal_modal",
    "changeup_tui.tui.modals.revoke_confirm",
    "changeup_tui.tui.screens.account_settings",
    "changeup_tui.tui.screens.activity_log",
    "changeup_tui.tui.screens.help",
    "changeup_tui.tui.screens.profile",
    "changeup_tui.tui.widgets.audit_table",
]


def test_launching_the_tui_imports_only_what_the_first_frame_needs():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=child_env(), timeout=60, check=True)
    modules = set(json.loads(out.stdout))
    assert "changeup_tui.tui.screens.api_keys" in modules  # the probe imported the first frame
    assert "textual.app" in modules
    assert sorted(set(LATER) & modules) == []


def test_the_later_modules_do_exist():
    """The list above is not blind: every name in it is a real module."""
    for name in LATER:
        assert importlib.util.find_spec(name) is not None, name


@pytest.mark.parametrize(("argv", "expected"), [
    ([], {}),
    (["--db", "x.db"], {"--db": "x.db"}),
    (["--db=x.db"], {"--db": "x.db"}),
    (["--db", "x.db", "--clear-clipboard", "30"], {"--db": "x.db", "--clear-clipboard": "30"}),
    (["--clear-clipboard=0", "--db", "a=b.db"], {"--clear-clipboard": "0", "--db": "a=b.db"}),
    (["--db", ""], {"--db": ""}),
])
def test_tui_only_command_lines_are_read_without_argparse_as_argparse_reads_them(argv, expected):
    from changeup_tui.cli import _tui_options, build_parser

    assert _tui_options(argv) == expected
    args = build_parser().parse_args(argv)
    assert args.command is None
    assert args.db == expected.get("--db") and args.clear_clipboard == expected.get(
        "--clear-clipboard"
    )


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["--version"], ["keys", "list"], ["--db", "x.db", "keys", "list"],
    ["--db"], ["--db", "--clear-clipboard", "3"], ["--db", "a", "--db", "b"], ["--d", "x.db"],
    ["--dbx", "x"], ["--clear-clipboard", "-5"], ["verify", "--client-id", "x"],
])
def test_anything_else_goes_to_argparse(argv):
    from changeup_tui.cli import _tui_options

    assert _tui_options(argv) is None


def make_app(db_path):
    from changeup_tui.tui.app import build_app
    from changeup_tui.tui.clipboard import Copier

    app = build_app(Settings(db_path), clock=FixedClock(), keygen=SeededKeyGenerator(5),
                    actor=Actor("tester", "local"), copier=Copier(environ={"SSH_TTY": "x"}))
    app.animation_level = "none"
    return app


async def test_gc_paused_for_start_up_runs_again_after_the_first_frame(db_path):
    app = make_app(db_path)
    app.gc_paused = True
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            for _ in range(100):
                if gc.isenabled():
                    break
                await pilot.pause(0.02)
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0
            assert not app.gc_paused
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


async def test_gc_left_alone_when_not_paused_for_start_up(db_path):
    app = make_app(db_path)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.pause(0.3)
            assert not gc.isenabled()  # the app only resumes what run_tui paused
    finally:
        if was_enabled:
            gc.enable()


async def test_later_styles_are_loaded_right_after_the_first_frame(db_path):
    app = make_app(db_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.3)
        sources = {location[0] for location in app.stylesheet.source}
        for path in [*app.CSS_PATH, *app.LATER_CSS_PATH]:
            assert str(path) in sources, path
        assert all(path in app.css_path for path in app.LATER_CSS_PATH)
        assert any("NameModal" in str(rule.selector_set) for rule in app.stylesheet.rules)
