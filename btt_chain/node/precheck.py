"""The part of a block's checks that needs no state, run in a signature worker while the block executes: decode
the block again there, hash its extrinsics (their Merkle root must be the header's), build each signing message
from the birth hashes the importer resolved, and verify every signature. The importer joins the result before it
commits anything (`Chain._execute`)."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.block import Block
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
    block = Block.decode(encoded)
    hashes = [xt.hash() for xt in block.extrinsics]
    keys, valid = [], []
    for xt, birth in zip(block.extrinsics, births, strict=True):
        msg = xt.signing_payload(genesis_hash, birth, spec_version)
        keys.append(blake2b_256(msg + xt.signer + xt.signature))
        valid.append(verify(xt.signer, msg, xt.signature))
    return PrecheckResult(merkle_root(hashes), hashes, keys, valid)
