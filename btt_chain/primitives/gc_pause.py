"""Pausing Python's cyclic garbage collector across work that allocates millions of objects and frees them by
reference counting: one block's import or authoring, building a large genesis state and its tree.

A 5,000-transfer block allocates hundreds of thousands of short-lived objects (~390,000 allocations from Python's
allocator, 55,000 of them objects the collector tracks: docs/benchmarks.md, 2026-11-29; about a million when this
was written), nearly all freed by reference counting.
With the collector on, that burst triggers hundreds of young collections and, as survivors pile up, full ones
over the whole (unfrozen) heap: measured at 1,000,000 accounts, ~100 ms of a ~700 ms import. Paused, the same
block imports without them; the collector resumes right after and finds the few cycles then. A million-account
genesis spends ~1.3 s of its build in the collector otherwise.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (reference counting still frees everything acyclic)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


YOUNG_GENERATION_THRESHOLD = 250_000
"""Tracked objects the young generation may gain, net, before it is collected (CPython's default: 700).

A 5,000-transfer block leaves ~50,000 tracked objects alive when its import ends (its extrinsics, events and outcomes,
handed back to the caller), and reference counting frees them when the next block's replace them. With the default
threshold the first allocation after each block scanned them all, and a gen-1 collection scanned them again, finding
no garbage: 20-80 ms a block at 1,000,000 accounts. With room for a few blocks of survivors the young count rises and
falls with the blocks and stays under it; cyclic garbage is still collected once allocation outruns frees by this
much (a few tens of MB at most)."""


def settle_heap() -> None:
    """What a node does once start-up is over: collect, freeze what is left (the genesis, the modules: never scanned
    again), give the young generation room for a few blocks' worth of live objects, and hand the memory that start-up
    freed back to the system."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
    release_free_memory()


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc's malloc_trim): opening a large state reads every tree leaf
    through short-lived objects, and glibc keeps what they freed (~600 MB at ten million accounts) among the pages of
    what stays. False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
    return True
