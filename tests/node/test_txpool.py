"""Tx pool: admission checks, ready/future queues, tip priority, bounds, bans, pruning after a block."""

from __future__ import annotations

import pytest

from btt_chain.node.txpool import PoolConfig, TxPool
from btt_chain.primitives.errors import InvalidExtrinsic
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_next, new_chain, transfer


def make_pool(chain, **cfg):
    clock = [0.0]
    pool = TxPool(
        chain.validate_transaction,
        lambda who: system.account.get(chain.state(), who).nonce,
        PoolConfig(**cfg),
        clock=lambda: clock[0],
    )
    return pool, clock


def test_ready_and_future_queues():
    chain = new_chain()
    pool, _ = make_pool(chain)
    x0, x1, x3 = (transfer(chain, "bob", "charlie", UNIT, nonce=n) for n in (0, 1, 3))
    for x in (x3, x1, x0):
        pool.submit(x.encode())
    assert [t.nonce for t in pool.ready()] == [0, 1]
    assert pool.status() == {"ready": 2, "future": 1, "bytes": pool.total_bytes}
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=2).encode())
    assert [t.nonce for t in pool.ready()] == [0, 1, 2, 3]


def test_tip_orders_senders_but_keeps_nonce_order():
    chain = new_chain()
    pool, _ = make_pool(chain)
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=0, tip=1).encode())
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=1, tip=100).encode())
    pool.submit(transfer(chain, "charlie", "bob", UNIT, nonce=0, tip=50).encode())
    order = [(t.sender, t.nonce) for t in pool.ready()]
    charlie_first = order[0][1] == 0 and order[0][0] != order[1][0]
    assert charlie_first
    bob_nonces = [n for s, n in order if s == order[1][0]]
    assert bob_nonces == [0, 1]


def test_invalid_transactions_are_refused_banned_and_change_nothing():
    chain = new_chain()
    pool, clock = make_pool(chain, ban_seconds=10)
    forged = transfer(chain, "bob", "charlie", UNIT).replace(signature=bytes(64))
    with pytest.raises(InvalidExtrinsic, match="bad signature"):
        pool.submit(forged.encode())
    with pytest.raises(InvalidExtrinsic, match="banned"):
        pool.submit(forged.encode())
    clock[0] = 11
    with pytest.raises(InvalidExtrinsic, match="bad signature"):
        pool.submit(forged.encode())
    for raw, reason in [(b"\x00\x01", "malformed"), (forged.encode() + b"\x00", "malformed"),
                        (b"\x90" * 70_000, "over the limit")]:
        with pytest.raises(InvalidExtrinsic, match=reason):
            pool.submit(raw)
    assert len(pool) == 0 and pool.total_bytes == 0


def test_duplicate_and_replacement_by_tip():
    chain = new_chain()
    pool, _ = make_pool(chain)
    low = transfer(chain, "bob", "charlie", UNIT, nonce=0, tip=1)
    pool.submit(low.encode())
    with pytest.raises(InvalidExtrinsic, match="already in the pool"):
        pool.submit(low.encode())
    with pytest.raises(InvalidExtrinsic, match="equal or higher tip"):
        pool.submit(transfer(chain, "bob", "charlie", 2 * UNIT, nonce=0, tip=1).encode())
    high = transfer(chain, "bob", "charlie", 2 * UNIT, nonce=0, tip=5)
    pool.submit(high.encode())
    assert [t.hash for t in pool.ready()] == [high.hash()]


def test_bounded_by_count_and_bytes():
    chain = new_chain()
    pool, _ = make_pool(chain, max_count=2)
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=0).encode())
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=1).encode())
    with pytest.raises(InvalidExtrinsic, match="pool is full"):
        pool.submit(transfer(chain, "charlie", "bob", UNIT, nonce=0).encode())
    pool.submit(transfer(chain, "charlie", "bob", UNIT, nonce=0, tip=3).encode())  # outbids the lowest
    assert len(pool) == 2
    small, _ = make_pool(chain, max_bytes=300)
    small.submit(transfer(chain, "bob", "charlie", UNIT, nonce=0).encode())
    with pytest.raises(InvalidExtrinsic, match="pool is full"):
        small.submit(transfer(chain, "bob", "charlie", UNIT, nonce=1).encode())


def test_stale_nonce_refused_and_prune_after_block():
    chain = new_chain()
    pool, _ = make_pool(chain)
    xs = [transfer(chain, "bob", "charlie", UNIT, nonce=n) for n in range(3)]
    for x in xs:
        pool.submit(x.encode())
    imported, dropped = author_next(chain, [t.xt for t in pool.ready()][:2])
    pool.prune([x.hash() for x in imported.block.extrinsics], [x.hash() for x, _ in dropped])
    assert [t.nonce for t in pool.ready()] == [2]
    with pytest.raises(InvalidExtrinsic, match="stale nonce"):
        pool.submit(transfer(chain, "bob", "charlie", 3 * UNIT, nonce=0).encode())


def test_too_many_future_transactions_from_one_sender():
    chain = new_chain()
    pool, _ = make_pool(chain, max_future_per_sender=2)
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=5).encode())
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=6).encode())
    with pytest.raises(InvalidExtrinsic, match="too many future"):
        pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=7).encode())
