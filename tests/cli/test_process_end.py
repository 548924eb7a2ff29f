"""A node's process ends without the interpreter's teardown only as the command's own process
(`cli/process_end.py`): its output flushed, its worker processes ended, its exit code kept; in-process it returns."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from cli.process_end import command_process, end_without_teardown

CHILD = textwrap.dedent("""
    import concurrent.futures, logging, multiprocessing, sys
    from cli.process_end import command_process, end_without_teardown
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    pool.submit(int).result()  # the worker is up
    worker = next(iter(multiprocessing.active_children())).pid
    pool.shutdown(wait=False)  # as the node's signature checker closes: not joined
    print(f"worker {worker}")  # buffered (stdout is a pipe): must still reach the reader
    logging.getLogger("x").info("the last log line")
    with command_process():
        end_without_teardown(3)
    print("not reached")
""")


def test_the_command_process_ends_with_its_code_output_and_no_worker_left() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done
    assert "not reached" not in done.stdout and "the last log line" in done.stderr, done
    worker = int(done.stdout.split()[1])
    try:
        os.kill(worker, 0)
    except ProcessLookupError:
        pass
    else:
        os.kill(worker, 9)
        raise AssertionError(f"the worker {worker} outlived the process")


def test_outside_the_command_process_it_returns() -> None:
    end_without_teardown(0)  # a test's CliRunner, an embedding program: nothing happens


def test_command_process_is_undone_after_the_command() -> None:
    with command_process():
        pass
    end_without_teardown(0)  # not inside any more: returns
    with command_process(), command_process():
        pass
    end_without_teardown(0)
