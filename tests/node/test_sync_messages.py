"""Sync and gossip wire messages: round trips, and hostile bytes rejected with DecodeError only."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.node import sync
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import DecodeError


def test_round_trips():
    status = sync.PeerStatus(7, b"\x01" * 32, 3, b"\x02" * 32)
    assert sync.PeerStatus.decode(status.encode()) == status
    assert sync.decode_blocks_request(sync.encode_blocks_request(5, 64)) == (5, 64)
    assert sync.decode_blocks_request(sync.encode_blocks_request(5, 10_000)) == (5, sync.MAX_BLOCKS_PER_REQUEST)
    items = [(b"block", []), (b"other", [b"just"]), (b"third", [b"j1", b"j2"])]
    assert sync.decode_blocks_response(sync.encode_blocks_response(items), 1 << 20) == items
    # the first format's entries ([block, b""] and [block, justification]) decode alike
    assert sync.decode_blocks_response(pack([[b"block", b""], [b"other", b"just"]]), 1 << 20) == items[:2]
    assert sync.decode_bytes_list(sync.encode_bytes_list([b"a", b"b"])) == [b"a", b"b"]
    assert sync.decode_block_gossip(sync.encode_block_gossip(b"x" * 10, b"h")) == (0, b"x" * 10)
    big = b"x" * (sync.GOSSIP_WHOLE_BLOCK_LIMIT + 1)
    assert sync.decode_block_gossip(sync.encode_block_gossip(big, b"header")) == (1, b"header")
    assert sync.decode_hash_request(pack([b"\x03" * 32])) == b"\x03" * 32


@pytest.mark.parametrize(
    "decode, raw",
    [
        (sync.PeerStatus.decode, pack([1, b"\x01" * 31, 0, b"\x00" * 32])),
        (sync.PeerStatus.decode, pack([True, b"\x01" * 32, 0, b"\x00" * 32])),
        (sync.decode_blocks_request, pack([1])),
        (sync.decode_blocks_request, pack([1, "2"])),
        (lambda r: sync.decode_blocks_response(r, 1 << 20), pack([[b"a"]])),
        (lambda r: sync.decode_blocks_response(r, 1 << 20), pack([[b"a", b"b"]] * 300)),
        (lambda r: sync.decode_blocks_response(r, 1 << 20), pack([[b"a"] + [b"j"] * 17])),
        (lambda r: sync.decode_blocks_response(r, 1 << 20), pack([[b"a", b"j", 3]])),
        (sync.decode_block_gossip, pack([2, b"x"])),
        (sync.decode_block_gossip, pack([0, "text"])),
        (sync.decode_bytes_list, pack([b"a", 1])),
        (sync.decode_bytes_list, pack([b"a"] * 600)),
        (sync.decode_hash_request, pack([b"short"])),
        (sync.decode_hash_request, b"\xc1"),
    ],
)
def test_malformed_messages_are_rejected(decode, raw):
    with pytest.raises(DecodeError):
        decode(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(raw):
    for decode in (sync.PeerStatus.decode, sync.decode_blocks_request, sync.decode_block_gossip,
                   sync.decode_bytes_list, sync.decode_hash_request,
                   lambda r: sync.decode_blocks_response(r, 1 << 20)):
        try:
            decode(raw)
        except DecodeError:
            pass
