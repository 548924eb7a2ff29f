"""Waiting ready transactions are gossiped again (a node that gossiped one while it had no peers would otherwise
keep it to itself): only after they have waited, at most once per interval, best tip first and capped per round;
future transactions never, and ones that left the pool are forgotten."""

from __future__ import annotations

from btt_chain.node.rebroadcast import Rebroadcaster
from tests.node.test_txpool import make_pool
from tests.support.node_builder import UNIT, new_chain, transfer


def test_only_waiting_ready_transactions_are_gossiped_again_at_most_once_per_interval() -> None:
    chain = new_chain()
    pool, clock = make_pool(chain)
    cheap = pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=0).encode())
    rich = pool.submit(transfer(chain, "charlie", "bob", UNIT, nonce=0, tip=10**15).encode())
    future = pool.submit(transfer(chain, "alice", "bob", UNIT, nonce=5).encode())
    again = Rebroadcaster(min_age_s=10, every_s=30, limit=1)
    assert again.due(pool.ready(), clock[0]) == []  # nothing has waited yet
    clock[0] = 11.0
    first = again.due(pool.ready(), clock[0])
    assert [t.hash for t in first] == [rich]  # the limit takes the best tip first
    clock[0] = 12.0
    assert [t.hash for t in again.due(pool.ready(), clock[0])] == [cheap]
    clock[0] = 20.0
    assert again.due(pool.ready(), clock[0]) == []  # both went out less than 30 s ago
    clock[0] = 42.0
    assert [t.hash for t in again.due(pool.ready(), clock[0])] == [rich]
    assert future not in {t.hash for t in pool.ready()}  # a future transaction is never among them

    pool.prune([rich, cheap], [])
    assert again.due(pool.ready(), 100.0) == []
    assert again._last == {}  # what left the pool is forgotten
