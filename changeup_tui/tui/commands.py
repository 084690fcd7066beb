"""The command palette's own commands, with titles that follow the state (Switch to Live or to
Test; Copy Client ID only when a key is selected; nothing that writes on a read-only database).
Over a modal it offers nothing: the modal's own buttons say what can be done there."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from changeup_tui.core.models import Environment


class ChangeupCommands(Provider):
    def _commands(self) -> Iterator[tuple[str, str, Callable]]:
        app = self.app
        if isinstance(self.screen, ModalScreen):
            return
        if not app.read_only:
            yield ("Create New API Key", "Name a new key in the current environment",
                   app.action_create_key)
        other = Environment.LIVE if app.environment is Environment.TEST else Environment.TEST
        yield (f"Switch to {other.label}", f"Show and create {other.label} keys",
               app.action_toggle_environment)
        yield ("Account Settings", "Profile, API Key and Activity Log", app.action_account_settings)
        yield ("API Key", "The API keys of the current environment", app.action_api_keys)
        yield ("Activity Log", "Who did what, newest first", app.action_activity_log)
        yield ("Profile", "Display name, email, organisation", app.action_profile)
        if app.selected_key() is not None:
            yield ("Copy Client ID of the selected key", "Copy the highlighted key's Client ID",
                   app.action_copy_client_id)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
