"""A signalled stop is bounded (`btt_chain.node.stop_watch`): real signals to a child process whose stop hangs in
each way a node's could (a task that will not end, a thread joined at exit, a stuck event loop), and the ways the
watch must not act (a clean stop, an in-process `stop()`)."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from btt_chain.node.stop_watch import EXIT_STOP_TIMEOUT, StopWatch, pending_tasks, report_in

CHILD = textwrap.dedent("""
    import asyncio, logging, signal, sys, threading, time
    from btt_chain.node.stop_watch import StopWatch
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    HANG = sys.argv[1]

    async def stubborn():  # a task that swallows its cancellation and goes on
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        watch = StopWatch(stop.set, loop, report_s=0.4, limit_s=1.2)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, watch.signalled, sig)
        if HANG == "task":
            task = asyncio.create_task(stubborn(), name="stubborn-task")
        print("ready", flush=True)
        await stop.wait()
        if HANG == "task":
            task.cancel()
            await task
        elif HANG == "loop":
            time.sleep(3600)  # the event loop itself stuck in a call
        elif HANG == "thread":
            threading.Thread(target=time.sleep, args=(3600,), name="joined-at-exit").start()
        print("stopped", flush=True)

    asyncio.run(main())
""")


def run_child(hang: str, signals: int = 1) -> tuple[int, str, float]:
    """Start the child, signal it `signals` times once ready; (exit code, what it printed, seconds from the first
    signal to its exit)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, hang], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    began = time.monotonic()
    for _ in range(signals):
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"the {hang!r} child outlived its stop watch") from None
    return proc.returncode, out, time.monotonic() - began


def test_a_clean_stop_exits_normally_and_reports_nothing() -> None:
    code, out, _ = run_child("none")
    assert code == 0, out
    assert "stopped" in out and "SIGTERM: stopping" in out
    assert "still stopping" not in out and "did not stop" not in out


@pytest.mark.parametrize("hang, where", [
    ("task", "stubborn-task"),  # the pending task is named, with where it waits
    ("loop", "the event loop did not run"),  # the main thread's stack is the story (the loop is stuck in a call)
    ("thread", "joined-at-exit"),  # the non-daemon thread the interpreter joins at exit
])
def test_a_hung_stop_says_where_it_waits_and_exits_at_the_limit(hang: str, where: str) -> None:
    code, out, took = run_child(hang)
    assert code == EXIT_STOP_TIMEOUT, out
    assert "still stopping after 0.4 s" in out and "did not stop within 1.2 s of SIGTERM" in out, out
    assert "Thread 0x" in out or "Current thread 0x" in out, out  # faulthandler's stacks
    if hang == "thread":
        assert "threading.py" in out and "_shutdown" in out, out  # the main thread in the join at exit
    else:
        assert where in out, out
    if hang == "loop":
        assert 'File "<string>", line' in out and " in main" in out, out  # the call it is stuck in
    assert ("stopped\n" in out) == (hang == "thread"), out  # only there did main() return
    assert took < 30, took


def test_a_second_signal_exits_at_once() -> None:
    code, out, took = run_child("task", signals=2)
    assert code == 128 + signal.SIGTERM, out
    assert "SIGTERM again while stopping: exiting now" in out
    assert "still stopping" not in out  # it did not wait for the report
    assert took < 30


def test_the_report_must_come_before_the_limit() -> None:
    loop = asyncio.new_event_loop()
    try:
        for report, limit in ((0, 1), (2, 1), (1, 1), (-1, 5)):
            with pytest.raises(ValueError):
                StopWatch(lambda: None, loop, report_s=report, limit_s=limit)
    finally:
        loop.close()


def test_the_watch_acts_only_on_a_signal() -> None:
    """Constructed but never signalled (an in-process node's `stop()`): no thread, no exit, ever."""
    exits: list[int] = []
    loop = asyncio.new_event_loop()
    try:
        watch = StopWatch(lambda: None, loop, report_s=0.01, limit_s=0.02, out=io.StringIO(), exit_now=exits.append)
        time.sleep(0.1)
        assert watch.first is None and exits == []
    finally:
        loop.close()


def test_pending_tasks_names_each_with_its_stack() -> None:
    async def sleeper() -> None:
        await asyncio.sleep(3600)

    async def main() -> str:
        task = asyncio.create_task(sleeper(), name="the-sleeper")
        await asyncio.sleep(0)
        text = pending_tasks(asyncio.get_running_loop())
        task.cancel()
        return text

    text = asyncio.run(main())
    assert "asyncio task(s) pending" in text and "the-sleeper" in text and "sleeper" in text


def test_report_in_finds_the_last_report_or_none() -> None:
    log = ("INFO a\nWARNING still stopping after 15 s; first\nstack 1\nINFO b\n"
           "2026 WARNING still stopping after 15 s; second\nstack 2\nERROR did not stop\n")
    found = report_in(log)
    assert found is not None and found.startswith("2026 WARNING still stopping after 15 s; second")
    assert found.endswith("ERROR did not stop\n") and "stack 1" not in found
    assert report_in("INFO a\nINFO stopped at #3\n") is None
    assert report_in(log, most=10) == log[-10:]


def test_sigusr1_dumps_every_stack_even_with_the_main_thread_stuck() -> None:
    """`kill -USR1`: the stacks come from C, so a main thread stuck in a call (which no Python handler, and so no
    SIGTERM handler, would interrupt) still shows where it is."""
    child = textwrap.dedent("""
        import threading, time
        from btt_chain.node.stop_watch import dump_stacks_on_signal
        dump_stacks_on_signal()
        lock = threading.Lock()
        lock.acquire()
        print("ready", flush=True)
        def stuck_here():
            lock.acquire()  # a deadlock of the main thread on a lock it holds
        stuck_here()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        assert proc.poll() is None  # the dump does not end the process
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert "Current thread" in err or "Thread 0x" in err, err
    assert "in stuck_here" in err, err
