from changeup_tui.tui.modals.confirm_close import ConfirmCloseModal
from changeup_tui.tui.modals.name_modal import NameModal
from changeup_tui.tui.modals.profile_menu import ProfileMenu
from changeup_tui.tui.modals.reveal_modal import RevealModal

__all__ = ["ConfirmCloseModal", "NameModal", "ProfileMenu", "RevealModal"]
