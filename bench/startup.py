"""Time to keys: how long the operator waits, from starting `changeup-tui --db DB` until the first
key's Client ID is on screen, at 100 and at 100,000 keys, against a bare Textual app's first frame
(Header, Label, Footer): `python bench/startup.py [--quick] [--runs N]`.

The app starts in the environment the operator last chose, so each size is measured twice: in Test
(a fresh HOME that remembers nothing) and in Live (a HOME where the app's own code remembered Live
first). Live draws the page in its own colours (the `-live` classes).

Every program runs as a whole process (interpreter start, imports, everything) in a pseudo-terminal
of 120x35 through pexpect. Its output is fed to a terminal emulator (pyte); the clock starts just
before the spawn and stops when the screen shows what is waited for: for the app, a Client ID (the
first page of keys is drawn in one frame, so the first Client ID shows with it); for the bare app,
its label. The program is then sent Ctrl+Q (all quit on it) and, failing that, SIGTERM.

Runs are interleaved (bare, 100 keys in Test, in Live, 100,000 keys in Test, in Live, bare, ...)
after one unmeasured run of each, so a burst of machine noise hits all alike; the figures are
medians of 21 runs. Budget: 1.5x the bare app, at each size and in each environment. Each ratio
is printed with how far it moves when the same runs are drawn again (a bootstrap: 5th to 95th
percentile): on a shared 2-core VM about ±0.15x at 21 runs, which is how far one run's verdict
can be from the next run's.

A/B comparisons: `--variant NAME=DIR` adds `python -m changeup_tui` run from another copy of the
package (DIR holds `changeup_tui/` and `styles/`, e.g. `git archive REV changeup_tui styles | tar
-x -C DIR`) to the same interleaved rotation; its medians and ratios are printed for information
(no RESULT line). Every program then runs as `python -m changeup_tui`, so they start alike."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import _common
import pexpect
import pyte
import seed as seeding

BUDGET_RATIO = 1.5
COLUMNS, LINES = 120, 35
TIMEOUT_S = 30.0
CLIENT_ID = re.compile(r"cu_(live|test)_ci_[0-9A-Za-z]{24}")
ENVIRONMENTS = ("Test", "Live")
"""Where the app starts: the operator's last choice (Test when none is remembered)."""
BARE_LABEL = "A bare Textual app: a header, a label and a footer."

BARE_APP = textwrap.dedent(
    f"""
    from textual.app import App
    from textual.widgets import Footer, Header, Label


    class Bare(App):
        TITLE = "ChangeUp"

        def compose(self):
            yield Header()
            yield Label({BARE_LABEL!r})
            yield Footer()


    if __name__ == "__main__":
        Bare().run()
    """
)


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    shown: re.Pattern[str]
    """What on screen ends the wait."""
    env: dict[str, str]
    title: str | None = None
    """What the screen must also show by then (the page's title, which names the environment):
    a run in the wrong environment stops the bench instead of giving a figure."""


def app_argv(db: Path, *, module: bool) -> list[str]:
    """The installed console script when there is one (what an operator runs), else -m."""
    script = Path(sys.executable).with_name("changeup-tui")
    if script.exists() and not module:
        return [str(script), "--db", str(db)]
    return [sys.executable, "-m", "changeup_tui", "--db", str(db)]


@dataclass(frozen=True)
class Run:
    wall: float
    """Seconds from spawn until the screen showed what is waited for."""
    cpu: float | None
    """CPU seconds the process (all its threads) had used by then (Linux /proc; else None): less
    sensitive than `wall` to other work on the machine, for A/B comparisons."""


def remember_live(env: dict[str, str]) -> None:
    """Live as the operator's remembered choice, written by the app's own code where the app
    will read it under `env`."""
    code = ("from changeup_tui.core.models import Environment\n"
            "from changeup_tui.core.operator_state import OperatorState\n"
            "OperatorState().set_environment(Environment.LIVE)\n")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def ratio_interval(walls: list[float], bare: list[float], resamples: int = 2000,
                   ) -> tuple[float, float]:
    """How far the ratio of medians moves when the same runs are drawn again (a bootstrap, with
    a fixed seed): 5th and 95th percentiles. On a shared machine the runs spread widely, and one
    run's ratio can be this far from the next run's."""
    draw = random.Random(0).choices
    ratios = sorted(_common.median(draw(walls, k=len(walls))) / _common.median(draw(bare, k=len(bare)))
                    for _ in range(resamples))
    return ratios[resamples // 20], ratios[resamples - 1 - resamples // 20]


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def time_to_screen(program: Program) -> Run:
    """From spawn until the screen shows `program.shown`; the process is then made to quit."""
    screen = pyte.Screen(COLUMNS, LINES)
    stream = pyte.ByteStream(screen)
    t0 = _common.now()
    child = pexpect.spawn(program.argv[0], program.argv[1:], env=program.env,
                          dimensions=(LINES, COLUMNS), timeout=None)
    try:
        while True:
            if _common.now() - t0 > TIMEOUT_S:
                raise TimeoutError(f"{program.name}: nothing awaited on screen after "
                                   f"{TIMEOUT_S:.0f} s:\n{_text(screen)}")
            try:
                data = child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise RuntimeError(
                    f"{program.name} ({' '.join(program.argv)}) exited before showing what is "
                    f"waited for:\n{_text(screen)}"
                ) from None
            stream.feed(data)
            if any(program.shown.search(line) for line in screen.display):
                wall = _common.now() - t0
                run = Run(wall, _cpu_seconds(child.pid))
                if program.title and not any(program.title in line for line in screen.display):
                    raise RuntimeError(f"{program.name}: {program.title!r} is not on the screen:"
                                       f"\n{_text(screen)}")
                return run
    finally:
        _quit(child)


def _text(screen: pyte.Screen) -> str:
    return "\n".join(line.rstrip() for line in screen.display if line.strip())


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


def _variant(text: str) -> tuple[str, Path]:
    name, equals, folder = text.partition("=")
    path = Path(folder).resolve()
    if not equals or not name or not (path / "changeup_tui" / "__init__.py").is_file():
        raise SystemExit(f"--variant {text!r}: NAME=DIR, with DIR/changeup_tui a package")
    return name, path


def main() -> int:
    p = _common.parser("Time until the first key shows in changeup-tui vs a bare Textual app.")
    p.add_argument("--sizes", type=int, nargs="+", help="keys per database (100 100000; "
                   "--quick: 100 10000)")
    p.add_argument("--runs", type=int, help="measured runs of each program (21; --quick: 3)")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                   help="also run another copy of the package (A/B), see the module docstring")
    args = p.parse_args()
    sizes = args.sizes or ([100, 10_000] if args.quick else [100, 100_000])
    runs = args.runs or (3 if args.quick else 21)
    variants = [_variant(text) for text in args.variant]
    report = _common.Report("startup", args.quick)
    report.header(f"time until the first Client ID shows, {COLUMNS}x{LINES} pty, "
                  f"{', '.join(f'{n:,}' for n in sizes)} keys, in Test and in Live, "
                  f"medians of {runs} interleaved runs")
    if not _common.tui_available():
        print("startup: changeup_tui.tui.app does not exist: nothing to measure", file=sys.stderr)
        return 2
    with _common.workdir("startup") as folder:
        envs = {}
        for environment in ENVIRONMENTS:
            home = folder / f"home-{environment.lower()}"
            home.mkdir()
            envs[environment] = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(home),  # nothing of the real user's is read or written
                "TERM": "xterm-256color",
                "COLORTERM": "truecolor",
                "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8",
            }
        remember_live(envs["Live"])
        bare = folder / "bare_app.py"
        bare.write_text(BARE_APP)
        programs = [Program("bare", [sys.executable, str(bare)], re.compile(re.escape(BARE_LABEL)),
                            envs["Test"])]
        for n in sizes:
            db = seeding.seed(folder / f"keys-{n}.db", n).path
            for environment, env in envs.items():
                title = f"{environment} API Keys"
                programs.append(Program(f"app {n:,} {environment}",
                                        app_argv(db, module=bool(variants)), CLIENT_ID, env,
                                        title))
                for name, path in variants:
                    programs.append(Program(f"{name} {n:,} {environment}",
                                            app_argv(db, module=True), CLIENT_ID,
                                            {**env, "PYTHONPATH": str(path)}, title))
        for program in programs:  # one unmeasured run each: OS cache, .pyc, first-run write
            time_to_screen(program)
        results: dict[str, list[Run]] = {program.name: [] for program in programs}
        for _ in range(runs):
            for program in programs:
                results[program.name].append(time_to_screen(program))
    med = {name: _common.median([r.wall for r in rs]) for name, rs in results.items()}
    for name, rs in results.items():
        shown = ", ".join(f"{r.wall * 1000:.0f}" for r in rs)
        vs_bare = f"{med[name] / med['bare']:.2f}x" if name != "bare" else "     "
        cpus = [r.cpu for r in rs if r.cpu is not None]
        cpu = f"cpu {_common.median(cpus) * 1000:4.0f} ms" if cpus else ""
        report.line(f"{name:<20} median {_common.ms(med[name]):>9}  {vs_bare}  min "
                    f"{min(r.wall for r in rs) * 1000:4.0f} ms  {cpu}  (runs, ms: {shown})")
    report.line(f"app command: {' '.join(programs[1].argv[:-1])} DB")
    bare_walls = [r.wall for r in results["bare"]]
    for name, rs in results.items():
        if name != "bare":
            low, high = ratio_interval([r.wall for r in rs], bare_walls)
            report.line(f"{name:<20} {med[name] / med['bare']:.2f}x, 90 % of resamples of these "
                        f"runs {low:.2f}x to {high:.2f}x")
    for n in sizes:
        for environment in ENVIRONMENTS:
            ratio = med[f"app {n:,} {environment}"] / med["bare"]
            report.budget(f"app/bare time to keys at {n:,} keys in {environment}", ratio,
                          BUDGET_RATIO, f"{BUDGET_RATIO}x")
    return report.exit_code()


if __name__ == "__main__":
    _common.run_main(main)
