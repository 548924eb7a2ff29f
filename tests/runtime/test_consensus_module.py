"""consensus (runtime module): the slot leader check and hash-chain reveals at block initialisation, the
schedule rotation at epoch boundaries, and the power table that weighs matured work credit against stake."""

from __future__ import annotations

from collections import Counter

import pytest

from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.hash_chain import hash_chain_for, mix_seed, reveal_step
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.keys import dev_keypair
from runtime.compute import credit
from runtime.compute import storage as compute
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.consensus import events, logic
from runtime.consensus import storage as consensus
from runtime.consensus.leader import slot_leader
from runtime.consensus.power import SCALE, power_table, stake_share, work_share
from runtime.consensus.types import EpochSchedule, RevealState
from runtime.context import BlockEnv
from runtime.system import storage as system
from tests.runtime.test_compute import MACS, Worker, post
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    SLOT_MS,
    TEST_HASH_CHAIN_LENGTH,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_noop,
    assert_ok,
    test_commitment,
    test_rotation_commitment,
)

MODEL = model_hash(reference_spec("breast-cancer-v1"))
THREE = {"alice": 10, "bob": 10, "charlie": 10}
BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 100_000, "dave": 1_000}


def reveal_of(name: str, index: int) -> bytes:
    """Preimage `index` of dev key `name`'s test hash chain (what TestChain puts in its headers)."""
    return hash_chain_for(dev_keypair(name).seed, TEST_HASH_CHAIN_LENGTH).reveal(index)


def name_of(key: bytes) -> str:
    return next(n for n in ("alice", "bob", "charlie", "dave", "eve", "ferdie") if acct(n) == key)


def current(chain: TestChain) -> EpochSchedule:
    schedule = consensus.current.get(chain.view())
    assert schedule is not None
    return schedule


def following(chain: TestChain) -> EpochSchedule:
    schedule = consensus.following.get(chain.view())
    assert schedule is not None
    return schedule


def run_to(chain: TestChain, number: int) -> None:
    while chain.number < number:
        chain.run_block([])


def next_env(chain: TestChain, author: bytes, reveal: bytes, slot: int | None = None) -> BlockEnv:
    """The environment of a hand-built next block at `slot` (default: the next slot)."""
    slot = chain.slot + 1 if slot is None else slot
    return BlockEnv(chain.number + 1, chain.parent_hash, slot, 1_000_000 + slot * SLOT_MS, author, reveal)


def entry(schedule: EpochSchedule, name: str):  # type: ignore[no-untyped-def]
    return next(e for e in schedule.table if e.account == acct(name))


# --- the leader and its reveal -------------------------------------------------------------------


def test_genesis_schedules_and_commitments() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    cur, nxt = current(chain), following(chain)
    assert (cur.epoch, nxt.epoch) == (0, 1)
    randomness = consensus.randomness.get(chain.view())
    assert cur.seed == logic.next_seed(randomness, 0) and nxt.seed == logic.next_seed(randomness, 1)
    assert [(e.account, e.session_key, e.bond, e.credit, e.weight) for e in cur.table] == [
        (acct(n), acct(n), 10 * UNIT, 0, SCALE // 6) for n in THREE
    ]
    for n in THREE:
        assert consensus.reveals.get(chain.view(), acct(n)) == RevealState(test_commitment(n), 0)
        assert logic.next_reveal_index(chain.view(), acct(n)) == 1
    assert logic.next_reveal_index(chain.view(), acct("dave")) is None


def test_every_block_is_by_the_slot_leader_and_folds_its_reveal_into_the_randomness() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    authors = []
    for _ in range(25):
        view = chain.view()
        slot = chain.slot + 1
        leader = logic.leader_of_slot(view, slot)
        assert leader is not None
        index = logic.next_reveal_index(view, leader)
        assert index is not None
        randomness = consensus.randomness.get(view)
        chain.run_block([])
        assert (chain.author, chain.slot) == (leader, slot)
        reveal = reveal_of(name_of(leader), index)
        assert consensus.reveals.get(chain.view(), leader) == RevealState(reveal, index)
        assert consensus.randomness.get(chain.view()) == mix_seed(randomness, reveal)
        authors.append(leader)
    counts = Counter(authors)
    assert set(counts) == {acct(n) for n in THREE}  # equal weights: everybody leads some slots
    assert sum(consensus.reveals.get(chain.view(), acct(n)).count for n in THREE) == 25


def test_a_block_by_a_non_leader_is_invalid() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    chain.run_block([])
    view = chain.view()
    leader = logic.leader_of_slot(view, chain.slot + 1)
    before = chain.snapshot()
    for name in THREE:
        if acct(name) == leader:
            continue
        index = logic.next_reveal_index(view, acct(name))
        assert index is not None
        env = next_env(chain, acct(name), reveal_of(name, index))  # a correct reveal, but not its slot
        with pytest.raises(InvalidBlock, match="not the leader of slot"):
            chain.executive.initialize_block(chain.backend, env)
    # nor may somebody outside the validator set author
    with pytest.raises(InvalidBlock, match="not the leader of slot"):
        chain.executive.initialize_block(chain.backend, next_env(chain, acct("dave"), reveal_of("dave", 1)))
    assert chain.snapshot() == before
    chain.run_block([])  # the leader's block is fine
    assert chain.author == leader


def test_a_block_with_a_wrong_reveal_is_invalid() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    run_to(chain, 3)
    view = chain.view()
    leader = logic.leader_of_slot(view, chain.slot + 1)
    assert leader is not None
    name = name_of(leader)
    index = logic.next_reveal_index(view, leader)
    assert index is not None
    state = consensus.reveals.get(view, leader)
    assert state is not None
    before = chain.snapshot()
    wrong = (
        ZERO_HASH,
        state.last,  # the last reveal again
        reveal_of(name, index + 1),  # one preimage too far
        reveal_of("dave" if name != "dave" else "bob", index),  # somebody else's chain
    )
    for reveal in wrong:
        with pytest.raises(InvalidBlock, match="reveal"):
            chain.executive.initialize_block(chain.backend, next_env(chain, leader, reveal))
    assert chain.snapshot() == before
    ex = chain.executive.initialize_block(chain.backend, next_env(chain, leader, reveal_of(name, index)))
    assert reveal_step(reveal_of(name, index)) == state.last
    assert consensus.reveals.get(ex.state, leader) == RevealState(reveal_of(name, index), index)


def test_an_epoch_with_no_block_gets_a_seed_of_its_own() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    run_to(chain, 2)
    view = chain.view()
    nxt = following(chain)
    slot = 13  # epoch 2: epoch 1 had no block
    skip = logic.schedule_for_epoch(view, 2)
    assert skip == nxt.replace(epoch=2, seed=blake2b_256(b"btt-epoch-skip" + nxt.seed + (2).to_bytes(8, "big")))
    leader = logic.leader_of_slot(view, slot)
    assert leader == logic.leader(skip, slot)
    assert leader is not None
    index = logic.next_reveal_index(view, leader)
    assert index is not None
    env = next_env(chain, leader, reveal_of(name_of(leader), index), slot)
    ex = chain.executive.initialize_block(chain.backend, env)
    assert consensus.current.get(ex.state) == skip
    assert events.EpochStarted(2, 3, skip.seed) in [e for _, e in ex.ctx.events]
    other = next(acct(n) for n in THREE if acct(n) != leader)
    with pytest.raises(InvalidBlock, match="not the leader"):
        chain.executive.initialize_block(chain.backend, next_env(chain, other, reveal_of(name_of(other), 1), slot))


# --- the schedule ------------------------------------------------------------------------------------


def test_the_schedule_rotates_at_the_epoch_boundary() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    for _ in range(4):
        chain.run_block([])
        assert not [e for e in chain.events() if isinstance(e, events.EpochStarted)]
        assert current(chain).epoch == 0
    nxt, randomness = following(chain), consensus.randomness.get(chain.view())
    chain.run_block([])  # slot 5: epoch 1
    assert chain.slot == 5
    assert current(chain) == nxt
    assert following(chain).epoch == 2
    assert following(chain).seed == logic.next_seed(randomness, 2)  # from the randomness before this block
    assert events.EpochStarted(1, 3, nxt.seed) in chain.events()
    run_to(chain, 10)
    assert current(chain).epoch == 2
    assert events.EpochStarted(2, 3, current(chain).seed) in chain.events()


def test_the_leader_schedule_is_deterministic_for_a_seed() -> None:
    chain = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    schedule = current(chain)
    first = [logic.leader(schedule, s) for s in range(1, 41)]
    assert first == [logic.leader(schedule, s) for s in range(1, 41)]
    assert first == [slot_leader([(e.session_key, e.weight) for e in schedule.table], schedule.seed, s)
                     for s in range(1, 41)]
    other = schedule.replace(seed=blake2b_256(b"another seed"))
    assert first != [logic.leader(other, s) for s in range(1, 41)]
    # two chains from one genesis agree block by block
    twin = GenesisBuilder(validators=THREE, epoch_slots=5).build()
    for _ in range(12):
        chain.run_block([])
        twin.run_block([])
        assert (chain.author, chain.slot) == (twin.author, twin.slot)
    assert consensus.randomness.get(chain.view()) == consensus.randomness.get(twin.view())
    assert current(chain) == current(twin)


def test_slots_are_drawn_by_weight() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    counts = Counter(slot_leader([(a, SCALE // 8), (b, 3 * SCALE // 8)], b"\x09" * 32, s) for s in range(4_000))
    assert 850 <= counts[a] <= 1_150 and counts[a] + counts[b] == 4_000
    assert slot_leader([(a, 0), (b, 0)], b"\x09" * 32, 1) is None


# --- the power table: work credit against stake --------------------------------------------------------


def work_chain(**params: int) -> TestChain:
    """alice validates with 10 BTT and provides compute with the same bond; bob validates with 30 BTT."""
    return GenesisBuilder(
        balances=BALANCES,
        validators={"alice": 10, "bob": 30},
        epoch_slots=10,
        # the sample is fixed by the next author and paid a block later: these tests follow credit, not sampling
        params={"compute.min_provider_bond": 10 * UNIT, "compute.challenge_window_ms": 1_000,
                "compute.sample_authors": 1, "compute.fraud_slash": UNIT, "compute.withheld_slash": UNIT, **params},
    ).build()


def earn_credit(chain: TestChain) -> tuple[int, int]:
    """alice (validator and provider) computes one 4-item job for charlie: the credit of its receipt, and the
    epoch whose first block moves it into the credit history (the credit matured in the epoch before)."""
    assert_ok(chain.submit("alice", "compute.register_provider", 4, 0, 0))
    job_id = post(chain, "charlie", price=1_000 * UNIT)
    chain.run_block([])
    assert_ok(Worker(chain, "alice").work(job_id))
    matures = system.timestamp_ms.get(chain.view()) + DEFAULT_PARAMS["compute.credit_maturity_ms"][0]
    return 4 * MACS, -(-(matures - 1_000_000) // 10_000)


def test_matured_work_credit_enters_the_power_table_capped_at_the_stake_share() -> None:
    chain = work_chain()
    earned, e = earn_credit(chain)
    run_to(chain, e * 10)  # epoch e starts: the credit matured during epoch e - 1
    assert compute.credit_history.get(chain.view(), acct("alice")) is not None
    assert credit.recent_credit(chain.view(), acct("alice"), e - 1, 30) == earned
    # epoch e+1's table was built at this block's start, from the state at the end of epoch e-1: no credit yet
    assert entry(following(chain), "alice").credit == 0
    before = entry(current(chain), "alice").weight
    run_to(chain, e * 10 + 10)
    table = following(chain).table  # epoch e+2, from the state at the end of epoch e
    assert following(chain).epoch == e + 2
    alice, bob = entry(following(chain), "alice"), entry(following(chain), "bob")
    assert (alice.bond, alice.credit, bob.bond, bob.credit) == (10 * UNIT, earned, 30 * UNIT, 0)
    assert work_share(alice, table) == SCALE
    assert stake_share(alice, table) == SCALE // 4
    # 1/2 * 1/4 + 1/2 * min(1, 1/4): the work share counts only up to the stake share
    assert alice.weight == SCALE // 4
    assert bob.weight == 3 * SCALE // 8
    assert table == power_table([(acct("alice"), acct("alice"), 10 * UNIT), (acct("bob"), acct("bob"), 30 * UNIT)],
                                {acct("alice"): earned})
    # before the work counted, alice had half her stake share
    assert before == entry(current(chain), "alice").weight == SCALE // 8
    run_to(chain, e * 10 + 20)
    assert current(chain).epoch == e + 2 and entry(current(chain), "alice").weight == SCALE // 4


def test_work_credit_leaves_the_power_table_after_the_window() -> None:
    chain = work_chain(**{"consensus.work_window_epochs": 2})
    earned, e = earn_credit(chain)
    run_to(chain, e * 10 + 10)
    assert entry(following(chain), "alice").credit == earned  # epoch e+2 counts epochs e-1 and e
    run_to(chain, e * 10 + 20)
    assert entry(following(chain), "alice").credit == 0  # epoch e+3 counts epochs e and e+1
    assert entry(following(chain), "alice").weight == SCALE // 8


def test_credit_of_a_provider_that_is_not_a_validator_does_not_count() -> None:
    chain = work_chain()
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "compute.register_provider", 4, 0, 0))
    job_id = post(chain, "charlie", price=1_000 * UNIT)
    chain.run_block([])
    assert_ok(Worker(chain, "dave").work(job_id))
    matures = system.timestamp_ms.get(chain.view()) + DEFAULT_PARAMS["compute.credit_maturity_ms"][0]
    e = -(-(matures - 1_000_000) // 10_000)
    run_to(chain, e * 10 + 10)
    assert credit.recent_credit(chain.view(), acct("dave"), e, 30) == 4 * MACS
    assert [(e.account, e.credit, e.weight) for e in following(chain).table] == [
        (acct("alice"), 0, SCALE // 8),
        (acct("bob"), 0, 3 * SCALE // 8),
    ]


def test_on_a_one_validator_chain_the_sample_is_fixed_on_time() -> None:
    chain = GenesisBuilder(balances=BALANCES, validators={"alice": 10}, epoch_slots=10,
                           params={"compute.min_provider_bond": 10 * UNIT, "compute.fraud_slash": UNIT,
                                   "compute.withheld_slash": UNIT}).build()
    assert_ok(chain.submit("alice", "compute.register_provider", 4, 0, 0))
    job_id = post(chain, "charlie", price=UNIT)
    chain.run_block([])
    worker = Worker(chain, "alice")
    assert_ok(worker.commit(job_id))
    start = compute.jobs.get(chain.view(), job_id).assignments[0].sample_from_slot  # type: ignore[union-attr]
    assert start % 10 == 0 and start >= 20  # the first slot of the second epoch after the commit window's
    run_to(chain, start - 1)
    assert worker.sample(job_id) == ()
    chain.run_block([])  # the first block from the sample start fixes it
    assert worker.sample(job_id)


def test_a_session_key_rotates_to_its_next_hash_chain() -> None:
    chain = GenesisBuilder(balances=BALANCES).build()
    chain.run_block([])  # alice reveals preimage 1 of chain 0
    new = test_rotation_commitment("alice", 1)
    assert_ok(chain.submit("alice", "consensus.rotate_hash_chain", new))
    assert events.HashChainRotated(acct("alice"), 1, new) in chain.events()
    assert consensus.reveals.get(chain.view(), acct("alice")) == RevealState(new, 0, 1)
    # the next block reveals preimage 1 of chain 1: TestChain follows the generation in the state
    chain.run_block([])
    rs = consensus.reveals.get(chain.view(), acct("alice"))
    assert (rs.count, rs.generation) == (1, 1) and reveal_step(rs.last) == new
    # the old chain's next value no longer counts
    old_next = hash_chain_for(dev_keypair("alice").seed, TEST_HASH_CHAIN_LENGTH).reveal(3)
    env = BlockEnv(chain.number + 1, chain.parent_hash, chain.slot + 1, 1_000_000 + (chain.slot + 1) * SLOT_MS,
                   acct("alice"), old_next)
    with pytest.raises(InvalidBlock, match="reveal"):
        chain.executive.initialize_block(chain.backend, env)


def test_only_a_session_key_may_rotate_and_re_registration_starts_a_new_generation() -> None:
    chain = GenesisBuilder(balances=BALANCES).build()
    assert_noop(chain, "bob", "consensus.rotate_hash_chain", b"\x01" * 32, error="NotASessionKey")
    assert consensus.set_commitment(chain.view(), acct("alice"), b"\x02" * 32) == 1  # a view: nothing is kept
    assert consensus.reveals.get(chain.view(), acct("alice")).generation == 0
