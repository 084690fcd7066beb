"""The modal screens, one per module: import each from its own module."""
