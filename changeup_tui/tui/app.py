"""The app: the environment reactive, the injected service, the store opened on load and closed
on unmount, styles, bindings and palette commands. Screens do the rest; SQL lives in the core."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, CSSPathType, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from changeup_tui.core import hashing
from changeup_tui.core.config import Settings
from changeup_tui.core.context import Clock, current_actor, utc_now
from changeup_tui.core.credentials import KeyGenerator
from changeup_tui.core.errors import StoreError
from changeup_tui.core.models import Actor, ApiKey, Environment
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.factory import make_store
from changeup_tui.core.text import visible
from changeup_tui.core.vocabulary import PROG
from changeup_tui.tui import navigation
from changeup_tui.tui.clipboard_clear import ClipboardClearer
from changeup_tui.tui.paths import style
from changeup_tui.tui.screens.api_keys import ApiKeysScreen

if TYPE_CHECKING:
    from changeup_tui.tui.clipboard import Copier

NOT_OVER_MODALS = frozenset({"toggle_environment", "profile_menu", "help"})


def _palette_commands() -> type[Provider]:
    from changeup_tui.tui.commands import ChangeupCommands

    return ChangeupCommands


class ChangeupApp(App[int]):
    TITLE = "ChangeUp"
    CSS_PATH: ClassVar[CSSPathType | None] = [style("header.tcss"), style("api_keys.tcss")]
    """The header's, and the first screen's (a default screen's CSS_PATH is not read by Textual);
    each other screen and modal names its own, read on its first push."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "profile_menu", "Profile Menu"),
        Binding("e", "toggle_environment", "Live/Test"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+r", "reload", "Reload", show=False),
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
        self.startup_error: str | None = None
        self.clipboard_clearer = ClipboardClearer(self, copier, clipboard_clear_seconds)

    @property
    def read_only(self) -> bool:
        return self.service.read_only

    # -- lifecycle -----------------------------------------------------------------------------

    async def on_load(self) -> None:
        """The database opens before the terminal is taken over (exit 2 with one line if not)."""
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

    def get_default_screen(self) -> Screen:
        """The API Key page, whose first frame shows the keys (read in its on_mount)."""
        return ApiKeysScreen()

    async def on_unmount(self) -> None:
        await self.clipboard_clearer.clear_now()  # quitting before the delay: clear now
        await self.service.store.close()

    def clear_clipboard_later(self, mark: bytes, *, local: bool) -> int:
        """After a Secret Key was copied (`mark`: its fingerprint), see ClipboardClearer."""
        return self.clipboard_clearer.schedule(mark, local=local)

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
        if action in NOT_OVER_MODALS and isinstance(self.screen, ModalScreen):
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
        page = navigation.keys_page(self)
        return page.selected_key if page is not None else None

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_environment(self) -> None:
        self.environment = (
            Environment.LIVE if self.environment is Environment.TEST else Environment.TEST
        )

    def action_profile_menu(self) -> None:
        self.run_worker(navigation.profile_menu(self), exclusive=True, group="profile-menu")

    async def action_account_settings(self) -> None:
        await navigation.account_settings(self)

    async def action_api_keys(self) -> None:
        await navigation.open_section(self, ApiKeysScreen)

    async def action_activity_log(self) -> None:
        await navigation.activity_log(self)

    async def action_profile(self) -> None:
        await navigation.profile(self)

    async def action_create_key(self) -> None:
        if not self.read_only:
            (await navigation.open_section(self, ApiKeysScreen)).action_create_key()

    async def action_reload(self) -> None:
        """ctrl+r: a page that shows data reads it again (its own action_reload)."""
        await self.screen.run_action("reload")

    def action_help(self) -> None:
        if not isinstance(self.screen, ModalScreen):
            from changeup_tui.tui.screens.help import HelpScreen

            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """ctrl+q and the palette's Quit: see navigation.quit_unless_a_secret_is_lost."""
        self.run_worker(navigation.quit_unless_a_secret_is_lost(self), exclusive=True, group="quit")

    async def action_copy_client_id(self) -> None:
        if (page := navigation.keys_page(self)) is not None:
            page.action_copy_client_id()


def build_app(settings: Settings, *, clock: Clock = utc_now, keygen: KeyGenerator | None = None,
              actor: Actor | None = None, copier: Copier | None = None) -> ChangeupApp:
    """The one way to build the app: for the CLI, the tests and the snapshots."""
    hashing.use_low_priority_threads()  # the interface gets the CPU first while argon2 runs
    service = KeyService(make_store(settings.db_path), clock=clock, keygen=keygen,
                         actor=actor or current_actor(interface="TUI"))
    return ChangeupApp(service, copier, clipboard_clear_seconds=settings.clipboard_clear_seconds)


def run_tui(settings: Settings) -> int:
    """Run the TUI; its exit code (2, with one line on stderr, when the database cannot open)."""
    app = build_app(settings)
    code = app.run()
    if app.startup_error:
        # One line, made visible: the message may quote the path or text of the database.
        sys.stderr.write(f"{PROG}: {visible(app.startup_error)}\n")
        return 2
    return code if isinstance(code, int) else (app.return_code or 0)
