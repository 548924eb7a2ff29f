"""The compiled ed25519 batch (`btt_chain.node.sigbatch`, `_sigbatch.c`) against the chain's rule
(`btt_chain.primitives.ed25519.verify`): the pinned speccheck vectors and every edge of checks 1-3 get the same
verdict; items shared by several threads and the caller are each checked once; and a block imported with its
signatures on verify threads is refused for a bad signature with the same error as in process, with nothing
written, then the sound block imports."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from btt_chain.node import sigbatch
from btt_chain.node.chain import Chain
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives import ed25519
from btt_chain.primitives.block import Block, extrinsics_root
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.extrinsic import Extrinsic, Inherent
from btt_chain.primitives.keys import Keypair, dev_keypair
from storage.memory import MemoryStore
from tests.support.node_builder import UNIT, author_next, dev_genesis, far_future_ms, new_chain, transfer

pytestmark = pytest.mark.skipif(not sigbatch.AVAILABLE, reason="the compiled signature batch is not built")

CASES = Path(__file__).parents[1] / "data" / "ed25519_speccheck_cases.json"


def speccheck() -> list[tuple[bytes, bytes, bytes]]:
    return [(bytes.fromhex(c["pub_key"]), bytes.fromhex(c["message"]), bytes.fromhex(c["signature"]))
            for c in json.loads(CASES.read_text())]


def le(n: int) -> bytes:
    return (n % 2**256).to_bytes(32, "little")


def edge_items() -> list[tuple[bytes, bytes, bytes]]:
    """Valid signatures and each of them broken at every edge the rule draws: S around L, A and R around p, each
    small-order y with either sign bit, wrong lengths, flipped bits, empty and long messages."""
    pair = Keypair((5).to_bytes(32, "big"))
    rng = random.Random(7)
    items: list[tuple[bytes, bytes, bytes]] = []
    for length in (0, 1, 150, 256, 1000, 5000):
        msg = bytes(rng.randrange(256) for _ in range(length))
        sig = pair.sign(msg)
        pk = pair.public
        items.append((pk, msg, sig))
        r, s = sig[:32], sig[32:]
        for bad_s in (ed25519.L - 1, ed25519.L, ed25519.L + 1, 2**256 - 1, int.from_bytes(s, "little") + ed25519.L):
            items.append((pk, msg, r + le(bad_s)))
        for y in (ed25519.P - 1, ed25519.P, ed25519.P + 1, 2**255 - 1, *ed25519.SMALL_ORDER_Y):
            for sign in (0, 1 << 255):
                point = le(y | sign)
                items.append((point, msg, sig))
                items.append((pk, msg, point + s))
        items.append((pk[:31], msg, sig))
        items.append((pk + b"\x00", msg, sig))
        items.append((pk, msg, sig[:63]))
        items.append((pk, msg, sig + b"\x00"))
        for _ in range(6):
            which = rng.randrange(3)
            fields = [bytearray(pk), bytearray(msg), bytearray(sig)]
            if fields[which]:
                i = rng.randrange(len(fields[which]))
                fields[which][i] ^= 1 << rng.randrange(8)
            items.append((bytes(fields[0]), bytes(fields[1]), bytes(fields[2])))
    return items


def test_every_vector_and_edge_gets_the_rules_verdict() -> None:
    items = speccheck() + edge_items()
    expected = [ed25519.verify(pk, msg, sig) for pk, msg, sig in items]
    assert True in expected and False in expected
    for threads in (0, 1, 3):
        verifier = sigbatch.ThreadVerifier(threads)
        try:
            assert verifier.verify(items) == expected
        finally:
            verifier.close()


def test_items_shared_by_threads_and_the_caller_are_each_checked_once() -> None:
    pair = Keypair((9).to_bytes(32, "big"))
    rng = random.Random(3)
    items = []
    for i in range(600):
        msg = i.to_bytes(4, "big")
        sig = pair.sign(msg)
        if rng.random() < 0.1:
            sig = sig[:5] + bytes([sig[5] ^ 0x10]) + sig[6:]
        items.append((pair.public, msg, sig))
    expected = [ed25519.verify(*item) for item in items]
    batch = sigbatch._sigbatch.Batch(items)  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="not finished"):
        batch.verdicts()
    verifier = sigbatch.ThreadVerifier(3)
    try:
        pending = verifier.start(items)
        assert pending.result() == expected == pending.result()
        counts = [batch.run() for _ in range(2)]
        assert counts == [600, 0] and batch.done()
        assert [v == 1 for v in batch.verdicts()] == expected
    finally:
        verifier.close()


def test_a_batch_refuses_what_is_not_bytes_triples() -> None:
    with pytest.raises(TypeError):
        sigbatch._sigbatch.Batch([(b"a", b"b")])  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        sigbatch._sigbatch.Batch([(b"a", "b", b"c")])  # type: ignore[union-attr]


def _block_with(block: Block, xts: tuple[Inherent | Extrinsic, ...]) -> bytes:
    h = block.header
    header = h.replace(extrinsics_root=extrinsics_root(list(xts))).sealed(dev_keypair("alice"), dev_genesis().hash)
    return Block(header, xts).encode()


def test_a_bad_signature_on_the_verify_thread_refuses_the_block_and_writes_nothing(threaded: SignatureChecker) -> None:
    author = new_chain()
    xts = [transfer(author, "alice", "bob", UNIT), transfer(author, "bob", "charlie", UNIT),
           transfer(author, "charlie", "alice", UNIT)]
    imported, dropped = author_next(author, xts)
    assert dropped == []
    inherent, *signed = imported.block.extrinsics
    forged = signed[1].replace(signature=signed[1].signature[:-1] + bytes([signed[1].signature[-1] ^ 1]))
    # the forged transfer also overspends nothing and executes fine: only its signature is wrong; and a block whose
    # forged extrinsic would fail to execute (a stale nonce) names the signature too, as the in-process path does
    stale = signed[2].replace(nonce=signed[2].nonce + 5, signature=bytes(64))
    for bad, index in ((_block_with(imported.block, (inherent, signed[0], forged, signed[2])), 2),
                       (_block_with(imported.block, (inherent, signed[0], signed[1], stale)), 3)):
        errors = []
        for checker in (threaded, SignatureChecker()):
            chain = Chain(MemoryStore(), dev_genesis(), checker)
            before = dict(chain.db.kv.iterate())
            root = chain.tree.root
            with pytest.raises(InvalidBlock) as err:
                chain.import_block(bad, far_future_ms())
            assert dict(chain.db.kv.iterate()) == before and chain.tree.root == root
            assert chain.head.number == 0
            errors.append(str(err.value))
        assert errors[0] == errors[1] == f"extrinsic {index} has a bad signature"
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    assert chain.import_block(imported.block.encode(), far_future_ms()).status == "best"
    assert chain.head.state_root == imported.block.header.state_root


def test_a_body_that_is_not_the_headers_is_refused_first_and_the_right_one_still_imports(
    threaded: SignatureChecker,
) -> None:
    author = new_chain()
    imported, _ = author_next(author, [transfer(author, "alice", "bob", UNIT)])
    inherent, xt = imported.block.extrinsics
    other = transfer(author, "bob", "charlie", UNIT).replace(signature=bytes(64))  # and a bad signature besides
    wrong = Block(imported.block.header, (inherent, other)).encode()  # the header unchanged: its root is not this
    chain = Chain(MemoryStore(), dev_genesis(), threaded)
    before = dict(chain.db.kv.iterate())
    with pytest.raises(InvalidBlock, match="extrinsics root does not match the block body"):
        chain.import_block(wrong, far_future_ms())
    assert dict(chain.db.kv.iterate()) == before and not chain.knows(imported.hash)
    assert chain.import_block(imported.block.encode(), far_future_ms()).status == "best"


def test_remember_many_is_remember_one_by_one() -> None:
    """A block's valid signatures remembered at once: the same cache, in the same order, the oldest evicted, as
    `remember` one after the other (repeats, keys already known and the no-signature marker included)."""
    import random

    from btt_chain.node.precheck import NO_SIGNATURE
    from btt_chain.node.sigcheck import SignatureChecker

    rng = random.Random(5)
    pool = [bytes([i]) * 8 for i in range(40)] + [NO_SIGNATURE]
    one, many = SignatureChecker(cache_size=25), SignatureChecker(cache_size=25)
    for _ in range(200):
        keys = [rng.choice(pool) for _ in range(rng.randrange(0, 30))]
        for key in keys:
            one.remember(key)
        many.remember_many(keys)
        assert list(one._cache) == list(many._cache)
