"""Every modal shows its own keys in the footer, not the page's underneath (issue 13: the page's
`n r x d` stayed visible under a modal and did nothing; the "Secret Key not copied" dialog showed
the reveal modal's `s`). Read from the picture the terminal gets (the app's screenshot): the
bottom rows hold the modal's keys and none of the page's."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen

from changeup_tui.core.models import Environment
from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
from changeup_tui.tui.modals.disable_confirm import DisableConfirm
from changeup_tui.tui.modals.grace_picker import GracePicker
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.profile_menu import ProfileMenu
from changeup_tui.tui.modals.rename_modal import RenameModal
from changeup_tui.tui.modals.revoke_confirm import RevokeConfirm
from changeup_tui.tui.screens.help import HelpScreen
from tests.helpers.pilot import SIZE, started, wait_for

from .ui_helpers import keys_table, open_reveal

_SEGMENT = re.compile(
    r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#terminal-[\w-]*?-line-(\d+)\)"[^>]*>(.*?)</text>'
)
PAGE_KEYS = ("Create New API Key", "Roll", "Rename", "Activity Log", "Filter", "Sort",
             "Account Settings", "Profile Menu", "Live/Test")
"""What the API Key page's footer says (n, r, R, a, /, o, esc, and the app's p and e) that no
modal says."""


def screen_lines(pilot: Pilot[Any]) -> list[str]:
    """The text of each row of the terminal, as the app last drew it (its SVG screenshot)."""
    svg = pilot.app.export_screenshot()
    rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for x, line, text in _SEGMENT.findall(svg):
        rows[int(line)].append((float(x), html.unescape(text).replace("\xa0", " ")))
    height = pilot.app.size.height
    return ["".join(text for _, text in sorted(rows.get(n, []))) for n in range(height)]


def bottom(pilot: Pilot[Any], rows: int = 3) -> str:
    return "\n".join(screen_lines(pilot)[-rows:])


async def _page_with_key(pilot: Pilot[Any], service: Any, environment: Environment) -> None:
    app = pilot.app
    app.environment = environment
    await started(pilot)
    await service.create("Footer key", environment)
    await wait_for(pilot, lambda: keys_table(app).row_count == 1)
    keys_table(app).focus()


async def _press_and_wait(pilot: Pilot[Any], key: str, kind: type[ModalScreen[Any]]) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), what=kind.__name__)


Opener = Callable[[Pilot[Any], Any], Awaitable[None]]


async def _name(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "n", NameModal)


async def _reveal(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await open_reveal(pilot, "Shown now")


async def _not_copied(pilot: Pilot[Any], service: Any) -> None:
    await _reveal(pilot, service)
    await _press_and_wait(pilot, "escape", ConfirmCloseModal)


async def _grace(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "r", GracePicker)


async def _revoke_test(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "x", RevokeConfirm)


async def _revoke_live(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.LIVE)
    await _press_and_wait(pilot, "x", RevokeConfirm)


async def _disable_live(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.LIVE)
    await _press_and_wait(pilot, "d", DisableConfirm)


async def _rename(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "R", RenameModal)


async def _profile(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "p", ProfileMenu)


async def _help(pilot: Pilot[Any], service: Any) -> None:
    await _page_with_key(pilot, service, Environment.TEST)
    await _press_and_wait(pilot, "question_mark", HelpScreen)


CASES: list[tuple[str, Opener, tuple[str, ...], tuple[str, ...]]] = [
    # (modal, how to open it, what its footer must show, what must not show there)
    ("name", _name, ("esc", "Cancel"), PAGE_KEYS),
    ("reveal", _reveal, ("esc", "Done", "s", "Copy Secret Key", "i", "Copy Client ID"), PAGE_KEYS),
    ("secret not copied", _not_copied, ("y", "Close anyway", "n", "Go back"),
     (*PAGE_KEYS, "Copy Secret Key", "Done")),
    ("grace", _grace, ("esc", "Cancel"), PAGE_KEYS),
    ("revoke (Test)", _revoke_test, ("y", "Revoke", "n", "Cancel"), PAGE_KEYS),
    ("revoke (Live)", _revoke_live, ("esc", "Cancel"), PAGE_KEYS),
    ("disable (Live)", _disable_live, ("y", "Disable", "n", "Cancel"), PAGE_KEYS),
    ("rename", _rename, ("esc", "Cancel"), PAGE_KEYS),
    ("profile menu", _profile, ("esc", "Close"), PAGE_KEYS),
    ("help", _help, ("esc", "Close"), PAGE_KEYS),
]


@pytest.mark.parametrize(("opener", "shown", "hidden"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_a_modal_footer_shows_its_own_keys(make_app, service, opener, shown, hidden):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opener(pilot, service)
        await pilot.pause()
        footer = bottom(pilot)
        for text in shown:
            assert text in footer, (text, footer)
        for text in hidden:
            assert text not in footer, (text, footer)
