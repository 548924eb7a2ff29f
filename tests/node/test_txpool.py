"""Tx pool: admission checks, ready/future queues, tip priority, bounds, bans, pruning after a block."""

from __future__ import annotations

import pytest

from btt_chain.primitives.errors import InvalidExtrinsic
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_next, new_chain, new_pool, transfer

make_pool = new_pool


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
    with pytest.raises(InvalidExtrinsic, match="a replacement must tip at least 2"):
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
    small, _ = make_pool(chain, max_bytes=250)  # a transfer is about 150 bytes
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
    pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])
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


# --- attacks from issue 13: nobody jams the pool for free ---------------------------------------------------


def signed(chain, pair, dest: str, amount: int, nonce: int, tip: int = 0):
    from btt_chain.primitives.extrinsic import sign_extrinsic
    from btt_chain.primitives.keys import dev_keypair
    from runtime.modules import RUNTIME

    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair(dest).public, amount)
    return sign_extrinsic(pair, call, nonce, chain.genesis_hash, RUNTIME.spec_version, tip=tip)


def test_never_funded_keys_and_far_nonces_get_nothing_in():
    from btt_chain.primitives.keys import Keypair

    chain = new_chain()
    pool, _ = make_pool(chain)
    for _ in range(16):
        ghost = Keypair.generate()
        for nonce in (0, 5, 63):
            with pytest.raises(InvalidExtrinsic, match="cannot pay fee"):
                pool.submit(signed(chain, ghost, "bob", UNIT, nonce, tip=2**128 - 1).encode())
    assert len(pool) == 0
    for nonce in (65, 1_000_000, 2**32 - 1):
        x = transfer(chain, "bob", "charlie", UNIT, nonce=nonce)
        with pytest.raises(InvalidExtrinsic, match="at most 64 ahead"):
            pool.submit(x.encode())
        with pytest.raises(InvalidExtrinsic, match="at most 64 ahead"):  # a client's mistake, not banned
            pool.submit(x.encode())
    assert len(pool) == 0


def test_a_long_chain_of_ready_nonces_is_not_a_gap():
    """A wallet queues 100 transfers in a row: each is next after the pooled ones, so none is refused as far
    ahead; a nonce 65 beyond the end of that run still is."""
    chain = new_chain()
    pool, _ = make_pool(chain)
    for nonce in range(100):
        pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=nonce).encode())
    assert len(pool) == 100 and pool.future_count == 0
    with pytest.raises(InvalidExtrinsic, match="is 65 ahead of this sender's next nonce 100"):
        pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=165).encode())
    pool.submit(transfer(chain, "bob", "charlie", UNIT, nonce=164).encode())  # 64 ahead: future, taken
    assert pool.future_count == 1 and len(pool) == 101


def test_a_sender_pools_no_more_than_it_can_pay():
    from btt_chain.primitives.keys import Keypair

    chain = new_chain()
    poor = Keypair.generate()
    author_next(chain, [_fund(chain, poor.public, UNIT // 10)])
    pool, _ = make_pool(chain)
    admitted = 0
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts of its"):
        for nonce in range(64):
            pool.submit(signed(chain, poor, "bob", UNIT // 1000, nonce, tip=UNIT // 100).encode())
            admitted += 1
    assert 0 < admitted < 10  # 0.1 BTT pays for fewer than ten 0.01 BTT tips and their fees
    assert sum(t.cost for t in pool.pending()) <= UNIT // 10


def dev_keypair_(name: str):
    from btt_chain.primitives.keys import dev_keypair

    return dev_keypair(name)


def _fund(chain, who: bytes, amount: int):
    from btt_chain.primitives.extrinsic import sign_extrinsic
    from runtime.modules import RUNTIME

    alice = dev_keypair_("alice")
    nonce = system.account.get(chain.state(), alice.public).nonce
    return sign_extrinsic(alice, RUNTIME.call("balances.transfer_allow_death", who, amount), nonce, chain.genesis_hash,
                          RUNTIME.spec_version)


def test_a_flood_of_five_times_the_capacity_leaves_honest_transfers_admitted_and_included():
    from btt_chain.primitives.extrinsic import sign_extrinsic
    from btt_chain.primitives.keys import Keypair
    from runtime.modules import RUNTIME

    chain = new_chain()
    capacity = 64
    pool, _ = make_pool(chain, max_count=capacity, max_future_total=16)
    attackers = [Keypair.generate() for _ in range(8)]
    alice = dev_keypair_("alice")
    n0 = system.account.get(chain.state(), alice.public).nonce
    author_next(chain, [sign_extrinsic(alice, RUNTIME.call("balances.transfer_allow_death", a.public, UNIT), n0 + i,
                                       chain.genesis_hash, RUNTIME.spec_version) for i, a in enumerate(attackers)])
    attempts = refused = 0
    for _ in range(160):  # never-funded keys
        attempts += 1
        try:
            pool.submit(signed(chain, Keypair.generate(), "bob", UNIT, 3, tip=10**20).encode())
        except InvalidExtrinsic:
            refused += 1
    for a in attackers:  # funded, but every nonce is in the future
        for nonce in range(1, 21):
            attempts += 1
            try:
                pool.submit(signed(chain, a, "bob", UNIT // 1000, nonce, tip=10**12).encode())
            except InvalidExtrinsic:
                refused += 1
    assert attempts >= 5 * capacity and refused >= attempts - 16
    assert pool.future_count <= 16 and len(pool) <= 16
    honest = [transfer(chain, "bob", "charlie", UNIT), transfer(chain, "charlie", "bob", UNIT)]
    for x in honest:
        pool.submit(x.encode())
    included: set[bytes] = set()
    for _ in range(2):  # within two blocks
        imported, dropped = author_next(chain, [t.xt for t in pool.ready()])
        included |= {x.hash() for x in imported.block.extrinsics}
        pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])
    assert {x.hash() for x in honest} <= included
    assert system.account.get(chain.state(), dev_keypair_("bob").public).nonce == 1


def test_evicted_usurped_and_expired_transactions_are_reported():
    chain = new_chain()
    pool, clock = make_pool(chain, max_count=2, future_ttl_seconds=30)
    dropped: list[tuple[bytes, str]] = []
    pool.on_dropped = lambda h, why: dropped.append((h, why))
    first = transfer(chain, "bob", "charlie", UNIT, nonce=0)
    pool.submit(first.encode())
    better = transfer(chain, "bob", "charlie", UNIT, nonce=0, tip=5)
    pool.submit(better.encode())
    assert dropped == [(first.hash(), "usurped: replaced by a transaction with the same nonce and a higher tip")]
    far = transfer(chain, "charlie", "bob", UNIT, nonce=3, tip=1)
    pool.submit(far.encode())
    outbid = transfer(chain, "charlie", "bob", UNIT, nonce=0, tip=9)
    pool.submit(outbid.encode())  # full: the future one goes first
    assert dropped[-1][0] == far.hash() and dropped[-1][1].startswith("dropped: evicted")
    gap = transfer(chain, "charlie", "bob", UNIT, nonce=5)
    pool2, clock2 = make_pool(chain, future_ttl_seconds=30)
    gone: list[str] = []
    pool2.on_dropped = lambda h, why: gone.append(why)
    pool2.submit(gap.encode())
    clock2[0] = 31
    pool2.prune([], [])
    assert gone == ["dropped: it waited too long for the missing nonces"] and len(pool2) == 0
