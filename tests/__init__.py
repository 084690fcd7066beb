"""The test suite. Every folder is a package (imports are `tests.helpers...` and, within a folder,
relative), so test files may share a name across folders. Shared helpers: tests/helpers/."""
