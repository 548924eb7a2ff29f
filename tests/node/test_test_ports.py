"""The ports tests plan for their nodes: below the kernel's ephemeral range, a slice per pytest worker."""

from __future__ import annotations

import os

from tests.support.ports import free_port, slice_of

WORKERS = ["gw0", "gw1", "gw2", "gw3", ""]


def test_each_worker_has_its_own_slice_below_the_ephemeral_range() -> None:
    slices = [slice_of(w) for w in WORKERS]
    for i, a in enumerate(slices):
        assert a.stop <= 32_768 and len(a) >= 1_000
        for b in slices[i + 1:]:
            assert a.stop <= b.start or b.stop <= a.start, (a, b)


def test_this_process_hands_out_distinct_ports_of_its_slice() -> None:
    mine = slice_of(os.environ.get("PYTEST_XDIST_WORKER", ""))
    taken = [free_port() for _ in range(50)]
    assert len(set(taken)) == 50 and all(p in mine for p in taken)
