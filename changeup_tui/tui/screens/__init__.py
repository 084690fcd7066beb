from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
from changeup_tui.tui.screens.activity_log import ActivityLogScreen
from changeup_tui.tui.screens.api_keys import ApiKeysScreen
from changeup_tui.tui.screens.profile import ProfileScreen

__all__ = ["AccountSettingsScreen", "ActivityLogScreen", "ApiKeysScreen", "ProfileScreen"]
