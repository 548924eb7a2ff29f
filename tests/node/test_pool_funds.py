"""Tx pool funds (issue 25 items 3 and 4): what pooled transactions move counts, the pool re-checks its senders'
funds after every block, and a replacement needs a tip bump and evicts nobody. Each test tries the attack."""

from __future__ import annotations

import time

import pytest

from btt_chain.node.pool_funds import (
    ChainAccounts,
    Spend,
    compute_call_spend,
    find_unpayable,
)
from btt_chain.node.txpool import TxPool
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call, Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_next, new_chain, new_pool

WATCH_KINDS = ("usurped", "dropped", "invalid")
"""The endings btt_chain/rpc/watch.py tells a watching sender (the part of a drop reason before its colon)."""


def make_pool(chain, **cfg):
    pool, _ = new_pool(chain, **cfg)
    dropped: list[tuple[bytes, str]] = []
    pool.on_dropped = lambda h, why: dropped.append((h, why))
    return pool, dropped


def sign(chain, pair: Keypair, call: Call, nonce: int, tip: int = 0) -> Extrinsic:
    return sign_extrinsic(pair, call, nonce, chain.genesis_hash, RUNTIME.spec_version, tip=tip)


def pay(chain, pair: Keypair, amount: int, nonce: int, tip: int = 0, dest: str = "bob") -> Extrinsic:
    return sign(chain, pair, RUNTIME.call("balances.transfer_allow_death",
                                          dev_keypair(dest).public, amount), nonce, tip)


def drain(chain, pair: Keypair, nonce: int, dest: bytes | None = None) -> Extrinsic:
    """`pair` sends everything it can spend away (to a fresh account unless `dest`)."""
    to = dest if dest is not None else Keypair.generate().public
    return sign(chain, pair, RUNTIME.call("balances.transfer_all", to, False), nonce)


def funded(chain, amounts: list[int]) -> list[Keypair]:
    """Fresh keys, funded by alice in one block."""
    alice = dev_keypair("alice")
    keys = [Keypair.generate() for _ in amounts]
    n0 = system.account.get(chain.state(), alice.public).nonce
    _, dropped = author_next(chain, [sign(chain, alice, RUNTIME.call("balances.transfer_allow_death",
                                                                     k.public, a), n0 + i)
                                     for i, (k, a) in enumerate(zip(keys, amounts, strict=True))])
    assert not dropped
    return keys


def include(chain, pool: TxPool, xts: list[Extrinsic]):
    """Import a block with `xts` (built elsewhere, not through this pool) and prune the pool after it."""
    imported, dropped = author_next(chain, xts)
    assert not dropped, dropped
    pool.prune([x.hash() for x in imported.block.transactions], [])
    return imported


def snapshot(pool: TxPool):
    return sorted(t.hash for t in pool.pending()), pool.total_bytes, pool.future_count, pool.status()


def assert_every_sender_can_pay(chain, pool: TxPool) -> None:
    accounts = ChainAccounts(chain)
    by_sender: dict[bytes, list] = {}
    for t in pool.pending():  # sorted by (sender, nonce)
        by_sender.setdefault(t.sender, []).append(t)
    for sender, txs in by_sender.items():
        spendable = accounts.spendable(sender)
        assert find_unpayable(txs, spendable) is None
        assert pool.committed(sender) == sum(t.cost for t in txs) <= spendable or \
            any(t.takes_rest or t.spend_upto for t in txs)  # what a batch may take counts up to what is left


# --- what a call spends --------------------------------------------------------------------------------------


def test_every_call_in_the_dispatch_table_declares_what_it_spends_by_arguments_it_has():
    """A call added without a declaration, or naming an argument it does not have, fails here (the pool would
    otherwise count it as spending nothing)."""
    for module in RUNTIME.modules:
        for call in module.calls:
            spends = call.spends
            assert spends is not None, f"{module.name}.{call.name} declares nothing of what it spends"
            names = [a for a, _ in call.args]
            for argument in (spends.argument, spends.calls, spends.payer):
                assert argument is None or argument in names, (module.name, call.name, argument)
            assert spends.payer is None or spends.calls is not None, (module.name, call.name)


def test_call_spend_of_transfers_stakes_bonds_deposits_and_unknown_calls():
    bob = dev_keypair("bob").public
    cases = [
        (RUNTIME.call("balances.transfer_allow_death", bob, 7 * UNIT), Spend(7 * UNIT)),
        (RUNTIME.call("balances.transfer_keep_alive", bob, 3), Spend(3)),
        (RUNTIME.call("balances.burn", 5, True), Spend(5)),
        (RUNTIME.call("balances.transfer_all", bob, True), Spend(rest=True)),
        (RUNTIME.call("staking.stake", "flexible", 11 * UNIT), Spend(11 * UNIT)),
        (RUNTIME.call("bonds.bond", 13 * UNIT), Spend(13 * UNIT)),
        (RUNTIME.call("bonds.bond_extra", 17), Spend(17)),
        (RUNTIME.call("payments.pay", bob, 19, bytes(32)), Spend(19)),
        (RUNTIME.call("governance.propose", RUNTIME.call("system.remark", b"x"), bytes(32), 23 * UNIT, False),
         Spend(23 * UNIT)),
        (RUNTIME.call("system.remark", b"hello"), Spend()),
        (RUNTIME.call("bonds.unbond", 29), Spend()),  # pays nothing out of free balance
        (RUNTIME.call("vesting.vest"), Spend()),
    ]
    for call, spend in cases:
        assert compute_call_spend(RUNTIME.decode_call(call)) == spend, call


# --- admission counts amounts ----------------------------------------------------------------------------------


def test_ready_chains_drained_by_their_first_transaction_get_nothing_more_in():
    """The attack: each sender pools a chain whose first transaction sends its whole balance away; only the fees
    of the first ones are ever paid (16 senders x 512 filled the pool for 0.046 BTT). Now the rest is refused."""
    chain = new_chain()
    senders = funded(chain, [2 * UNIT] * 4)
    pool, dropped = make_pool(chain)
    accomplice = Keypair.generate().public
    whole, chain_by_transfer, first_futures, quarters = senders
    # 1. transfer_all first: nothing after it can be paid
    pool.submit(drain(chain, whole, 0, accomplice).encode())
    for nonce in range(1, 40):
        with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):
            pool.submit(pay(chain, whole, 1, nonce).encode())
    # 2. a plain transfer of nearly everything first
    pool.submit(pay(chain, chain_by_transfer, 2 * UNIT - 4 * UNIT // 1000, 0).encode())  # leaves less than a fee
    with pytest.raises(InvalidExtrinsic, match="up to nonce 1 they need"):
        pool.submit(pay(chain, chain_by_transfer, 1, 1).encode())
    # 3. the chain's tail pooled first (future), the draining head last: the head is refused
    for nonce in range(1, 21):
        pool.submit(pay(chain, first_futures, 1, nonce).encode())
    before = snapshot(pool)
    with pytest.raises(InvalidExtrinsic, match="of its 20 pooled transactions and this one: up to nonce 1 they need"):
        pool.submit(drain(chain, first_futures, 0, accomplice).encode())
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts of its 20 pooled"):
        pool.submit(pay(chain, first_futures, 2 * UNIT - UNIT // 100, 0).encode())
    assert snapshot(pool) == before
    # 4. amounts add up: three half-BTT transfers and their fees fit in 2 BTT, a fourth does not
    for nonce in range(3):
        pool.submit(pay(chain, quarters, UNIT // 2, nonce).encode())
    with pytest.raises(InvalidExtrinsic, match="cannot pay"):
        pool.submit(pay(chain, quarters, UNIT // 2, 3).encode())
    assert len(pool) == 1 + 1 + 20 + 3 and dropped == []
    assert_every_sender_can_pay(chain, pool)
    # what the pool holds is what the next block can take: none of it fails for want of money
    pool.submit(pay(chain, first_futures, UNIT // 10, 0).encode())
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and len(imported.block.transactions) == len(pool)
    assert [o.error for o in imported.result.outcomes if not o.success] == []


def test_the_same_money_backs_one_sender_at_a_time():
    """A sender's pooled transactions hold its balance: it cannot move that money to a second sender through the
    pool, and once a block moves it anyway (built elsewhere), the first sender's transactions are gone."""
    chain = new_chain()
    (first,) = funded(chain, [10 * UNIT])
    second = Keypair.generate()
    pool, dropped = make_pool(chain)
    held = [pay(chain, first, UNIT // 2, nonce, tip=UNIT) for nonce in range(1, 6)]
    for x in held:
        pool.submit(x.encode())
    before = snapshot(pool)
    move = sign(chain, first, RUNTIME.call("balances.transfer_allow_death", second.public, 9 * UNIT), 0)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts of its 5 pooled"):
        pool.submit(move.encode())
    assert snapshot(pool) == before and dropped == []
    include(chain, pool, [move])
    assert {h for h, _ in dropped} == {x.hash() for x in held} and len(pool) == 0
    assert all(why.startswith("invalid: its sender can no longer pay it") for _, why in dropped)
    for nonce in range(1, 6):  # the money now backs the second sender, and only it
        pool.submit(pay(chain, second, UNIT // 2, nonce, tip=UNIT).encode())
    assert len(pool) == 5
    assert_every_sender_can_pay(chain, pool)


# --- the re-check after every block ---------------------------------------------------------------------------


def test_a_future_flood_from_17_accounts_is_gone_after_they_move_their_money():
    """The attack: 17 accounts fill the global future cap (1,024) with 1.56 BTT tips, then move their whole balance
    away; their transactions stayed for the 300 s lifetime and honest future ones were refused even with a 1 BTT
    tip. Now the next block's re-check drops them all (reported "invalid"), and the honest one gets in."""
    chain = new_chain()
    tip = 156 * UNIT // 100
    attackers = funded(chain, [100 * UNIT] * 17)
    pool, dropped = make_pool(chain)
    for a in attackers:
        for nonce in range(1, 62):
            try:
                pool.submit(pay(chain, a, UNIT // 1000, nonce, tip=tip).encode())
            except InvalidExtrinsic as exc:
                assert "the most future transactions" in str(exc)
    assert pool.future_count == len(pool) == 1024
    honest = pay(chain, dev_keypair("charlie"), UNIT, 1, tip=UNIT)
    with pytest.raises(InvalidExtrinsic, match="the most future transactions"):
        pool.submit(honest.encode())
    before = snapshot(pool)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):  # not through this pool
        pool.submit(drain(chain, attackers[0], 0).encode())
    assert snapshot(pool) == before and dropped == []
    include(chain, pool, [drain(chain, a, 0, Keypair.generate().public) for a in attackers])
    assert len(pool) == 0 and pool.future_count == 0 and pool.total_bytes == 0
    assert len(dropped) == 1024 and {why.split(":", 1)[0] for _, why in dropped} == {"invalid"}
    assert pool.unpayable_dropped == 1024 and pool.last_recheck.dropped == 1024
    pool.submit(honest.encode())
    assert pool.future_count == 1


def test_the_recheck_drops_from_the_first_unpayable_nonce_and_keeps_the_rest():
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    pool, dropped = make_pool(chain)
    pooled = [pay(chain, sender, UNIT, nonce) for nonce in range(1, 5)]
    for x in pooled:
        pool.submit(x.encode())
    include(chain, pool, [pay(chain, sender, 7 * UNIT, 0)])  # about 3 BTT left: nonces 1 and 2 fit, 3 and 4 not
    assert [t.nonce for t in pool.ready()] == [1, 2]
    assert [h for h, _ in dropped] == [pooled[2].hash(), pooled[3].hash()]
    assert "up to nonce 3" in dropped[0][1]
    assert_every_sender_can_pay(chain, pool)


def test_ready_chains_drained_by_a_transaction_this_pool_never_saw_are_cleared_by_the_next_block():
    """Senders pool ready chains they can pay for, then another node's block spends each chain's first nonce on a
    transaction that sends the whole balance away: after that block nothing of theirs is left, and the rest of the
    pool is untouched."""
    chain = new_chain()
    senders = funded(chain, [UNIT] * 16)
    pool, dropped = make_pool(chain)
    for s in senders:
        for nonce in range(32):
            pool.submit(pay(chain, s, 1, nonce).encode())
    honest = [pay(chain, dev_keypair("charlie"), UNIT, n) for n in range(3)]
    for x in honest:
        pool.submit(x.encode())
    assert pool.status()["ready"] == len(pool) == 16 * 32 + 3
    include(chain, pool, [drain(chain, s, 0) for s in senders])
    assert sorted(t.hash for t in pool.pending()) == sorted(x.hash() for x in honest)
    kinds = [why.split(":", 1)[0] for _, why in dropped]
    assert len(dropped) == 16 * 32 and set(kinds) == {"invalid"}  # each first nonce used, the rest unpayable
    assert pool.last_recheck.dropped == 16 * 31


class StaleLocks(ChainAccounts):
    """Account records that show a lock bigger than the one that still holds at the next block's time (a lock that
    loosened with time, nothing written since): the record's spendable balance is only a floor."""

    def __init__(self, chain, stale: bytes, frozen: int) -> None:
        super().__init__(chain)
        self.stale, self.frozen, self.exact_reads = stale, frozen, 0

    def account(self, who: bytes):
        record = super().account(who)
        return record.replace(frozen=self.frozen) if who == self.stale else record

    def spendable(self, who: bytes) -> int:
        self.exact_reads += 1
        return super().spendable(who)


def test_a_stale_lock_on_the_record_is_read_once_and_drops_nothing():
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    accounts = StaleLocks(chain, sender.public, 9 * UNIT)  # the record says 1 BTT is spendable; 10 really is
    pool = TxPool(chain.validate_transaction, lambda who: system.account.get(chain.state(), who).nonce,
                  accounts=accounts)
    for nonce in range(3):
        pool.submit(pay(chain, sender, 2 * UNIT, nonce).encode())
    author_next(chain, [])
    pool.prune([], [])
    assert len(pool) == 3 and accounts.exact_reads == 1 and pool.last_recheck.exact == 1
    author_next(chain, [])
    pool.prune([], [])  # the record has not changed: the figure read last time still holds
    assert len(pool) == 3 and accounts.exact_reads == 1 and pool.last_recheck.exact == 0


def test_a_full_pool_of_payable_chains_is_rechecked_without_reading_any_lock():
    chain = new_chain()
    senders = funded(chain, [100 * UNIT] * 16)
    pool, dropped = make_pool(chain, max_count=2048)
    xts = [pay(chain, s, UNIT // 100, nonce) for s in senders for nonce in range(128)]
    for x in xts:
        pool.submit(x.encode())
    include(chain, pool, [xts[i * 128] for i in range(16)])
    assert len(pool) == 2048 - 16 and dropped == []
    assert pool.last_recheck.senders == 16 and pool.last_recheck.exact == 0


# --- replacement -------------------------------------------------------------------------------------------------


def test_a_replacement_needs_a_ten_percent_tip_bump():
    """The attack: 3,000 replacements at +1 base unit each, each accepted and gossiped. Now +1 is refused (the
    RPC answers an error, nothing is paid) until the tip is 10% higher."""
    chain = new_chain()
    pool, dropped = make_pool(chain)
    bob = dev_keypair("bob")
    first = pay(chain, bob, UNIT, 0, tip=UNIT)
    pool.submit(first.encode())
    before = snapshot(pool)
    for extra in range(1, 300):
        with pytest.raises(InvalidExtrinsic, match=f"already pooled with tip {UNIT}: a replacement must tip at "
                                                   f"least {UNIT + UNIT // 10}"):
            pool.submit(pay(chain, bob, UNIT, 0, tip=UNIT + extra).encode())
    assert snapshot(pool) == before and dropped == []
    with pytest.raises(InvalidExtrinsic, match="a replacement must tip at least"):
        pool.submit(pay(chain, bob, UNIT, 0, tip=UNIT + UNIT // 10 - 1).encode())
    better = pay(chain, bob, UNIT, 0, tip=UNIT + UNIT // 10)
    pool.submit(better.encode())
    assert [t.hash for t in pool.ready()] == [better.hash()]
    assert dropped == [(first.hash(), "usurped: replaced by a transaction with the same nonce and a higher tip")]


def test_a_zero_tip_is_replaced_by_one_base_unit_and_the_bump_is_configurable():
    chain = new_chain()
    pool, _ = make_pool(chain)
    bob = dev_keypair("bob")
    pool.submit(pay(chain, bob, UNIT, 0).encode())
    with pytest.raises(InvalidExtrinsic, match="must tip at least 1 "):
        pool.submit(pay(chain, bob, 2 * UNIT, 0).encode())
    pool.submit(pay(chain, bob, 2 * UNIT, 0, tip=1).encode())
    strict, _ = make_pool(chain, replace_tip_bump_percent=25)
    strict.submit(pay(chain, bob, UNIT, 0, tip=100).encode())
    with pytest.raises(InvalidExtrinsic, match="must tip at least 125 \\(25%"):
        strict.submit(pay(chain, bob, UNIT, 0, tip=110).encode())
    strict.submit(pay(chain, bob, UNIT, 0, tip=125).encode())


def test_a_replacement_in_a_full_pool_evicts_nobody_else():
    chain = new_chain()
    pool, dropped = make_pool(chain, max_count=2)
    bob, charlie = dev_keypair("bob"), dev_keypair("charlie")
    mine = pay(chain, bob, UNIT, 0, tip=5)
    innocent = pay(chain, charlie, UNIT, 0, tip=1)  # the cheapest in the pool
    pool.submit(mine.encode())
    pool.submit(innocent.encode())
    again = pay(chain, bob, UNIT, 0, tip=50)
    pool.submit(again.encode())
    assert innocent.hash() in pool and again.hash() in pool and len(pool) == 2
    assert dropped == [(mine.hash(), "usurped: replaced by a transaction with the same nonce and a higher tip")]


def test_a_replacement_that_grows_past_the_byte_limit_is_refused_rather_than_evicting():
    chain = new_chain()
    bob, charlie = dev_keypair("bob"), dev_keypair("charlie")
    mine = pay(chain, bob, UNIT, 0, tip=5)
    innocent = pay(chain, charlie, UNIT, 0, tip=1)
    pool, dropped = make_pool(chain, max_bytes=len(mine.encode()) + len(innocent.encode()) + 16)
    pool.submit(mine.encode())
    pool.submit(innocent.encode())
    before = snapshot(pool)
    bigger = sign(chain, bob, RUNTIME.call("system.remark", b"x" * 200), 0, tip=500)
    with pytest.raises(InvalidExtrinsic, match="a replacement never evicts another transaction"):
        pool.submit(bigger.encode())
    assert snapshot(pool) == before and dropped == []
    pool.submit(sign(chain, bob, RUNTIME.call("system.remark", b"x" * 8), 0, tip=500).encode())  # fits its room
    assert innocent.hash() in pool and len(pool) == 2


# --- refusals change nothing ---------------------------------------------------------------------------------------


def test_refused_admissions_leave_the_pool_unchanged():
    """A newcomer that would first evict a future transaction and then find no room is refused before anything is
    evicted (the pool used to drop the future one and refuse anyway)."""
    chain = new_chain()
    charlie, dave, bob = dev_keypair("charlie"), dev_keypair("eve"), dev_keypair("bob")
    cheap_future = pay(chain, charlie, UNIT, 5, tip=1)
    rich_ready = pay(chain, dave, UNIT, 0, tip=10**15)
    pool, dropped = make_pool(chain, max_future_total=1,
                              max_bytes=len(cheap_future.encode()) + len(rich_ready.encode()) + 50)
    pool.submit(cheap_future.encode())
    pool.submit(rich_ready.encode())
    before = snapshot(pool)
    big_future = sign(chain, bob, RUNTIME.call("system.remark", b"y" * 200), 3, tip=10**6)
    with pytest.raises(InvalidExtrinsic, match="the pool is full"):
        pool.submit(big_future.encode())
    attempts = [
        pay(chain, charlie, 2 * UNIT, 5, tip=1),  # replacement without a bump
        pay(chain, bob, 200_000 * UNIT, 0),  # more than bob has
        pay(chain, dave, UNIT, 0, tip=10**15 + 1),  # +1 base unit
        pay(chain, dave, UNIT, 70),  # too far ahead
    ]
    for x in attempts:
        with pytest.raises(InvalidExtrinsic):
            pool.submit(x.encode())
    assert snapshot(pool) == before and dropped == []
    assert cheap_future.hash() in pool and rich_ready.hash() in pool


def test_drop_reasons_are_ones_a_watcher_understands():
    chain = new_chain()
    (sender,) = funded(chain, [5 * UNIT])
    pool, dropped = make_pool(chain, max_count=3)
    pool.submit(pay(chain, sender, UNIT, 1).encode())
    pool.submit(pay(chain, sender, UNIT, 2).encode())
    pool.submit(pay(chain, sender, UNIT, 2, tip=1).encode())  # usurped
    include(chain, pool, [drain(chain, sender, 0)])  # invalid
    assert [why.split(":", 1)[0] for _, why in dropped] == ["usurped", "invalid", "invalid"]
    assert all(why.split(":", 1)[0] in WATCH_KINDS for _, why in dropped)


def test_a_node_drops_what_an_imported_block_leaves_unpayable():
    """The node wires the re-check in: a block from the network that sends a sender's money away takes that
    sender's pooled transactions with it, each reported through `on_dropped`."""
    from btt_chain.node.service import Node, NodeConfig, now_ms

    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=None, p2p_port=None))
    try:
        chain = node.chain
        bob = dev_keypair("bob")
        dropped: list[tuple[bytes, str]] = []
        node.pool.on_dropped = lambda h, why: dropped.append((h, why))
        pooled = [pay(chain, bob, UNIT, nonce, tip=UNIT) for nonce in range(1, 4)]
        for x in pooled:
            node.submit_extrinsic(x.encode())
        slot = max(chain.head.slot + 1, chain.clock.slot_at(now_ms()))
        while chain.clock.slot_start_ms(slot) > now_ms():  # a block may not claim a slot that has not started
            time.sleep(0.02)
        block = chain.build_block(slot, dev_keypair("alice"), [(x, len(x.encode())) for x in [drain(chain, bob, 0)]])
        assert node.import_block(block.encode()).status == "best"
        assert len(node.pool) == 0 and [h for h, _ in dropped] == [x.hash() for x in pooled]
        assert node.pool.last_recheck.dropped == 3
    finally:
        node.close()


def test_admission_reads_what_a_call_spends_from_the_head_blocks_runtime():
    """The pool reads a call's declaration (what it spends) from the runtime of the block the head's child would be,
    not from the newest spec's: a chain not yet upgraded is held to its own spec's calls."""
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    asked: list[int] = []

    def head_runtime():
        asked.append(chain.head.number + 1)
        return chain.runtime

    pool = TxPool(chain.validate_transaction, lambda who: system.account.get(chain.state(), who).nonce,
                  accounts=ChainAccounts(chain), head_runtime=head_runtime)
    pool.submit(pay(chain, sender, 2 * UNIT, 0).encode())
    assert asked == [chain.head.number + 1] and len(pool) == 1
    author_next(chain, [])
    pool.submit(pay(chain, sender, 2 * UNIT, 1).encode())
    assert asked[-1] == chain.head.number + 1 and len(pool) == 2
