"""Child processes that die with their parent, however the parent dies.

Linux's PR_SET_PDEATHSIG delivers a signal to the child when the thread that started it exits, SIGKILL
included; the child checks its parent right after setting it, so a parent that died in between is caught
too. Elsewhere (no prctl) this does nothing and the supervisor's own shutdown path is the only guard.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child gets `sig` when this process dies."""
    parent = os.getpid()

    def preexec() -> None:
        libc_name = ctypes.util.find_library("c")
        if libc_name is None:
            return
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec
