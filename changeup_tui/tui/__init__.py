"""The Textual app. `changeup_tui.tui.app.run_tui(settings)` is the entry point; nothing here runs
at import time."""
