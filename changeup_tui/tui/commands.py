"""The command palette's own commands, with titles that follow the state (Switch to Live or to
Test; Copy Client ID only when a key is selected; nothing that writes on a read-only database).
Over a modal it offers nothing: the modal's own buttons say what can be done there."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from changeup_tui.core.models import Environment
from changeup_tui.tui.typed_app import changeup_app


class ChangeupCommands(Provider):
    def _commands(self) -> Iterator[tuple[str, str, Callable]]:
        app = changeup_app(self)
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
        yield from self._key_commands()
        yield ("Reload", "Read this page's data again (ctrl+r)", app.action_reload)
        yield ("Help: keyboard shortcuts", "Every key of every screen", app.action_help)

    def _key_commands(self) -> Iterator[tuple[str, str, Callable]]:
        """The API Key page's actions, offered only where its check_action allows them (the same
        rule that shows or hides their keys in the footer). Titles never hold a key's name: the
        palette parses its titles as markup."""
        from changeup_tui.tui.screens.api_keys import ApiKeysScreen

        screen = self.screen
        if not isinstance(screen, ApiKeysScreen):
            return
        include = screen.include_revoked
        for action, title, help_text in (
            ("roll_key", "Roll the selected key",
             "A new Secret Key; the old one works for a grace period you choose"),
            ("revoke_key", "Revoke the selected key", "Immediate and final"),
            ("disable_key", "Disable the selected key", "Refused until enabled again"),
            ("enable_key", "Enable the selected key", "It verifies again"),
            ("rename_key", "Rename the selected key", "Same rules as a new name"),
            ("key_activity", "Activity Log of the selected key", "This key's events only"),
            ("filter", "Filter keys", "By name or Client ID, as you type"),
            ("cycle_sort", "Sort keys: next order", "Newest first, by name, by last used"),
            ("hide_revoked" if include else "show_revoked",
             "Hide revoked keys" if include else "Show revoked keys", "In the API Key list"),
        ):
            if screen.check_action(action, ()) is True:
                yield (title, help_text, getattr(screen, f"action_{action}"))

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
