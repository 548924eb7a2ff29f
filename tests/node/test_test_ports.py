"""The ports tests plan for their nodes: below the kernel's ephemeral range, in a slice that one live test process
holds at a time, whatever its lane or xdist worker name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import RANGE, SLICES, NoPortSlice, claim_slice, free_port, my_slice, slice_ports
from tests.support.wait_limits import scaled

REPO = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from pathlib import Path
import tests.support.ports as ports
ports.LOCK_DIR = Path(sys.argv[1])
try:
    port = ports.free_port()
except ports.NoPortSlice as e:
    print("refused:", e, flush=True)
    sys.exit(3)
print(port, ports.my_slice().start, flush=True)
sys.stdin.read()
"""


def test_the_slices_are_disjoint_and_below_the_ephemeral_range() -> None:
    slices = [slice_ports(i) for i in range(SLICES)]
    assert RANGE.stop <= 32_768 and all(len(s) >= 1_000 for s in slices)
    for i, a in enumerate(slices):
        assert a.start >= RANGE.start and a.stop <= RANGE.stop
        for b in slices[i + 1:]:
            assert a.stop <= b.start or b.stop <= a.start, (a, b)


def test_this_process_hands_out_distinct_ports_of_its_slice() -> None:
    mine = my_slice()
    taken = [free_port() for _ in range(50)]
    assert len(set(taken)) == 50 and all(p in mine for p in taken)


class Holders:
    """Processes that each claim a slice of `lock_dir` with the same xdist worker name, as three lanes' gw0 do."""

    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = lock_dir
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, worker: str = "gw0") -> tuple[int, str]:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(self.lock_dir)], cwd=REPO, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env={"PATH": "/usr/bin:/bin", "PYTEST_XDIST_WORKER": worker})
        self.procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line.startswith("refused:"):
            return proc.wait(timeout=scaled(30)), line
        return 0, line

    def stop(self, index: int) -> None:
        proc = self.procs[index]
        proc.kill()
        proc.wait(timeout=scaled(30))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=scaled(30))


@pytest.fixture
def holders(tmp_path: Path):  # type: ignore[no-untyped-def]
    h = Holders(tmp_path / "slices")
    yield h
    h.close()


def test_live_test_processes_never_share_a_slice_even_under_one_worker_name(holders: Holders) -> None:
    # the CI failure: an in-process lane's gw0 and a real-process lane's gw0 planned the same ports
    starts = []
    for _ in range(SLICES):
        code, line = holders.start("gw0")
        assert code == 0, line
        port, start = map(int, line.split())
        assert port in range(start, start + len(slice_ports(0)))
        starts.append(start)
    assert sorted(starts) == [slice_ports(i).start for i in range(SLICES)]
    # every slice is held: one more claimant is refused by name, not handed a port another process planned
    code, line = holders.start("gw0")
    assert code == 3 and "all 8 test port slices" in line and str(holders.lock_dir) in line
    # a holder that dies (even by SIGKILL) frees its slice for the next claimant
    holders.stop(2)
    code, line = holders.start("gw5")
    assert code == 0, line
    assert int(line.split()[1]) == starts[2]


def test_a_slice_held_in_this_process_is_not_claimed_twice(tmp_path: Path) -> None:
    first = claim_slice(tmp_path, first=3)
    second = claim_slice(tmp_path, first=3)
    try:
        assert first.ports == slice_ports(3) and second.ports == slice_ports(4)
    finally:
        os.close(first.lock_fd)
        os.close(second.lock_fd)
    again = claim_slice(tmp_path, first=3)
    os.close(again.lock_fd)
    assert again.ports == slice_ports(3)


def test_no_slice_left_is_a_clear_error(tmp_path: Path) -> None:
    held = [claim_slice(tmp_path) for _ in range(SLICES)]
    try:
        with pytest.raises(NoPortSlice, match="held by other test processes"):
            claim_slice(tmp_path)
    finally:
        for c in held:
            os.close(c.lock_fd)
