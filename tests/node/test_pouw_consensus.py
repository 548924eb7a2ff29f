"""Work-weighted consensus with several validators in one process: every node checks the slot leader, the
hash-chain reveal and the receipts root of every block, and reaches the same state from the same blocks."""

from __future__ import annotations

import pytest

from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from runtime.consensus import logic as consensus
from runtime.consensus import storage as consensus_storage
from tests.support.node_builder import author_as_leader, devnet_genesis, far_future_ms, new_chain

VALIDATORS = ("alice", "bob", "charlie", "eve")
KEYS = {dev_keypair(n).public: dev_keypair(n) for n in VALIDATORS}


def run_epochs(chain, blocks: int) -> None:
    for _ in range(blocks):
        author_as_leader(chain, VALIDATORS)


def test_four_validators_rotate_schedules_and_a_second_node_reaches_the_same_state():
    g = devnet_genesis(4, epoch_slots=5)
    a, b = new_chain(genesis=g), new_chain(genesis=g)
    run_epochs(a, 16)
    authors = set()
    for n in range(1, a.head.number + 1):
        block = a.db.get_block(a.db.canonical_hash(n))
        authors.add(block.header.author)
        b.import_block(block.encode(), far_future_ms())
    assert b.head_hash == a.head_hash and b.head.state_root == a.head.state_root
    assert len(authors) > 1, "the schedule gave every slot to one validator"
    assert consensus_storage.current.get(b.state()).epoch == consensus.epoch_of(b.state(), b.head.slot) >= 3
    assert consensus_storage.randomness.get(b.state()) == consensus_storage.randomness.get(a.state())


def _next_valid_block(chain) -> Block:
    """A valid next block (built, not committed) by whichever validator leads the first upcoming slot."""
    for slot in range(chain.head.slot + 1, chain.head.slot + 50):
        leader = chain.leader(slot)
        if leader in KEYS:
            return chain.build_block(slot, KEYS[leader], [])
    raise AssertionError("no validator leads a slot soon")


def _tamper(chain, block: Block, **fields) -> tuple[bytes, object]:
    header = block.header.replace(**fields)
    signer = KEYS[header.author]
    return Block(header.sealed(signer, chain.genesis_hash), block.extrinsics).encode(), header


def test_a_block_by_a_validator_that_does_not_lead_the_slot_is_invalid():
    g = devnet_genesis(4, epoch_slots=5)
    a, b = new_chain(genesis=g), new_chain(genesis=g)
    block = _next_valid_block(a)
    other = next(k for k in KEYS if k != block.header.author)
    encoded, _ = _tamper(b, block, author=other)
    with pytest.raises(InvalidBlock, match="not the leader"):
        b.import_block(encoded, far_future_ms())
    b.import_block(block.encode(), far_future_ms())  # the real one is fine
    assert b.head_hash == block.hash()


def test_a_wrong_reveal_is_invalid_and_the_right_one_cannot_be_chosen():
    g = devnet_genesis(4, epoch_slots=5)
    a, b = new_chain(genesis=g), new_chain(genesis=g)
    block = _next_valid_block(a)
    pair = KEYS[block.header.author]
    assert block.header.digest.reveal == a.reveal_for(pair)  # fixed by the hash chain, the same on every fork
    encoded, _ = _tamper(b, block, digest=block.header.digest.replace(reveal=blake2b_256(b"ground")))
    with pytest.raises(InvalidBlock, match="reveal"):
        b.import_block(encoded, far_future_ms())
    assert b.head.number == 0


def test_a_receipts_root_that_does_not_match_execution_is_invalid():
    g = devnet_genesis(4, epoch_slots=5)
    a, b = new_chain(genesis=g), new_chain(genesis=g)
    block = _next_valid_block(a)
    encoded, _ = _tamper(b, block, receipts_root=blake2b_256(b"receipts"))
    with pytest.raises(InvalidBlock, match="receipts root"):
        b.import_block(encoded, far_future_ms())
    assert b.head.number == 0


def test_the_reveal_index_follows_each_branch():
    g = devnet_genesis(4, epoch_slots=5)
    a = new_chain(genesis=g)
    run_epochs(a, 6)
    for key, pair in KEYS.items():
        count = consensus_storage.reveals.get(a.state(), key).count
        authored = sum(
            1 for n in range(1, a.head.number + 1) if a.db.get_block(a.db.canonical_hash(n)).header.author == key
        )
        assert count == authored
        assert consensus.next_reveal_index(a.state(), key) == authored + 1
        assert a.reveal_for(pair) != a.reveal_for(KEYS[next(k for k in KEYS if k != key)])


def test_a_key_whose_hash_chain_does_not_match_its_commitment_cannot_author():
    g = devnet_genesis(4, epoch_slots=5)
    a = new_chain(genesis=g)
    pair = dev_keypair("alice")
    view = a.state()
    consensus_storage.set_commitment(view, pair.public, blake2b_256(b"someone else's chain"))
    with pytest.raises(InvalidBlock, match="does not match the commitment"):
        a.reveal_for(pair, view)
    with pytest.raises(InvalidBlock, match="no hash-chain commitment"):
        a.reveal_for(dev_keypair("dave"))


def test_a_validator_outlives_its_hash_chain_by_rotating_to_the_next():
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec, materialise, parse_chain_spec
    from tests.support.node_builder import GENESIS_TIME_MS

    doc = materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS)
    doc["consensus"]["hash_chain_length"] = 32
    g = build_genesis(parse_chain_spec(doc))
    a, b = new_chain(genesis=g), new_chain(genesis=g)
    alice = dev_keypair("alice")
    rotations = 0
    for _ in range(100):  # three chains of 32 reveals would not be enough without rotating
        due = a.rotation_due(alice)
        xts = [] if due is None else [due[1]]
        rotations += due is not None
        _, dropped = a.author_block(a.head.slot + 1, alice, [(x, len(x.encode())) for x in xts])
        assert not dropped
    rs = consensus_storage.reveals.get(a.state(), alice.public)
    assert rs.generation == rotations >= 3 and rs.count <= 32
    for n in range(1, a.head.number + 1):
        b.import_block(a.db.get_block(a.db.canonical_hash(n)).encode(), far_future_ms())
    assert b.head_hash == a.head_hash
