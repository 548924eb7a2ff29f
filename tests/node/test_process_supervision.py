"""`btt_chain.process_supervision.die_with_parent`: a child started with it ends when its parent dies, a SIGKILL of
the parent included (what a test worker killed mid-test, or a devnet's supervisor killed, must not leave behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.support.wait_limits import scaled

PARENT = textwrap.dedent("""
    import subprocess, sys, time
    from btt_chain.process_supervision import die_with_parent
    kw = {"preexec_fn": die_with_parent()} if sys.argv[1] == "supervised" else {}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], **kw)
    print(child.pid, flush=True)
    time.sleep(120)
""")


def gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie not yet reaped by init counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def child_after_parent_killed(mode: str, wait: float) -> tuple[int, bool]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()  # SIGKILL: the parent runs no code of its own on the way out
    parent.wait()
    deadline = time.monotonic() + wait
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, gone(child)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_supervised_child_ends_when_its_parent_is_killed() -> None:
    child, ended = child_after_parent_killed("supervised", scaled(10))
    if not ended:
        os.kill(child, signal.SIGKILL)  # a failing run leaves nothing behind either
    assert ended, f"child {child} outlived its killed parent"


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_without_it_the_child_outlives_its_parent() -> None:
    # the harness itself: what die_with_parent prevents does happen without it
    child, ended = child_after_parent_killed("plain", 1.0)  # it would have gone by now
    try:
        assert not ended
    finally:
        os.kill(child, signal.SIGKILL)
