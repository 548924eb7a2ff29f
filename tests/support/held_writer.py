"""A LevelDB store whose background writer is held busy: a `write_behind` stays in flight until the gate is set, so a
test can read, read ahead or write while a batch has not landed."""

from __future__ import annotations

import concurrent.futures
import threading

from storage.leveldb import LevelDBStore


def hold_writer(store: LevelDBStore) -> threading.Event:
    """Keep the store's writer thread busy until the returned gate is set: a write_behind stays in flight."""
    gate = threading.Event()
    writer = concurrent.futures.ThreadPoolExecutor(1)
    writer.submit(gate.wait, 30)
    store._writer = writer  # noqa: SLF001 - the test stands in for the writer thread
    return gate
