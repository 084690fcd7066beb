"""The app: the environment reactive, the injected service, the store opened on mount and closed
on unmount, styles, bindings and palette commands. Screens do the rest; SQL lives in the core."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from changeup_tui.core import hashing
from changeup_tui.core.config import Settings
from changeup_tui.core.context import Clock, utc_now
from changeup_tui.core.credentials import KeyGenerator
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, ApiKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.tui.clipboard import Copier
from changeup_tui.tui.paths import style
from changeup_tui.tui.screens.api_keys import ApiKeysScreen

# Start-up does nothing before the first frame that can wait: the first frame is the API Key
# page, so only it is imported here. The other screens, the modals and the palette provider are
# imported where they are first used (bench/startup.py).

PROG = "changeup-tui"


def _palette_commands() -> type[Provider]:
    from changeup_tui.tui.commands import ChangeupCommands

    return ChangeupCommands


class ChangeupApp(App[int]):
    TITLE = "ChangeUp"
    CSS_PATH: ClassVar[list[Path]] = [style("header.tcss")]
    """The header, on every screen; each screen and modal names its own (loaded on its first
    push)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "profile_menu", "Profile Menu"),
        Binding("e", "toggle_environment", "Live/Test"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    COMMANDS = App.COMMANDS | {_palette_commands}

    environment: reactive[Environment] = reactive(Environment.TEST, init=False)
    account_name: reactive[str] = reactive("")

    def __init__(
        self, service: KeyService, copier: Copier | None = None, *, clipboard_clear_seconds: int = 0
    ) -> None:
        super().__init__()
        self.service = service
        self.copier = copier or Copier()
        self.startup_error: str | None = None
        self.clipboard_clear_seconds = clipboard_clear_seconds
        self._clipboard_pending: tuple[bytes, bool] | None = None
        self._clipboard_timer: Timer | None = None

    @property
    def read_only(self) -> bool:
        return self.service.read_only

    # -- lifecycle -----------------------------------------------------------------------------

    async def on_mount(self) -> None:
        try:
            await self.service.store.open()
            environment = await self.service.environment()
            account = await self.service.account()
        except StoreError as exc:
            self.startup_error = str(exc)
            self.exit(return_code=2)
            return
        self.set_reactive(ChangeupApp.environment, environment)
        self.account_name = account.display_name
        if self.read_only:
            self.sub_title = "read-only"
        # Only the API Key page: Account Settings, under it, is built when Escape goes up to it.
        self.push_screen(ApiKeysScreen())

    async def on_unmount(self) -> None:
        pending, self._clipboard_pending = self._clipboard_pending, None
        if pending is not None:  # quitting before the delay: clear now, on the same terms
            await self.copier.clear_if_unchanged(self, pending[0], local=pending[1])
        await self.service.store.close()

    # -- the clipboard, cleared after a delay (--clear-clipboard) -----------------------------

    def clear_clipboard_later(self, mark: bytes, *, local: bool) -> int:
        """After a Secret Key was copied (`mark`: its fingerprint, never the secret), clear the
        clipboard in `clipboard_clear_seconds`, only where it still holds the secret. Returns
        the delay, 0 when clearing is off."""
        seconds = self.clipboard_clear_seconds
        if seconds <= 0:
            return 0
        if self._clipboard_timer is not None:
            self._clipboard_timer.stop()
        self._clipboard_pending = (mark, local)
        self._clipboard_timer = self.set_timer(seconds, self._clear_clipboard)
        return seconds

    @work(exclusive=True, group="clipboard-clear")
    async def _clear_clipboard(self) -> None:
        pending, self._clipboard_pending = self._clipboard_pending, None
        if pending is not None:
            message = await self.copier.clear_if_unchanged(self, pending[0], local=pending[1])
            self.notify(message, title="Clipboard", markup=False)

    def watch_environment(self, environment: Environment) -> None:
        self._remember_environment(environment)

    @work(exclusive=True, group="remember-environment")
    async def _remember_environment(self, environment: Environment) -> None:
        try:
            await self.service.set_environment(environment)
        except StoreError as exc:
            self.notify(str(exc), title="Environment not remembered", severity="warning",
                        markup=False)

    # -- what applies where ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"toggle_environment", "profile_menu", "help"} and isinstance(
            self.screen, ModalScreen
        ):
            return False
        if action == "screenshot" and self._secret_on_screen():
            return False
        if action == "create_key" and self.read_only:
            return None
        return True

    def _secret_on_screen(self) -> bool:
        return any(getattr(screen, "SHOWS_SECRET", False) for screen in self.screen_stack)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot" and self._secret_on_screen():
                continue
            yield command

    def selected_key(self) -> ApiKey | None:
        keys = self._find(ApiKeysScreen)
        return keys.selected_key if keys is not None else None

    def _find(self, kind: type[Screen]) -> Screen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, kind):
                return screen
        return None

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_environment(self) -> None:
        self.environment = (
            Environment.LIVE if self.environment is Environment.TEST else Environment.TEST
        )

    def action_profile_menu(self) -> None:
        self._open_profile_menu()

    @work(exclusive=True, group="profile-menu")
    async def _open_profile_menu(self) -> None:
        try:
            account = await self.service.account()
        except StoreError:
            account = None
        from changeup_tui.tui.modals.profile_menu import ProfileMenu

        choice = await self.push_screen_wait(ProfileMenu(account))
        if choice:
            await self.run_action(choice)

    async def action_account_settings(self) -> None:
        from changeup_tui.tui.screens.account_settings import AccountSettingsScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, AccountSettingsScreen):
            await self.pop_screen()
        if not isinstance(self.screen, AccountSettingsScreen):
            await self.push_screen(AccountSettingsScreen())

    async def _open_section(self, kind: type[Screen]) -> Screen:
        if not isinstance(self.screen, kind):
            await self.action_account_settings()
            await self.push_screen(kind())
        return self.screen

    async def action_api_keys(self) -> None:
        await self._open_section(ApiKeysScreen)

    async def action_activity_log(self) -> None:
        from changeup_tui.tui.screens.activity_log import ActivityLogScreen

        await self._open_section(ActivityLogScreen)

    async def action_profile(self) -> None:
        from changeup_tui.tui.screens.profile import ProfileScreen

        await self._open_section(ProfileScreen)

    async def action_create_key(self) -> None:
        if not self.read_only:
            screen = await self._open_section(ApiKeysScreen)
            screen.action_create_key()

    def action_help(self) -> None:
        if not isinstance(self.screen, ModalScreen):
            from changeup_tui.tui.screens.help import HelpScreen

            self.push_screen(HelpScreen())

    async def action_copy_client_id(self) -> None:
        screen = self._find(ApiKeysScreen)
        if screen is not None:
            screen.action_copy_client_id()


def build_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    keygen: KeyGenerator | None = None,
    actor: Actor | None = None,
    copier: Copier | None = None,
) -> ChangeupApp:
    """The one way to build the app: for the CLI, the tests and the snapshots."""
    hashing.use_low_priority_threads()  # the interface gets the CPU first while argon2 runs
    service = KeyService(SQLiteStore(settings.db_path), clock=clock, keygen=keygen, actor=actor)
    return ChangeupApp(
        service, copier=copier, clipboard_clear_seconds=settings.clipboard_clear_seconds
    )


def run_tui(settings: Settings) -> int:
    """Run the TUI; its exit code (2, with one line on stderr, when the database cannot open)."""
    app = build_app(settings)
    code = app.run()
    if app.startup_error:
        sys.stderr.write(f"{PROG}: {app.startup_error}\n")
        return 2
    return code if isinstance(code, int) else (app.return_code or 0)
