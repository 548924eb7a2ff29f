"""Ending a node's process without Python's own teardown, once the node has closed what it opened.

After a clean stop (RPC, the network and the database closed, `stopped at #N` logged) the interpreter's teardown
still runs a full garbage collection over every object the node made (the genesis, the hash chains, caches) and
frees them one by one: measured at 0.3 s on an idle machine and 2.7-6 s beside other busy processes, all of it
after the node has finished (`Py_FinalizeEx` -> `finalize_modules` -> `_PyGC_CollectNoFail`, seen with gdb). The
operating system takes the memory back at once, so a node run from the command line ends with `os._exit` after
ending its worker processes and flushing its output.

Only where the process is the command (the `btt-chain` entry point, `cli.main.main`): a node run in-process (a
test's `CliRunner`, an embedding program) returns as before.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_entry_active = False


@contextmanager
def command_process() -> Iterator[None]:
    """The entry point runs its command inside this: the process is the command's own."""
    global _entry_active
    previous, _entry_active = _entry_active, True
    try:
        yield
    finally:
        _entry_active = previous


def end_without_teardown(code: int = 0) -> None:
    """Flush the logs and standard streams and end the process with `code`, skipping the interpreter's teardown;
    nothing (returns) outside `command_process`."""
    if not _entry_active:
        return
    # the signature workers (a process pool's, which the teardown would have joined): ended here, or they would
    # outlive the node blocked on a queue whose other end they hold themselves
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(5.0)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
