"""The next block's signatures checked while this one imports (`Chain.import_block(..., ahead=...)`): the verify
threads stay busy between blocks, and a guess never judges anything. A next block taken from the lookahead imports
to the same state as without it; a forged signature in it is still refused, with nothing written; a block that does
not follow, or bytes that do not decode, leave the import as it was."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from btt_chain.node import sigbatch
from btt_chain.node.chain import Chain
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
    assert ahead._lookahead is None and dict(ahead.db.kv.iterate()).keys() == dict(plain.db.kv.iterate()).keys()


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
    assert chain._lookahead is not None  # the forged block's checks, started ahead
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
    assert chain._lookahead is None  # nothing started for it
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
    assert started == [2] and chain._lookahead is None and chain.head.number == 1
    assert chain.import_block(blocks[1].encode(), far_future_ms()).status == "best"
