"""Run the real app in a pseudo-terminal, keep every byte it writes, and mirror the screen with
pyte, as a person's terminal would see it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

import pexpect
import pyte

from tests.helpers.processes import child_env

COLUMNS, ROWS = 120, 35

KEYS = {
    "escape": "\x1b",
    "enter": "\r",
    "down": "\x1b[B",
    "up": "\x1b[A",
    "tab": "\t",
    "ctrl+p": "\x10",
    "ctrl+q": "\x11",
}


class PtyApp:
    def __init__(
        self, argv: Sequence[str], *, env: dict[str, str] | None = None, columns: int = COLUMNS
    ) -> None:
        environment = child_env(TERM="xterm-256color", COLUMNS=None, LINES=None)
        environment.update(env or {})
        self.raw = bytearray()
        self.screen = pyte.Screen(columns, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            argv[0], list(argv[1:]), env=environment, dimensions=(ROWS, columns), encoding=None,
            timeout=30,
        )

    @classmethod
    def module(
        cls, *args: str, env: dict[str, str] | None = None, columns: int = COLUMNS
    ) -> PtyApp:
        return cls([sys.executable, "-m", "changeup_tui", *args], env=env, columns=columns)

    # -- reading -------------------------------------------------------------------------------

    def pump(self, seconds: float = 0.05) -> None:
        """Read whatever the app wrote within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            try:
                data = self.child.read_nonblocking(65536, timeout=max(left, 0.01))
            except pexpect.TIMEOUT:
                data = b""
            except pexpect.EOF:
                return
            if data:
                self.raw += data
                self.stream.feed(data)
            if time.monotonic() >= deadline:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 20.0) -> str:
        check = (lambda t: predicate in t) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.1)
            if check(self.text()):
                self.pump(0.3)  # let the frame finish
                return self.text()
            if not self.child.isalive():
                break
        raise AssertionError(
            f"the screen never showed what was expected; it shows:\n{self.text()}\n"
            f"--- last output: {bytes(self.raw[-2000:])!r}"
        )

    # -- writing -------------------------------------------------------------------------------

    def press(self, *keys: str, pause: float = 0.25) -> None:
        for key in keys:
            self.child.send(KEYS.get(key, key))
            self.pump(pause)

    def type(self, text: str) -> None:
        self.child.send(text)
        self.pump(0.3)

    # -- ending --------------------------------------------------------------------------------

    def quit(self, timeout: float = 15.0) -> int | None:
        self.press("ctrl+q")
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float = 15.0) -> int | None:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump(0.1)
        self.pump(0.1)
        if self.child.isalive():
            self.child.terminate(force=True)
            raise AssertionError(f"the app did not exit; screen:\n{self.text()}")
        self.child.close()
        if self.child.signalstatus is not None:
            return -self.child.signalstatus
        return self.child.exitstatus

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)

    def output(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="surrogateescape")
