"""A mortal transaction leaves the pool, as invalid (banned, its watcher told), at the first block its era no longer
covers, and not a block earlier: found by the `upgrade` testnet, where a transfer sent to a node still syncing was
signed against that node's old head, was refused by the rest of the network as expired, and waited in the syncing
node's pool as "ready" for ever. The rule is checked against the runtime's own admission check at every head of
random schedules (a transaction is pooled exactly while the chain would still take it), so the pool's arithmetic
cannot drift from the era rule."""

from __future__ import annotations

import random

import pytest

from btt_chain.node import txpool
from btt_chain.node.chain import Chain
from btt_chain.node.txpool import TxPool
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Era, Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_next, new_chain, new_pool

SENDERS = ("alice", "bob", "charlie", "eve", "ferdie")  # dave's balance is vesting


def signed(chain: Chain, sender: str, nonce: int, era: Era) -> Extrinsic:
    """A transfer from `sender` with `era` (a wallet's: born at the head it sees)."""
    birth = era.birth(chain.head.number)
    birth_hash = None if era.immortal else chain.db.canonical_hash(birth)
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair("dave").public,
                        UNIT // 100)
    return sign_extrinsic(dev_keypair(sender), call, nonce, chain.genesis_hash, RUNTIME.spec_version, era=era,
                          birth_hash=birth_hash)


def takes(chain: Chain, xt: Extrinsic) -> bool:
    """Whether the chain's admission check takes `xt` for the next block."""
    try:
        chain.validate_transaction(xt, len(xt.encode()))
    except InvalidExtrinsic:
        return False
    return True


def next_nonce(chain: Chain, pool: TxPool, sender: str) -> int:
    who = dev_keypair(sender).public
    nonce = system.account.get(chain.state(), who).nonce
    while any(t.sender == who and t.nonce == nonce for t in pool.pending()):
        nonce += 1
    return nonce


def test_a_mortal_transaction_leaves_at_the_first_block_its_era_does_not_cover() -> None:
    chain = new_chain()
    for _ in range(2):
        author_next(chain)
    pool, _ = new_pool(chain)
    dropped: list[tuple[bytes, str]] = []
    pool.on_dropped = lambda h, why: dropped.append((h, why))
    short = signed(chain, "bob", 0, Era.mortal(4, chain.head.number))  # born at #2: blocks #2..#5
    long = signed(chain, "charlie", 0, Era.mortal(64, chain.head.number))
    immortal = signed(chain, "eve", 0, Era())
    for xt in (short, long, immortal):
        pool.submit(xt.encode())
    born = short.era.birth(chain.head.number)
    while chain.head.number + 1 < born + short.era.period:
        assert short.hash() in pool and takes(chain, short)
        author_next(chain)  # a block that includes nothing
        pool.prune([], [])
    assert not takes(chain, short)  # the chain would no longer take it ...
    assert short.hash() not in pool  # ... and the pool no longer holds it
    (h, why), = dropped
    assert h == short.hash() and why.startswith("invalid: its mortal era ended at block #5 (born at #2, period 4)")
    assert long.hash() in pool and immortal.hash() in pool and len(pool) == 2
    with pytest.raises(InvalidExtrinsic, match="temporarily banned"):
        pool.submit(short.encode())
    assert len(pool) == 2 and len(dropped) == 1  # the refused resubmission changed nothing


def test_a_node_far_behind_drops_what_it_took_against_its_old_head_once_it_catches_up() -> None:
    """The testnet's case: a transaction signed against a lagging node's head, then many blocks at once (a sync
    round) take the node past its era; the first prune after them drops it."""
    ahead = new_chain()
    for _ in range(20):
        author_next(ahead)
    behind = new_chain(genesis=None)
    for n in range(1, 3):
        behind.import_block(ahead.db.get_block_bytes(ahead.db.canonical_hash(n)), 10**15)
    pool, _ = new_pool(behind)
    dropped: list[str] = []
    pool.on_dropped = lambda _h, why: dropped.append(why)
    stale = signed(behind, "bob", 0, Era.mortal(8, behind.head.number))
    pool.submit(stale.encode())
    for n in range(3, 21):
        behind.import_block(ahead.db.get_block_bytes(ahead.db.canonical_hash(n)), 10**15)
    assert stale.hash() in pool  # nothing told the pool yet
    pool.prune([], [])
    assert stale.hash() not in pool and len(dropped) == 1 and dropped[0].startswith("invalid: its mortal era ended")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_schedules_pool_exactly_what_the_chain_would_take(seed: int) -> None:
    """Random eras (immortal, 4 to 32 blocks), nonce chains, blocks that include some of the ready ones or none,
    and a short reorganisation-free run of 40 blocks: after every block and prune, each submitted transaction is in
    the pool exactly when it was neither included nor refused and the chain's admission check still takes it (a
    later nonce whose predecessor expired waits as future: the admission check takes it too)."""
    rng = random.Random(seed)
    chain = new_chain()
    pool, _ = new_pool(chain)
    dropped: dict[bytes, str] = {}
    pool.on_dropped = lambda h, why: dropped.setdefault(h, why)
    submitted: dict[bytes, Extrinsic] = {}
    included: set[bytes] = set()
    for _ in range(40):
        for _ in range(rng.randrange(0, 4)):
            sender = rng.choice(SENDERS)
            period = rng.choice((0, 4, 8, 16, 32))
            era = Era() if period == 0 else Era.mortal(period, chain.head.number)
            xt = signed(chain, sender, next_nonce(chain, pool, sender), era)
            pool.submit(xt.encode())
            submitted[xt.hash()] = xt
        ready = list(pool.ready())
        chosen = [t.xt for t in ready if rng.random() < 0.3]
        block = author_next(chain, chosen)[0].block
        in_block = [x.hash() for x in block.transactions if x.hash() in submitted]
        included.update(in_block)
        pool.prune(in_block, [])
        for h, xt in submitted.items():
            if h in included:
                assert h not in pool
                continue
            assert (h in pool) == takes(chain, xt), (h.hex()[:8], xt.era, chain.head.number, dropped.get(h))
            if h not in pool:
                assert dropped[h].startswith("invalid:"), dropped[h]
    assert any(why.startswith("invalid: its mortal era ended") for why in dropped.values())


def test_the_mortality_heap_stays_bounded_by_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Included transactions leave stale heap entries until their era would have ended (up to 65,536 blocks): the
    heap is rebuilt from the pool once it holds more than twice the pool and the slack, so a stream of long-lived
    mortal transactions cannot grow it without bound."""
    monkeypatch.setattr(txpool, "DEATHS_SLACK", 4)
    chain = new_chain()
    pool, _ = new_pool(chain)
    sizes = []
    for sender in SENDERS:
        xts = [signed(chain, sender, n, Era.mortal(65536, chain.head.number)) for n in range(3)]
        for xt in xts:
            pool.submit(xt.encode())
            sizes.append(len(pool._deaths))
            assert len(pool._deaths) <= 2 * len(pool) + 4 + 1  # the rebuild keeps it to the pool and the slack
        pool.prune([x.hash() for x in xts], [])  # as if a block included them: their entries stay behind
    assert len(pool) == 0 and max(sizes) <= 2 * 3 + 4 + 1 and len(sizes) == 3 * len(SENDERS)
