"""Launch the real app for the crash-report tests (run as a script in a pseudo-terminal):

    python tui_launcher.py DB SEED MODE [FRAME_REPORT]

The app is built by the real factory, `build_app`, with SeededKeyGenerator(SEED), so the test
knows the Secret Key the first create will show. MODE:

- "timer": a timer started when the reveal modal mounts raises RuntimeError (a crash while the
  reveal modal is open: the crash report must not show the secret).
- "copy": the clipboard fails with an unexpected exception when "Copy Secret Key" is pressed.
  The app must catch it and stay up. At that moment the copier walks the frames that called it
  (the modal's worker and everything above) and writes to FRAME_REPORT, as JSON, per frame: the
  function, its local names, which of them show the secret (as Rich prints locals in a crash
  report, or as the plain text) and which hold it in its redacting Secret wrapper. The report
  names variables, never values.

Nothing here keeps the secret in a local variable of its own: what a crash report shows comes
from the app's frames."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.pretty import pretty_repr

from changeup_tui.core.config import Settings
from changeup_tui.core.models import Environment, Secret
from changeup_tui.testing import SeededKeyGenerator
from changeup_tui.tui.app import build_app
from changeup_tui.tui.clipboard import Copier
from changeup_tui.tui.modals.reveal_modal import RevealModal

CRASH_MESSAGE = "forced crash with the reveal modal open"


def _shows(value: object, seed: int) -> bool:
    """Whether `value`, printed as Textual's crash report prints locals (Rich, 5 items, strings
    cut at 80 characters) or as plain text, shows the first secret of SeededKeyGenerator(seed)."""
    secret = SeededKeyGenerator(seed, valid_checksum=True).secret(Environment.TEST)
    body = secret.reveal()[len("cu_test_sk_"):]
    if isinstance(value, str | bytes):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        if body[:16] in text or body[-16:] in text:
            return True
    try:
        shown = pretty_repr(value, max_length=5, max_string=80)
    except Exception:
        shown = ""
    return body[:16] in shown or body[-16:] in shown


def frame_report(frame, seed: int) -> list[dict]:
    report = []
    while frame is not None:
        names = sorted(frame.f_locals)
        report.append({
            "function": frame.f_code.co_qualname,
            "file": Path(frame.f_code.co_filename).name,
            "locals": names,
            "shows_secret": [n for n in names if _shows(frame.f_locals[n], seed)],
            "secret_wrappers": [n for n in names if isinstance(frame.f_locals[n], Secret)],
        })
        frame = frame.f_back
    return report


def write_frame_report(path: str, frame, seed: int) -> None:
    Path(path).write_text(json.dumps(frame_report(frame, seed), indent=1))


class ExplodingCopier(Copier):
    def __init__(self, seed: int, report_path: str | None) -> None:
        super().__init__(environ={})
        self.seed = seed
        self.report_path = report_path

    async def copy(self, app, text):
        del text  # this test double holds no copy of the secret
        if self.report_path:
            write_frame_report(self.report_path, sys._getframe().f_back, self.seed)
        raise RuntimeError(CRASH_MESSAGE)


def main() -> int:
    db, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    report_path = sys.argv[4] if len(sys.argv) > 4 else None
    if mode == "copy":
        copier = ExplodingCopier(seed, report_path)
    else:
        copier = Copier(environ={"SSH_CONNECTION": "x"})
    if mode == "timer":
        original = RevealModal.on_mount

        def on_mount(self) -> None:
            original(self)
            self.set_timer(1.0, self._forced_crash)

        def _forced_crash(self) -> None:
            raise RuntimeError(CRASH_MESSAGE)

        RevealModal.on_mount = on_mount
        RevealModal._forced_crash = _forced_crash
    app = build_app(Settings(Path(db)), keygen=SeededKeyGenerator(seed, valid_checksum=True), copier=copier)
    code = app.run()
    return code if isinstance(code, int) else (app.return_code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
