"""The part of a block's checks that needs no state, run in the signature workers while the block executes: split
the block again there, hash its extrinsics (their Merkle root must be the header's), build each signing message
from the birth hashes the importer resolved, and verify every signature. With several workers each takes a run of
the extrinsics (`precheck_part`) and the importer joins the runs (`join_parts`) before it commits anything
(`Chain._execute`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.block import split_block
from btt_chain.primitives.extrinsic import (
    SIGNATURE_LENGTHS,
    SIGNED_PAYLOAD_HASH_OVER,
    UNSIGNED_V4,
    signing_payload_of_body,
)
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, blake2b_256, merkle_root
from btt_chain.primitives.signatures import verify_multi

NO_SIGNATURE = b""
"""The check key of an extrinsic without a signature (an inherent): it passes the signature checks; the runtime
judges it."""


@dataclass(frozen=True)
class PrecheckResult:
    extrinsics_root: bytes
    hashes: list[bytes]
    """Each extrinsic's hash (its id), in block order."""
    sig_keys: list[bytes]
    """Each signature's cache key (blake2b-256 of message, signer and signature)."""
    valid: list[bool]


def precheck_block(encoded: bytes, births: list[bytes], genesis_hash: bytes, spec_version: int) -> PrecheckResult:
    """The whole block's checks in one process."""
    return join_parts([precheck_part(encoded, births, genesis_hash, spec_version, 0)])


def precheck_part(
    encoded: bytes, births: list[bytes], genesis_hash: bytes, spec_version: int, start: int
) -> tuple[list[bytes], list[bytes], list[bool]]:
    """(hashes, signature cache keys, verdicts) of the extrinsics [start, start + len(births)). The block's encoding
    is split into its extrinsics' encodings but not decoded field by field: the importer decoded these very bytes
    before handing them over, so each extrinsic is known to be well-formed, and its signing message is cut straight
    from its body."""
    _, extrinsics = split_block(encoded)
    hashes, keys, valid = [], [], []
    for xt, birth in zip(extrinsics[start : start + len(births)], births, strict=True):
        hashes.append(blake2b_256(xt))
        body = xt[1:] if xt[0] & 0b11 == 0 else xt[2:] if xt[0] & 0b11 == 1 else xt[4:]
        if body[0] == UNSIGNED_V4:  # an inherent: no signature (the runtime checks it)
            keys.append(NO_SIGNATURE)
            valid.append(True)
            continue
        signer, signature, msg = signing_payload_of_body(body, genesis_hash, birth, spec_version)
        keys.append(blake2b_256(msg + signer + signature))
        valid.append(verify_multi(signer, msg, signature))
    return hashes, keys, valid


def signature_items(
    extrinsics: list[bytes], births: list[bytes], genesis_hash: bytes, spec_version: int, tx_version: int
) -> tuple[list[bytes], list[tuple[bytes, bytes, bytes]]]:
    """(signature cache keys, (signer, message, MultiSignature) checks) of a well-formed block's extrinsics (their
    encodings, as `split_block` gives them), cut from their bodies as `signing_payload_of_body` cuts them, verifying
    nothing: for an importer whose signatures go to verify threads (`btt_chain.node.sigbatch`). An inherent's key is
    NO_SIGNATURE and its check empty. One loop over the encodings, each sliced in place (no copy of its body): the
    importing thread runs it for every block (5,000 extrinsics: ~6 against ~7.5 ms through
    `signing_payload_of_body`; the same bytes, tests/node/test_precheck_items.py)."""
    versions = spec_version.to_bytes(4, "little") + tx_version.to_bytes(4, "little") + genesis_hash
    if _NATIVE_ITEMS is not None and type(extrinsics) is list and type(births) is list:
        try:  # the same cut in C (btt_chain/node/_sigbatch.c; tests/node/test_precheck_items.py holds them equal)
            cut: tuple[list[bytes], list[tuple[bytes, bytes, bytes]]] = _NATIVE_ITEMS(
                extrinsics, births, versions, _LENGTHS, NO_SIGNATURE, SIGNED_PAYLOAD_HASH_OVER)
            return cut
        except ValueError:  # not a decoded block's encodings: cut below, which says what is wrong
            pass
    keys: list[bytes] = []
    items: list[tuple[bytes, bytes, bytes]] = []
    suffixes: dict[bytes, bytes] = {}
    blake2b = hashlib.blake2b
    lengths = SIGNATURE_LENGTHS
    for xt, birth in zip(extrinsics, births, strict=True):
        mode = xt[0] & 0b11
        at = 1 if mode == 0 else 2 if mode == 1 else 4  # the body, after the length prefix
        if xt[at] == UNSIGNED_V4:
            keys.append(NO_SIGNATURE)
            items.append((b"", b"", b""))
            continue
        extra = at + 35 + lengths[xt[at + 34]]
        pos = extra + 1 if xt[extra] == 0 else extra + 2  # the era
        for _ in range(2):  # nonce, tip: compact integers
            mode = xt[pos] & 0b11
            pos += 1 if mode == 0 else 2 if mode == 1 else 4 if mode == 2 else 5 + (xt[pos] >> 2)
        suffix = suffixes.get(birth)
        if suffix is None:
            suffix = suffixes[birth] = versions + birth
        payload = xt[pos:] + xt[extra:pos] + suffix  # the call, the extra, then the rest
        msg = blake2b(payload, digest_size=32).digest() if len(payload) > SIGNED_PAYLOAD_HASH_OVER else payload
        signer = xt[at + 2 : at + 34]
        signature = xt[at + 34 : extra]
        keys.append(blake2b(msg + signer + signature, digest_size=32).digest())
        items.append((signer, msg, signature))
    return keys, items


_LENGTHS = tuple(SIGNATURE_LENGTHS[scheme] for scheme in range(3))
"""The signature length of each MultiSignature variant (0 ed25519, 1 sr25519, 2 ecdsa), for the compiled cut."""


def _compiled(name: str) -> Any:
    """The function `name` of the compiled signature module (btt_chain/node/_sigbatch.c), None where it is not built."""
    try:
        from btt_chain.node import _sigbatch  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(_sigbatch, name, None)


_NATIVE_ITEMS = _compiled("signature_items")
_NATIVE_ROOT = _compiled("extrinsic_hashes_root")


def extrinsic_hashes_root(encodings: list[bytes]) -> tuple[list[bytes], bytes] | None:
    """(each extrinsic's hash, the extrinsics root over them) from a block's encodings, computed compiled
    (btt_chain/node/_sigbatch.c; tests/node/test_precheck_items.py holds it to `merkle_root`): None where that is not
    built."""
    if _NATIVE_ROOT is None or type(encodings) is not list:
        return None
    hashed: tuple[list[bytes], bytes] = _NATIVE_ROOT(encodings, EMPTY_MERKLE_ROOT)
    return hashed


def join_parts(parts: list[tuple[list[bytes], list[bytes], list[bool]]]) -> PrecheckResult:
    """The whole block's result from its runs, in order: the extrinsics root over all the hashes."""
    hashes = [h for part in parts for h in part[0]]
    keys = [k for part in parts for k in part[1]]
    return PrecheckResult(merkle_root(hashes), hashes, keys, [v for part in parts for v in part[2]])
