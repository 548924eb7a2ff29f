"""The part of a block's checks that needs no state, run in a signature worker while the block executes: decode
the block again there, hash its extrinsics (their Merkle root must be the header's), build each signing message
from the birth hashes the importer resolved, and verify every signature. The importer joins the result before it
commits anything (`Chain._execute`)."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.block import Block
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import Extrinsic, signing_payload_of_wire
from btt_chain.primitives.hashing import blake2b_256, merkle_root
from btt_chain.primitives.keys import verify


@dataclass(frozen=True)
class PrecheckResult:
    extrinsics_root: bytes
    hashes: list[bytes]
    """Each extrinsic's hash (its id), in block order."""
    sig_keys: list[bytes]
    """Each signature's cache key (blake2b-256 of message, signer and signature)."""
    valid: list[bool]


def precheck_block(encoded: bytes, births: list[bytes], genesis_hash: bytes, spec_version: int) -> PrecheckResult:
    """The block's encoding is unpacked (strictly: size, canonical form) but not decoded field by field: the importer
    decoded these very bytes before handing them over, so each extrinsic's wire form is known to be well-formed, and
    its encoding and signing message are packed straight from it."""
    wire = unpack(encoded)
    if type(wire) is not list or len(wire) != len(Block.WIRE) or type(wire[1]) is not list:
        raise DecodeError("not a block")
    hashes, keys, valid = [], [], []
    for xt, birth in zip(wire[1], births, strict=True):
        if type(xt) is not list or len(xt) != len(Extrinsic.WIRE):
            raise DecodeError("not an extrinsic")
        hashes.append(blake2b_256(pack(xt)))
        signer, signature = xt[0], xt[5]
        msg = signing_payload_of_wire(xt, genesis_hash, birth, spec_version)
        keys.append(blake2b_256(msg + signer + signature))
        valid.append(verify(signer, msg, signature))
    return PrecheckResult(merkle_root(hashes), hashes, keys, valid)
