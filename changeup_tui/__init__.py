"""changeup-tui: a terminal console for ChangeUp-style API keys, and the store that verifies them."""

__version__ = "0.1.0"
