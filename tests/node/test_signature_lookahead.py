"""The next block's signatures checked while this one imports (`Chain.import_block(..., ahead=...)`): the verify
threads stay busy between blocks, and a guess never judges anything. A next block taken from the lookahead imports
to the same state as without it; a forged signature in it is still refused, with nothing written; a block that does
not follow, or bytes that do not decode, leave the import as it was."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from btt_chain.node import chain as chain_module
from btt_chain.node import sigbatch
from btt_chain.node.chain import LOOKAHEAD_BLOCKS, Chain
from btt_chain.node.sigcheck import PendingChecks, SignatureChecker
from btt_chain.primitives.block import Block, extrinsics_root
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.keys import dev_keypair
from storage.memory import MemoryStore
from tests.support.node_builder import UNIT, author_next, dev_genesis, far_future_ms, new_chain, transfer

pytestmark = pytest.mark.skipif(not sigbatch.AVAILABLE, reason="the compiled signature batch is not built")


def counting(checker: SignatureChecker) -> list[int]:
    """The size of every batch of checks `checker` starts from now on."""
    started: list[int] = []
    start = checker.start

    def counted(keys: Sequence[bytes], items: Sequence[tuple[bytes, bytes, bytes]]) -> PendingChecks:
        started.append(len(keys))
        return start(keys, items)

    checker.start = counted  # type: ignore[method-assign]
    return started


def three_blocks() -> list[Block]:
    """Three blocks of transfers, each born at the block before it or at genesis (mortal and immortal eras)."""
    author = new_chain()
    blocks = []
    for _ in range(3):
        xts = [transfer(author, "alice", "bob", UNIT), transfer(author, "bob", "charlie", UNIT)]
        imported, dropped = author_next(author, xts)
        assert dropped == []
        blocks.append(imported.block)
    return blocks


def test_the_next_blocks_signatures_are_checked_ahead_and_taken_by_its_import(threaded: SignatureChecker) -> None:
    blocks = three_blocks()
    encoded = [b.encode() for b in blocks]
    plain = Chain(MemoryStore(), dev_genesis(), SignatureChecker())
    ahead = Chain(MemoryStore(), dev_genesis(), threaded)
    started = counting(threaded)
    for i, raw in enumerate(encoded):
        plain.import_block(raw, far_future_ms())
        nxt = encoded[i + 1] if i + 1 < len(encoded) else None
        assert ahead.import_block(raw, far_future_ms(), ahead=nxt).status == "best"
        assert ahead.head.state_root == plain.head.state_root
    # block 1's checks, then each next block's started once (ahead), never again at its own import
    assert started == [len(b.extrinsics) for b in blocks]
    assert ahead._lookaheads == [] and dict(ahead.db.kv.iterate()).keys() == dict(plain.db.kv.iterate()).keys()


def test_a_forged_signature_in_the_block_checked_ahead_is_still_refused(threaded: SignatureChecker) -> None:
    blocks = three_blocks()
    inherent, first, second = blocks[1].extrinsics
    assert isinstance(second, Extrinsic)
    forged = second.replace(signature=second.signature[:-1] + bytes([second.signature[-1] ^ 1]))
    h = blocks[1].header
    header = h.replace(extrinsics_root=extrinsics_root([inherent, first, forged])).sealed(dev_keypair("alice"),
                                                                                         dev_genesis().hash)
    bad = Block(header, (inherent, first, forged)).encode()
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    assert chain.import_block(blocks[0].encode(), far_future_ms(), ahead=bad).status == "best"
    assert chain._lookaheads  # the forged block's checks, started ahead
    before = dict(chain.db.kv.iterate())
    with pytest.raises(InvalidBlock, match="extrinsic 2 has a bad signature"):
        chain.import_block(bad, far_future_ms())
    assert dict(chain.db.kv.iterate()) == before and chain.head.number == 1
    assert chain.import_block(blocks[1].encode(), far_future_ms()).status == "best"  # the sound one still imports


@pytest.mark.parametrize("guess", ["not a block", "a block that does not follow", "the block itself"])
def test_a_wrong_guess_changes_nothing(threaded: SignatureChecker, guess: str) -> None:
    blocks = three_blocks()
    nxt = {"not a block": b"\x00\x01junk", "a block that does not follow": blocks[2].encode(),
           "the block itself": blocks[0].encode()}[guess]
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    assert chain.import_block(blocks[0].encode(), far_future_ms(), ahead=nxt).status == "best"
    assert chain._lookaheads == []  # nothing started for it
    assert chain.import_block(blocks[1].encode(), far_future_ms()).status == "best"
    plain = Chain(MemoryStore(), dev_genesis(), SignatureChecker())
    for b in blocks[:2]:
        plain.import_block(b.encode(), far_future_ms())
    assert chain.head.state_root == plain.head.state_root


def test_checks_ahead_that_do_not_match_the_block_imported_are_not_taken(threaded: SignatureChecker) -> None:
    """Another block of the same height arrives instead of the one guessed: its own signatures are checked, and the
    block guessed still imports after."""
    blocks = three_blocks()
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    assert chain.import_block(blocks[0].encode(), far_future_ms(), ahead=blocks[1].encode()).status == "best"
    inherent, first, _ = blocks[1].extrinsics
    h = blocks[1].header
    other = Block(h.replace(extrinsics_root=extrinsics_root([inherent, first])).sealed(dev_keypair("alice"),
                                                                                       dev_genesis().hash),
                  (inherent, first))
    started = counting(threaded)
    with pytest.raises(InvalidBlock, match="state root"):  # one transfer short of the header's state
        chain.import_block(other.encode(), far_future_ms())
    assert started == [2] and chain._lookaheads == [] and chain.head.number == 1
    assert chain.import_block(blocks[1].encode(), far_future_ms()).status == "best"


@pytest.fixture
def two_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two blocks checked ahead (the node checks `LOOKAHEAD_BLOCKS`, one): the queue's rules hold for any depth."""
    monkeypatch.setattr(chain_module, "LOOKAHEAD_BLOCKS", 2)


def test_only_the_blocks_the_node_looks_ahead_to_are_started(threaded: SignatureChecker) -> None:
    blocks = three_blocks()
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    started = counting(threaded)
    chain.import_block(blocks[0].encode(), far_future_ms(), ahead=[b.encode() for b in blocks[1:]])
    assert len(chain._lookaheads) == LOOKAHEAD_BLOCKS == len(started) - 1


def test_two_blocks_ahead_are_checked_once_each_and_taken_in_order(threaded: SignatureChecker, two_ahead: None) -> None:
    """With the next two blocks at hand and looked ahead to, block 3's checks start during block 1's import, its
    transfers born at block 2 (a block not yet imported: its hash is the expected block's), and are taken unchanged."""
    blocks = three_blocks()
    encoded = [b.encode() for b in blocks]
    plain = Chain(MemoryStore(), dev_genesis(), SignatureChecker())
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    started = counting(threaded)
    for i, raw in enumerate(encoded):
        plain.import_block(raw, far_future_ms())
        assert chain.import_block(raw, far_future_ms(), ahead=encoded[i + 1 : i + 3]).status == "best"
        assert chain.head.state_root == plain.head.state_root
        if i == 0:
            assert started == [len(b.extrinsics) for b in blocks], "blocks 2 and 3 started during block 1's import"
    assert started == [len(b.extrinsics) for b in blocks], "never again at their own imports"
    assert chain._lookaheads == []


def test_a_forged_signature_two_blocks_ahead_is_still_refused(threaded: SignatureChecker, two_ahead: None) -> None:
    blocks = three_blocks()
    inherent, first, second = blocks[2].extrinsics
    assert isinstance(second, Extrinsic)
    forged = second.replace(signature=second.signature[:-1] + bytes([second.signature[-1] ^ 1]))
    header = blocks[2].header.replace(extrinsics_root=extrinsics_root([inherent, first, forged])).sealed(
        dev_keypair("alice"), dev_genesis().hash)
    bad = Block(header, (inherent, first, forged)).encode()
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    assert chain.import_block(blocks[0].encode(), far_future_ms(), ahead=[blocks[1].encode(), bad]).status == "best"
    assert [la.encoded for la in chain._lookaheads] == [blocks[1].encode(), bad]
    assert chain.import_block(blocks[1].encode(), far_future_ms(), ahead=[bad]).status == "best"
    before = dict(chain.db.kv.iterate())
    with pytest.raises(InvalidBlock, match="extrinsic 2 has a bad signature"):
        chain.import_block(bad, far_future_ms())
    assert dict(chain.db.kv.iterate()) == before and chain.head.number == 2
    assert chain.import_block(blocks[2].encode(), far_future_ms()).status == "best"


@pytest.mark.parametrize("second", ["not a block", "a block that does not follow the first"])
def test_a_wrong_second_guess_keeps_the_first_and_changes_nothing(
    threaded: SignatureChecker, second: str, two_ahead: None,
) -> None:
    blocks = three_blocks()
    guess = {"not a block": b"\x00junk", "a block that does not follow the first": blocks[0].encode()}[second]
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    started = counting(threaded)
    assert chain.import_block(blocks[0].encode(), far_future_ms(), ahead=[blocks[1].encode(), guess]).status == "best"
    assert [la.encoded for la in chain._lookaheads] == [blocks[1].encode()]
    assert chain.import_block(blocks[1].encode(), far_future_ms()).status == "best"
    assert started == [len(blocks[0].extrinsics), len(blocks[1].extrinsics)], "block 2's checks taken from ahead"


def test_checks_queued_for_blocks_no_longer_expected_are_dropped(threaded: SignatureChecker, two_ahead: None) -> None:
    """Block 1 is imported expecting blocks 2 and 3; block 2 is then imported expecting another block 3: the queued
    checks of the first block 3 are not taken for it, and the other block 3 gets its own."""
    blocks = three_blocks()
    inherent, first, _ = blocks[2].extrinsics
    other = Block(blocks[2].header.replace(extrinsics_root=extrinsics_root([inherent, first])).sealed(
        dev_keypair("alice"), dev_genesis().hash), (inherent, first))
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    started = counting(threaded)
    chain.import_block(blocks[0].encode(), far_future_ms(), ahead=[blocks[1].encode(), blocks[2].encode()])
    chain.import_block(blocks[1].encode(), far_future_ms(), ahead=[other.encode()])
    assert [la.encoded for la in chain._lookaheads] == [other.encode()]
    assert started[-1] == len(other.extrinsics)
    with pytest.raises(InvalidBlock, match="state root"):  # one transfer short of the header's state
        chain.import_block(other.encode(), far_future_ms())
    assert chain.import_block(blocks[2].encode(), far_future_ms()).status == "best"
