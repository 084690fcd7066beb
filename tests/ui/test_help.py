"""The help screen at 80x24: it scrolls with the arrow keys, its sentences wrap whole (none cut at
the dialog's edge), and it says what no binding does (the name modal's enter and tab, a Live
revoke)."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from changeup_tui.tui.screens.help import HelpScreen
from tests.helpers.pilot import started, wait_for


async def test_help_scrolls_with_arrows_and_keeps_sentences_whole_at_80(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        body = screen.query_one("#help-body", VerticalScroll)
        await wait_for(pilot, lambda: body.max_scroll_y > 0)
        assert app.focused is body

        dialog = screen.query_one("#help-dialog").content_region
        for does in screen.query(".help-does").results(Static):
            text = str(does.render())
            region = does.content_region
            assert region.x >= dialog.x and region.right <= dialog.right, text
            lines = does.render_lines(region.reset_offset)  # what the cells show, line by line
            shown = " ".join("".join(s.text for s in line).strip() for line in lines)
            assert " ".join(shown.split()) == " ".join(text.split()), (text, shown)

        await pilot.press("down", "down", "down")
        await wait_for(pilot, lambda: body.scroll_y >= 3)
        await pilot.press("end")
        await wait_for(pilot, lambda: body.scroll_y == body.max_scroll_y)
        await pilot.press("up")
        await wait_for(pilot, lambda: body.scroll_y == body.max_scroll_y - 1)

        sections = dict(screen.sections())
        name_keys = {keys for keys, _ in sections["Create New API Key"]}
        assert {"enter", "tab / shift+tab"} <= name_keys
        revoke = " ".join(what for _, what in sections["Revoke"])
        assert "Live key: type its name exactly" in revoke
        assert ("g", "End grace now") in sections["Key details"]  # the key details screen
        assert ("y", "Disable") in sections["Disable a Live key"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
