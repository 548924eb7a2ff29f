"""Wire messages of the sync and gossip protocols, strictly decoded (a peer's bytes are hostile).

Status:   [best number, best hash, finalized number, finalized hash], and after them [..., head spec, [specs]] (the
          spec that ran the best block and the specs the node can run, oldest first) when the request asked for them
          with [1] (`encode_status_request`); a request b"" (an older node's) gets the four fields its decoder takes.
          The same encoding, with the specs, is the node's opaque status in the p2p handshake (`p2p/wire.py`), which
          older nodes carry without reading.
Blocks:   request [from number, max count] -> response [[encoded block, encoded justification or b""], ...]; an entry
          carries more justifications after the first ([block, j1, j2, ...]) when its block is the checkpoint of
          several epochs (an epoch without blocks has the checkpoint of the one before)
Block:    request [block hash] -> response encoded block, or b"" if unknown
Gossip:   blocks [0, encoded block] (whole) or [1, encoded header] (announce: fetch the body by hash);
          txs [encoded extrinsic, ...]; votes: an encoded vote.
Justifications: request b"" -> [encoded justification, ...] (the latest, newest first); request [from epoch] -> the
          ones stored beside the canonical checkpoints of epochs from that one up (oldest first, at most
          MAX_JUSTIFICATIONS_FROM): what a node reads of a peer whose finality conflicts with its own
Keys:     request [session key, ...] (keys/auth) -> [encoded key authorization, ...] for the keys the peer keeps one of
Headers:  request [from number, max count] (sync/headers) -> [encoded header, ...] of the canonical chain, in order:
          what a node reads of a branch its finality refuses, to tell where that branch's checkpoints are
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError

MAX_BLOCKS_PER_REQUEST = 256
MAX_JUSTIFICATIONS_PER_BLOCK = 16
"""Justifications served beside one block, at most (the latest ones)."""
MAX_TXS_PER_BATCH = 512
GOSSIP_WHOLE_BLOCK_LIMIT = 50_000
"""Blocks up to this size travel whole in gossip; bigger ones are announced by header (P2P-NOTES: < 64 KiB)."""


MAX_SPECS = 16
"""Spec versions a status lists at most (a release carries the rules of a few)."""
MAX_STATUS_BYTES = 512
STATUS_WITH_SPECS = 1
"""The `sync/status` request of a node that reads the spec fields."""


@dataclass(frozen=True)
class PeerStatus:
    best_number: int
    best_hash: bytes
    finalized_number: int
    finalized_hash: bytes
    spec: int | None = None
    """The spec that ran the best block; None from a node that does not say (an older release)."""
    specs: tuple[int, ...] = ()
    """The specs the node can run, oldest first (empty with `spec` None)."""

    def without_specs(self) -> PeerStatus:
        """The four fields an older node's decoder takes."""
        return PeerStatus(self.best_number, self.best_hash, self.finalized_number, self.finalized_hash)

    def encode(self) -> bytes:
        fields: list[object] = [self.best_number, self.best_hash, self.finalized_number, self.finalized_hash]
        if self.spec is not None:
            fields += [self.spec, list(self.specs)]
        return pack(fields)

    @classmethod
    def decode(cls, raw: bytes) -> PeerStatus:
        value = unpack(raw, max_size=MAX_STATUS_BYTES)
        if (
            not isinstance(value, list)
            or len(value) not in (4, 6)
            or not all(type(value[i]) is int for i in (0, 2))
            or not all(isinstance(value[i], bytes) and len(value[i]) == 32 for i in (1, 3))
        ):
            raise DecodeError("status must be [number, hash32, number, hash32] or with [..., spec, [specs]] after")
        if len(value) == 4:
            return cls(value[0], value[1], value[2], value[3])
        spec, specs = value[4], value[5]
        if not (_is_spec(spec) and isinstance(specs, list) and 0 < len(specs) <= MAX_SPECS
                and all(_is_spec(s) for s in specs) and all(a < b for a, b in zip(specs, specs[1:], strict=False))):
            raise DecodeError(f"a status's spec must be a u32 and its specs 1 to {MAX_SPECS} ascending u32s")
        return cls(value[0], value[1], value[2], value[3], spec, tuple(specs))


def _is_spec(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**32


def encode_status_request(with_specs: bool = True) -> bytes:
    return pack([STATUS_WITH_SPECS]) if with_specs else b""


def decode_status_request(raw: bytes) -> bool:
    """Whether the asker reads the spec fields: b"" is an older node's request; [n] (n >= 1) a node that reads them
    (a later version gets what this one knows)."""
    if raw == b"":
        return False
    value = unpack(raw, max_size=16)
    if not (isinstance(value, list) and len(value) == 1 and type(value[0]) is int and value[0] >= 1):
        raise DecodeError("status request must be empty or [version]")
    return True


def encode_blocks_request(from_number: int, count: int) -> bytes:
    return pack([from_number, count])


def decode_blocks_request(raw: bytes) -> tuple[int, int]:
    value = unpack(raw, max_size=64)
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        raise DecodeError("blocks request must be [from number, count]")
    return value[0], min(value[1], MAX_BLOCKS_PER_REQUEST)


def encode_blocks_response(items: list[tuple[bytes, list[bytes]]]) -> bytes:
    """Blocks with the justifications stored beside each (none: one empty slot, as the first format had)."""
    return pack([[b, *(js or [b""])] for b, js in items])


def decode_blocks_response(raw: bytes, max_size: int) -> list[tuple[bytes, list[bytes]]]:
    """(block, its justifications, empty slots dropped) per entry."""
    value = unpack(raw, max_size=max_size)
    if not isinstance(value, list) or len(value) > MAX_BLOCKS_PER_REQUEST:
        raise DecodeError("blocks response must be a list of at most 256 entries")
    out = []
    for item in value:
        if not (isinstance(item, list) and 2 <= len(item) <= 1 + MAX_JUSTIFICATIONS_PER_BLOCK
                and all(isinstance(x, bytes) for x in item)):
            raise DecodeError(f"each blocks response entry must be [block bytes, justification bytes, ...] with at "
                              f"most {MAX_JUSTIFICATIONS_PER_BLOCK} justifications")
        out.append((item[0], [j for j in item[1:] if j]))
    return out


def encode_block_gossip(encoded_block: bytes, encoded_header: bytes) -> bytes:
    if len(encoded_block) <= GOSSIP_WHOLE_BLOCK_LIMIT:
        return pack([0, encoded_block])
    return pack([1, encoded_header])


def encode_block_announce(encoded_header: bytes) -> bytes:
    """A block announced by header whatever its size (peers that lack it fetch the body by hash)."""
    return pack([1, encoded_header])


def decode_block_gossip(raw: bytes) -> tuple[int, bytes]:
    value = unpack(raw, max_size=64 * 1024)
    if not (isinstance(value, list) and len(value) == 2 and value[0] in (0, 1) and isinstance(value[1], bytes)):
        raise DecodeError("block gossip must be [0, block] or [1, header]")
    return value[0], value[1]


def encode_bytes_list(items: list[bytes]) -> bytes:
    """Transaction batches and justification lists: a list of byte strings."""
    return pack(items)


def decode_bytes_list(raw: bytes, max_items: int = MAX_TXS_PER_BATCH, max_size: int = 64 * 1024) -> list[bytes]:
    value = unpack(raw, max_size=max_size)
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(x, bytes) for x in value):
        raise DecodeError(f"expected a list of at most {max_items} byte strings")
    return value


MAX_JUSTIFICATIONS_FROM = 32
"""Justifications one [from epoch] request returns at most."""
MAX_HEADERS_PER_REQUEST = 512
MAX_HEADER_BYTES = 1024
"""A header is about 300 bytes: anything much larger is not one."""
CONFLICT_PROBE_BACK = 8
"""Epochs below our finalized one a node starts reading the justifications of a peer whose finality conflicts with
ours from (where the forks met)."""


def encode_justifications_request(from_epoch: int | None) -> bytes:
    """The latest justifications (None), or those of the canonical checkpoints from `from_epoch` up."""
    return b"" if from_epoch is None else pack([from_epoch])


def decode_justifications_request(raw: bytes) -> int | None:
    if raw == b"":
        return None
    value = unpack(raw, max_size=64)
    if not (isinstance(value, list) and len(value) == 1 and type(value[0]) is int and 0 <= value[0] < 2**63):
        raise DecodeError("justifications request must be empty or [from epoch]")
    return value[0]


def encode_headers_request(from_number: int, count: int) -> bytes:
    return pack([from_number, count])


def decode_headers_request(raw: bytes) -> tuple[int, int]:
    value = unpack(raw, max_size=64)
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int and v >= 0 for v in value)):
        raise DecodeError("headers request must be [from number, count]")
    return value[0], min(value[1], MAX_HEADERS_PER_REQUEST)


def decode_hash_request(raw: bytes) -> bytes:
    value = unpack(raw, max_size=64)
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes) and len(value[0]) == 32):
        raise DecodeError("block request must be [hash32]")
    return value[0]
