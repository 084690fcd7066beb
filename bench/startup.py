"""First frame of `changeup-tui --db DB` with 100,000 keys against a bare Textual app (Header,
Label, Footer): `python bench/startup.py [--quick]`.

Both run as whole processes (interpreter start, imports, everything) in a pseudo-terminal of
120x35 through pexpect. "First frame" is the moment the program's output, fed to a terminal
emulator (pyte), shows the marker text "ChangeUp": the app's header title, and the bare app's
header title (its TITLE is the same word). The clock starts just before the process is spawned.
After detection the program is sent Ctrl+Q (both quit on it) and, failing that, SIGTERM.
Runs alternate between the two programs; medians of several runs. Budget: 1.3x the bare app."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import _common
import pexpect
import pyte
import seed as seeding

BUDGET_RATIO = 1.3
MARKER = "ChangeUp"
COLUMNS, LINES = 120, 35
TIMEOUT_S = 30.0

BARE_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Footer, Header, Label


    class Bare(App):
        TITLE = "ChangeUp"

        def compose(self):
            yield Header()
            yield Label("A bare Textual app: a header, a label and a footer.")
            yield Footer()


    if __name__ == "__main__":
        Bare().run()
    """
)


def app_command(db: Path) -> list[str]:
    """The installed console script when there is one (what an operator runs), else -m."""
    script = Path(sys.executable).with_name("changeup-tui")
    if script.exists():
        return [str(script), "--db", str(db)]
    return [sys.executable, "-m", "changeup_tui", "--db", str(db)]


def first_frame(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn until the screen shows MARKER; the process is then made to quit."""
    screen = pyte.Screen(COLUMNS, LINES)
    stream = pyte.ByteStream(screen)
    t0 = _common.now()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(LINES, COLUMNS), timeout=None)
    try:
        while True:
            if _common.now() - t0 > TIMEOUT_S:
                raise TimeoutError(f"no {MARKER!r} on screen after {TIMEOUT_S:.0f} s: {argv[0]}")
            try:
                data = child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise RuntimeError(
                    f"{' '.join(argv)} exited before its first frame:\n"
                    + "\n".join(line.rstrip() for line in screen.display if line.strip())
                ) from None
            stream.feed(data)
            if any(MARKER in line for line in screen.display):
                return _common.now() - t0
    finally:
        _quit(child)


def _quit(child: pexpect.spawn) -> None:
    try:
        if child.isalive():
            child.send("\x11")  # Ctrl+Q
            try:
                child.expect(pexpect.EOF, timeout=3)
            except (pexpect.TIMEOUT, pexpect.EOF):
                pass
        if child.isalive():
            child.kill(signal.SIGTERM)
            child.expect(pexpect.EOF, timeout=3)
    except (pexpect.TIMEOUT, pexpect.EOF, OSError):
        pass
    finally:
        child.close(force=True)


def main() -> int:
    p = _common.parser("First frame of changeup-tui (100,000 keys) vs a bare Textual app.")
    p.add_argument("--keys", type=int, help="keys in the database (100000; --quick: 10000)")
    p.add_argument("--runs", type=int, help="runs of each program (7; --quick: 3)")
    args = p.parse_args()
    n = args.keys or (10_000 if args.quick else 100_000)
    runs = args.runs or (3 if args.quick else 7)
    report = _common.Report("startup", args.quick)
    report.header(f"first frame in a {COLUMNS}x{LINES} pty, {n:,} keys, {runs} runs each")
    if not _common.tui_available():
        print("startup: changeup_tui.tui.app does not exist: nothing to measure", file=sys.stderr)
        return 2
    with _common.workdir("startup") as folder:
        db = seeding.seed(folder / "changeup.db", n).path
        bare = folder / "bare_app.py"
        bare.write_text(BARE_APP)
        home = folder / "home"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),  # nothing of the real user's is read or written
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        programs = {"bare": [sys.executable, str(bare)], "app": app_command(db)}
        for argv in programs.values():  # one unmeasured run each: OS cache, .pyc, first-run write
            first_frame(argv, env)
        times: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(runs):
            for name, argv in programs.items():
                times[name].append(first_frame(argv, env))
    med = {name: _common.median(values) for name, values in times.items()}
    for name, values in times.items():
        shown = ", ".join(f"{v * 1000:.0f}" for v in values)
        report.line(f"{name:<5} median {_common.ms(med[name])}  (runs, ms: {shown})")
    report.line(f"app command: {' '.join(programs['app'][:1])} --db DB")
    ratio = med["app"] / med["bare"]
    report.budget("app/bare first frame", ratio, BUDGET_RATIO, f"{BUDGET_RATIO}x")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
