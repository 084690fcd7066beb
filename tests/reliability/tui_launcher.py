"""Launch the real app for the crash-report tests (run as a script in a pseudo-terminal):

    python tui_launcher.py DB SEED MODE

The app is built by the real factory, `build_app`, with SeededKeyGenerator(SEED), so the test
knows the Secret Key the first create will show. MODE forces a crash while the reveal modal is
open:

- "timer": a timer started when the reveal modal mounts raises RuntimeError.
- "copy": the clipboard fails with an unexpected exception when "Copy Secret Key" is pressed
  (the frames between the modal and the clipboard hold the secret's text).

Nothing here keeps the secret in a local variable of its own: what a crash report shows comes
from the app's frames."""

from __future__ import annotations

import sys
from pathlib import Path

from changeup_tui.core.config import Settings
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.app import build_app
from changeup_tui.tui.clipboard import Copier
from changeup_tui.tui.modals.reveal_modal import RevealModal

CRASH_MESSAGE = "forced crash with the reveal modal open"


class ExplodingCopier(Copier):
    async def copy(self, app, text):
        del text  # this test double holds no copy of the secret
        raise RuntimeError(CRASH_MESSAGE)


def main() -> int:
    db, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    copier = ExplodingCopier() if mode == "copy" else Copier(environ={"SSH_CONNECTION": "x"})
    if mode == "timer":
        original = RevealModal.on_mount

        def on_mount(self) -> None:
            original(self)
            self.set_timer(1.0, self._forced_crash)

        def _forced_crash(self) -> None:
            raise RuntimeError(CRASH_MESSAGE)

        RevealModal.on_mount = on_mount
        RevealModal._forced_crash = _forced_crash
    app = build_app(Settings(Path(db)), keygen=SeededKeyGenerator(seed), copier=copier)
    code = app.run()
    return code if isinstance(code, int) else (app.return_code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
