"""A node's stop on SIGTERM or Ctrl-C, bounded and explained.

The first signal starts a clean stop (`Node.run` closes RPC, the network and the database, then logs "stopped at").
A stop normally takes a second or two. This watch makes it bounded whatever part of it hangs (a task that will not
end, a thread joined at exit, an executor's shutdown):

- after `report_s` seconds the log gets what the process is waiting on: every thread's Python stack
  (`faulthandler`, which works even while the event loop is stuck) and the asyncio tasks still pending;
- after `limit_s` seconds the process exits at once with `EXIT_STOP_TIMEOUT`, saying so;
- a second signal exits at once (exit status 128 + the signal), as Substrate and Cosmos nodes do on a second Ctrl-C.

Exiting without the clean close is what a SIGKILL or a power cut does, which the database survives by design (every
block's state is committed in one atomic batch; the node resumes from the last one). A service manager's own stop
timeout (systemd's TimeoutStopSec, 90 s by default) is not reached, so the node's own line says why, not a bare kill.

On demand, whatever the node is doing: `kill -USR1 <pid>` writes every thread's Python stack to its standard error
(`dump_stacks_on_signal`; faulthandler's C-level handler, so it answers even when the event loop or the main thread
is stuck, e.g. a node that does not react to SIGTERM at all).

Only a stop asked for by a signal is watched: `Node.stop()` called in-process (tests, embedders) never exits the
process.
"""

from __future__ import annotations

import asyncio
import faulthandler
import io
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger("btt.node")

STOP_REPORT_S = 15.0
"""After this long stopping, the log says what the process waits on."""
STOP_LIMIT_S = 45.0
"""After this long stopping, the process exits without the clean close (below systemd's 90 s TimeoutStopSec)."""
EXIT_STOP_TIMEOUT = 70
"""The exit status of a stop that hit `STOP_LIMIT_S` (EX_SOFTWARE: a defect to report, never a normal stop)."""

REPORT_HEADLINE = "still stopping after"
"""How the report begins in the log (`report_in` finds it there)."""


def report_in(log_text: str, most: int = 12_000) -> str | None:
    """The last stop report in a node's log, from its headline to the log's end (its last `most` characters), or
    None when the log has none."""
    at = log_text.rfind(REPORT_HEADLINE)
    if at < 0:
        return None
    start = log_text.rfind("\n", 0, at) + 1
    return log_text[start:][-most:]


def dump_stacks_on_signal(sig: int = signal.SIGUSR1) -> None:
    """`sig` writes every thread's Python stack to standard error, at once, whatever the process is doing (the
    process's own standard error where `sys.stderr` has no file behind it, as under a test's CLI runner)."""
    for stream in (sys.stderr, sys.__stderr__):
        if stream is None:
            continue
        try:
            faulthandler.register(sig, file=stream, all_threads=True, chain=False)
            return
        except (ValueError, OSError, AttributeError):  # no file descriptor behind this stream
            continue


def pending_tasks(loop: asyncio.AbstractEventLoop) -> str:
    """Each task still pending on `loop`, with where it waits (its coroutine's stack)."""
    out = io.StringIO()
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    out.write(f"{len(tasks)} asyncio task(s) pending:\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        task.print_stack(limit=8, file=out)
    return out.getvalue()


class StopWatch:
    """Watches one process's stop: `signalled(sig)` from the signal handler on the event loop's thread."""

    def __init__(self, stop: Callable[[], None], loop: asyncio.AbstractEventLoop, report_s: float = STOP_REPORT_S,
                 limit_s: float = STOP_LIMIT_S, out: TextIO | None = None,
                 exit_now: Callable[[int], None] = os._exit) -> None:
        if not 0 < report_s < limit_s:
            raise ValueError(f"the report ({report_s} s) must come before the limit ({limit_s} s)")
        self._stop = stop
        self._loop = loop
        self.report_s = report_s
        self.limit_s = limit_s
        self._out = out
        self._exit = exit_now
        self.first: int | None = None
        """The signal that began the stop, once one has."""

    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stderr

    def signalled(self, sig: int) -> None:
        """The first signal: stop cleanly, watched. A second: exit now."""
        if self.first is not None:
            log.warning("%s again while stopping: exiting now, without the clean close (the database resumes from "
                        "its last committed block, as after a kill)", signal.Signals(sig).name)
            self._flush()
            self._exit(128 + sig)
            return
        self.first = sig
        log.info("%s: stopping (a second signal exits at once)", signal.Signals(sig).name)
        threading.Thread(target=self._watch, name="stop-watch", daemon=True).start()
        self._stop()

    def _watch(self) -> None:
        # a daemon thread: it lives until the process ends (which ends it), through the joins of threads and
        # executors at exit
        began = time.monotonic()
        time.sleep(self.report_s)
        self._report()
        time.sleep(max(0.0, began + self.limit_s - time.monotonic()))
        log.error("did not stop within %g s of %s: exiting without the clean close (the database resumes from its "
                  "last committed block, as after a kill); the stacks above show what it waited on",
                  self.limit_s, signal.Signals(self.first or signal.SIGTERM).name)
        self._flush()
        self._exit(EXIT_STOP_TIMEOUT)

    def _report(self) -> None:
        log.warning(REPORT_HEADLINE + " %g s; what the process waits on follows (exits at %g s)",
                    self.report_s, self.limit_s)
        self._flush()
        for stream in (self.out, sys.__stderr__):
            if stream is None:
                continue
            try:
                faulthandler.dump_traceback(file=stream, all_threads=True)
                break
            except (ValueError, OSError, AttributeError):  # no file descriptor behind it (a test's StringIO)
                continue
        tasks = threading.Event()

        def on_loop() -> None:
            try:
                self.out.write(pending_tasks(self._loop))
            finally:
                tasks.set()

        try:
            self._loop.call_soon_threadsafe(on_loop)
        except RuntimeError:  # the loop is closed: its tasks are gone, the stacks above are the story
            return
        wait = min(2.0, (self.limit_s - self.report_s) / 2)
        if not tasks.wait(wait):
            self.out.write(f"(the event loop did not run for {wait:g} s: the main thread's stack above is where "
                           "it is)\n")
        self._flush()

    def _flush(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.flush()
        try:
            self.out.flush()
        except (ValueError, OSError):
            pass
