"""The header of the block whose child runs a new spec carries Substrate's `RuntimeEnvironmentUpdated` digest item
(issue 50: "Substrate clients follow the boundary"; polkadot-api, over a node without the new JSON-RPC spec, learns of
a new runtime from that item alone). On the recorded spec-11 chain upgraded by referendum (tests/node/
test_upgrade_boundary.py's fixture): block AT-1 carries it and no other block does; the item is covered by the seal
and the hash; System.Digest lists it; and a block that lies about it either way is refused on import, with nothing
changed, while the true block then imports."""

from __future__ import annotations

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives import scale
from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.errors import DecodeError, InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.virtual_storage import DIGEST_KEY, VirtualStorage
from storage.memory import MemoryStore
from tests.node.test_recorded_chain import RECORDED_PRESET
from tests.node.test_upgrade_boundary import OLD, upgraded  # noqa: F401 - the fixture
from tests.support.node_builder import dev_genesis, far_future_ms

UPDATED = b"\x08"


def canonical(chain: Chain, number: int) -> bytes:
    block_hash = chain.db.canonical_hash(number)
    assert block_hash is not None
    return block_hash


def header_at(chain: Chain, number: int) -> Header:
    h = chain.db.get_header(canonical(chain, number))
    assert h is not None
    return h


def raw_block(chain: Chain, number: int) -> bytes:
    raw = chain.db.get_block_bytes(canonical(chain, number))
    assert raw is not None
    return raw


def test_only_the_last_block_before_the_upgrade_carries_the_item(upgraded: tuple[Chain, int]) -> None:  # noqa: F811
    chain, at = upgraded
    flagged = [n for n in range(chain.head.number + 1) if header_at(chain, n).runtime_updated]
    assert flagged == [at - 1]
    last_old = header_at(chain, at - 1)
    items = last_old.digest_items()
    assert len(items) == 4 and items[2] == UPDATED and items[3][0] == 5  # before the seal, as FRAME deposits it
    assert [len(header_at(chain, n).digest_items()) for n in (at - 2, at, at + 1)] == [3, 3, 3]
    again = Header.decode(last_old.encode())
    assert again == last_old and again.runtime_updated and again.hash() == last_old.hash()


def test_the_seal_and_the_hash_cover_the_item(upgraded: tuple[Chain, int]) -> None:  # noqa: F811
    chain, at = upgraded
    last_old = header_at(chain, at - 1)
    assert last_old.verify_seal(chain.genesis_hash)
    stripped = last_old.replace(runtime_updated=False)
    assert not stripped.verify_seal(chain.genesis_hash)  # the pre-hash holds the item: the seal no longer matches
    assert stripped.hash() != last_old.hash()
    assert last_old.pre_hash_encoding().endswith(UPDATED)
    assert len(last_old.encode()) == len(stripped.encode()) + 1


def test_system_digest_lists_the_items_but_the_seal(upgraded: tuple[Chain, int]) -> None:  # noqa: F811
    chain, at = upgraded
    digests = VirtualStorage(chain)
    for n in (at - 2, at - 1, at):
        items = header_at(chain, n).digest_items()
        assert digests.get(DIGEST_KEY, canonical(chain, n)) == scale.encode_vec(items[:-1])
    assert (digests.get(DIGEST_KEY, canonical(chain, at - 1)) or b"").endswith(UPDATED)


def test_a_block_that_lies_about_the_runtime_update_is_refused_and_changes_nothing(
        upgraded: tuple[Chain, int]) -> None:  # noqa: F811
    """Block AT-2 re-sealed with the item, then AT-1 re-sealed without it (by its own author, so the seal holds):
    each is refused with the reason and the chain stays where it was; the true blocks import after them."""
    chain, at = upgraded
    alice = dev_keypair("alice")
    fresh = Chain(MemoryStore(), dev_genesis(preset=RECORDED_PRESET, spec_version=OLD))
    for n in range(1, at - 2):
        assert fresh.import_block(raw_block(chain, n), far_future_ms()).status == "best"
    for n, lie in ((at - 2, True), (at - 1, False)):
        true = Block.decode(raw_block(chain, n))
        forged = Block(true.header.replace(runtime_updated=lie).sealed(alice, fresh.genesis_hash), true.extrinsics)
        before = (fresh.head_hash, fresh.head.state_root)
        with pytest.raises(InvalidBlock, match="RuntimeEnvironmentUpdated"):
            fresh.import_block(forged.encode(), far_future_ms())
        assert (fresh.head_hash, fresh.head.state_root) == before
        assert fresh.import_block(true.encode(), far_future_ms()).status == "best"
    assert fresh.head.runtime_updated and fresh.head_hash == canonical(chain, at - 1)


def test_malformed_digests_are_refused() -> None:
    """Only Compact(3) with no item or Compact(4) with the item right before the seal decode."""
    plain = Header(bytes(32), 1, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    flagged = plain.replace(runtime_updated=True)
    count_at = 32 + 1 + 64  # after the parent hash, Compact(1) and the two roots
    enc, flagged_enc = plain.encode(), flagged.encode()
    item_at = len(flagged_enc) - (1 + 4 + 2 + 64) - 1  # before the seal: kind, engine, Compact(64), signature
    assert (flagged_enc[count_at], flagged_enc[item_at]) == (4 << 2, 8)
    assert flagged_enc[:item_at] + flagged_enc[item_at + 1:] == enc[:count_at] + b"\x10" + enc[count_at + 1:]
    assert Header.decode(flagged_enc) == flagged and Header.decode(enc) == plain

    def with_count(data: bytes, count: int) -> bytes:
        return data[:count_at] + bytes([count << 2]) + data[count_at + 1:]

    refused = {
        "a count of 4 without the item": with_count(enc, 4),
        "the item under a count of 3": with_count(flagged_enc, 3),
        "a count of 5": with_count(flagged_enc, 5),
        "a count of 2": with_count(enc, 2),
        "the item after the seal": with_count(enc, 4) + b"\x08",
        "the item twice": with_count(flagged_enc[:item_at] + b"\x08" + flagged_enc[item_at:], 5),
        **{f"kind {kind} in its place": flagged_enc[:item_at] + bytes([kind]) + flagged_enc[item_at + 1:]
           for kind in (0, 4, 5, 6)},
    }
    for why, bad in refused.items():
        with pytest.raises(DecodeError):
            Header.decode(bad)
            pytest.fail(why)


def test_the_item_must_be_a_bool() -> None:
    with pytest.raises(DecodeError, match="runtime_updated"):
        Header(bytes(32), 1, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest(),
               runtime_updated=1).encode()  # type: ignore[arg-type]
