"""Worker processes that end with the process that started them.

A pool's workers outlive a parent killed with SIGKILL (no clean-up runs in it), and keep
the pool's resource tracker alive with them. Every pool of the project starts its workers
with ``die_with_parent`` as the initializer: on Linux the kernel sends them SIGKILL when
their parent exits, however it exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have the kernel kill this process when its parent exits (Linux; elsewhere nothing
    to ask for). ``parent_pid``: the expected parent; if it is already gone, exit now."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request above was made


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class TerminateAsInterrupt:
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread as Ctrl-C
    does, so that a long-running command stopped by ``kill`` or a job scheduler runs its
    clean-up (workers ended and reaped, progress written) instead of vanishing. The
    previous handler comes back on leaving; elsewhere than the main thread it does
    nothing."""

    def __enter__(self):
        self._old = None
        try:
            self._old = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            pass
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        return False
