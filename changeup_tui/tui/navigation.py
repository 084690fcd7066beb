"""Where Escape, the palette and the profile menu lead: Account Settings, with its sections (API Key,
Activity Log, Profile) each opened on top of it, as the breadcrumb says. The screens are imported
when first opened: start-up builds only the API Key page."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from changeup_tui.core.errors import StoreError

if TYPE_CHECKING:
    from changeup_tui.tui.app import ChangeupApp
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

S = TypeVar("S", bound=Screen)


async def account_settings(app: ChangeupApp) -> None:
    """Back down the stack to Account Settings, or to it opened over the first screen (the API
    Key page: the app's default screen, which stays at the bottom of the stack)."""
    from changeup_tui.tui.screens.account_settings import AccountSettingsScreen

    while len(app.screen_stack) > 1 and not isinstance(app.screen, AccountSettingsScreen):
        await app.pop_screen()
    if not isinstance(app.screen, AccountSettingsScreen):
        await app.push_screen(AccountSettingsScreen())


async def open_section(app: ChangeupApp, kind: type[S]) -> S:
    """The section `kind`: the current screen if it is one, else opened over Account Settings;
    the API Key page, which is the first screen under Account Settings, by going back to it."""
    if not isinstance(app.screen, kind):
        await account_settings(app)
        if isinstance(app.screen_stack[0], kind) and len(app.screen_stack) == 2:
            # Not awaited: this runs in Account Settings' own handler (its Enter), and the pop
            # waits for that screen to finish; the app awaits it after.
            app.pop_screen()
        else:
            await app.push_screen(kind())
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


def keys_page(app: ChangeupApp) -> ApiKeysScreen | None:
    """The API Key page that the screens above it were opened from (a key's details, its
    Activity Log): None once Account Settings covers it."""
    from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

    for screen in reversed(app.screen_stack):
        if isinstance(screen, AccountSettingsScreen):
            return None
        if isinstance(screen, ApiKeysScreen):
            return screen
    return None


async def activity_log(app: ChangeupApp) -> None:
    from changeup_tui.tui.screens.activity_log import ActivityLogScreen

    await open_section(app, ActivityLogScreen)


async def profile(app: ChangeupApp) -> None:
    from changeup_tui.tui.screens.profile import ProfileScreen

    await open_section(app, ProfileScreen)


async def profile_menu(app: ChangeupApp) -> None:
    """The profile menu (the account's name when it can be read); then the action chosen."""
    from changeup_tui.tui.modals.profile_menu import ProfileMenu

    try:
        account = await app.service.account()
    except StoreError:
        account = None
    choice = await app.push_screen_wait(ProfileMenu(account))
    if choice:
        await app.run_action(choice)


async def quit_unless_a_secret_is_lost(app: ChangeupApp) -> None:
    """While a Secret Key that was not copied is on screen, the reveal modal asks first (as
    Escape does); the app quits only on yes."""
    from changeup_tui.tui.modals.reveal_modal import RevealModal

    for screen in reversed(app.screen_stack):
        if isinstance(screen, RevealModal) and not await screen.may_close():
            return
    app.exit()
