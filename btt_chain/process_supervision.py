"""Child processes that die with their parent, however the parent dies, and a spawned child the parent waits for.

Linux's PR_SET_PDEATHSIG delivers a signal to the child when the thread that started it exits, SIGKILL
included; the child checks its parent right after setting it, so a parent that died in between is caught
too. Elsewhere (no prctl) this does nothing and the supervisor's own shutdown path is the only guard.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import multiprocessing
import os
import signal
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, or None where there is none (not Linux): from the libc this process already has loaded, else
    the one `find_library` names (which runs `ldconfig`, a process of its own)."""
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        return ctypes.CDLL(libc_name, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child gets `sig` when this process dies. libc's prctl is looked up here,
    before the fork: between fork and exec, in a child of a process that may have other threads, the child only
    calls it."""
    parent = os.getpid()
    prctl = _prctl()

    def preexec() -> None:
        _request(prctl, parent, sig)

    return preexec


def die_with(parent: int, sig: int = signal.SIGTERM) -> None:
    """Called first in a child started by `run_in_spawned_child`: the kernel sends it `sig` when `parent` ends (a child
    left running would hold the node's port and database lock); exits at once if `parent` has already gone."""
    _request(_prctl(), parent, sig)


def _request(prctl: Callable[..., int] | None, parent: int, sig: int) -> None:
    if prctl is None or prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def run_in_spawned_child(target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
    """Run `target(*args, os.getpid())` in a fresh interpreter and wait for it; returns only when it exited 0 (else
    SystemExit with its exit code: its one error line is its own). A SIGTERM or Ctrl-C meanwhile stops the child too."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=(*args, os.getpid()), name=name)
    child.start()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        child.join()
    except (KeyboardInterrupt, SystemExit):
        child.terminate()
        child.join()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if child.exitcode != 0:
        raise SystemExit(child.exitcode or 1)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
