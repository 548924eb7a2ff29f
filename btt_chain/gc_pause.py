"""Pausing Python's cyclic garbage collector across work that allocates millions of objects and frees them by
reference counting: one block's import or authoring, building a large genesis state and its tree.

A 5,000-transfer block allocates about a million short-lived objects, nearly all freed by reference counting.
With the collector on, that burst triggers hundreds of young collections and, as survivors pile up, full ones
over the whole (unfrozen) heap: measured at 1,000,000 accounts, ~100 ms of a ~700 ms import. Paused, the same
block imports without them; the collector resumes right after and finds the few cycles then. A million-account
genesis spends ~1.3 s of its build in the collector otherwise.
"""

from __future__ import annotations

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
