"""The collector's settings around blocks: paused inside, restored after (even on an error), and after start-up a
young generation roomy enough for a block's survivors that still collects cyclic garbage by itself."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from btt_chain.primitives.gc_pause import YOUNG_GENERATION_THRESHOLD, gc_paused, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if enabled:
            gc.enable()
        else:
            gc.disable()


def test_paused_inside_and_restored_after_even_on_error(restored_collector: None) -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a block fails")
    assert gc.isenabled()
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled(), "a collector that was off stays off"


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_settled_heap_still_collects_cycles_on_its_own(restored_collector: None) -> None:
    gc.enable()
    settle_heap()
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    assert gc.get_freeze_count() > 0
    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    del a, b  # a cycle: reference counting alone never frees it
    assert alive() is not None
    keep = [[] for _ in range(YOUNG_GENERATION_THRESHOLD + 1_000)]  # allocation outruns frees by the threshold
    assert alive() is None, "the young generation was collected without anyone calling gc.collect"
    del keep


def test_a_blocks_worth_of_survivors_triggers_no_collection(restored_collector: None) -> None:
    gc.enable()
    settle_heap()
    before = gc.get_stats()[0]["collections"]
    survivors = []
    for _ in range(3):  # three blocks, each replacing the last one's ~50,000 live objects
        with gc_paused():
            block = [[i] for i in range(50_000)]
        survivors = block
    assert len(survivors) == 50_000
    assert gc.get_stats()[0]["collections"] == before
