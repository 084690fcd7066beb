"""The widgets, one per module: import each from its own module."""
