"""No core dumps: a process that holds a Secret Key in memory (the reveal modal, `keys create`,
`verify`) must not leave it in a core file, nor let another process of the same user read its
memory. The command line calls `make_non_dumpable()` first thing, for the TUI and every
subcommand, for the whole life of the process:

- RLIMIT_CORE 0 (soft and hard): no core file, wherever the kernel's core_pattern points, and
  none from the programs it starts (the clipboard helpers) either;
- on Linux, prctl(PR_SET_DUMPABLE, 0): no core even through a core_pattern pipe, and
  /proc/PID/mem and ptrace are closed to other processes of the same user.

Neither can fail in a way that matters to the operator: where the platform has no such call, the
step is skipped, and the result says which steps took effect."""

from __future__ import annotations

import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def make_non_dumpable() -> dict[str, bool]:
    """Returns {"rlimit_core": done, "prctl": done}."""
    done = {"rlimit_core": False, "prctl": False}
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        done["rlimit_core"] = True
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            done["prctl"] = libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
    return done


def is_dumpable() -> bool | None:
    """The process's dumpable flag on Linux (None elsewhere): for tests and diagnostics."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return bool(ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
