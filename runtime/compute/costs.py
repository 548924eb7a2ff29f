"""What serving a job costs a provider in inclusion fees, and how its outputs are cut into chunks.

A job must pay every provider at least what the chain charges it to do the job's on-chain part: its commit,
its reveal, and posting all its outputs (a requester may demand them, a dispute forces them). So spam jobs cost
their poster what they make providers spend, and no honest provider works at a loss. The figures are upper
bounds of the fees at the current fee parameters, undiscounted, computed from sizes: an extrinsic's envelope
(signer, signature, era, nonce, tip, call index) is at most `ENVELOPE` bytes, a hash in a list at most
`LISTED_HASH`, an item at most its bytes plus `ITEM_PREFIX`.

Outputs are posted in chunks, in order, each holding `chunk_items` items except the last (which holds the
rest): a fixed plan, so that a job's posting cost is known at posting and nobody can split outputs into
thousands of one-item chunks.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import params
from ..compute.model import ModelSpec, input_bytes, output_bytes
from ..compute.types import MAX_CHUNK_BYTES, SEAL_BYTES
from ..compute.weights import (
    COMMIT,
    chunk_weight,
    reveal_private_weight,
    reveal_weight,
    tree_depth,
)
from ..fees.logic import compute_fee
from ..params.storage import get_param

ENVELOPE = 192
"""Bytes of an extrinsic around its call's arguments, at most (measured: 136-178 with the current codec)."""
LISTED_HASH = 36
"""Bytes of one 32-byte hash inside a list, with its length prefix, at most."""
ITEM_PREFIX = 4
"""Bytes of an item's length prefix, at most."""
U64_BYTES = 9


def output_width(spec: ModelSpec, sealed: bool = False) -> int:
    """Bytes of one output item as it is posted: a private job's (`sealed`) is sealed to its clinic."""
    return output_bytes(spec) + (SEAL_BYTES if sealed else 0)


def chunk_items(spec: ModelSpec, sealed: bool = False) -> int:
    """Output items in every chunk but the last."""
    return max(1, MAX_CHUNK_BYTES // (output_width(spec, sealed) + ITEM_PREFIX))


def chunk_plan(spec: ModelSpec, items: int, sealed: bool = False) -> list[tuple[int, int]]:
    """The chunks, as (first item, item count), in which a job's outputs are posted."""
    per = chunk_items(spec, sealed)
    return [(start, min(per, items - start)) for start in range(0, items, per)]


def fee(state: Overlay, length: int, weight: int) -> int:
    """The undiscounted inclusion fee of an extrinsic of `length` bytes and `weight`."""
    return compute_fee(state, length, weight).inclusion_fee


def commit_cost(state: Overlay) -> int:
    return fee(state, ENVELOPE + U64_BYTES + LISTED_HASH, COMMIT)


def reveal_cost(state: Overlay, spec: ModelSpec, items: int) -> int:
    n = min(get_param(state, params.SAMPLE_SIZE), items)
    opening = U64_BYTES + 2 * ITEM_PREFIX + input_bytes(spec) + output_bytes(spec) + 2 * tree_depth(items) * LISTED_HASH
    length = ENVELOPE + U64_BYTES + 2 * LISTED_HASH + ITEM_PREFIX + n * opening
    return fee(state, length, reveal_weight(spec, items, n))


def chunk_cost(state: Overlay, spec: ModelSpec, items: int, count: int, sealed: bool = False) -> int:
    """The fee of posting one chunk of `count` outputs of a job of `items` items."""
    length = (ENVELOPE + 3 * U64_BYTES + 2 * ITEM_PREFIX + count * (output_width(spec, sealed) + ITEM_PREFIX)
              + 2 * tree_depth(items) * LISTED_HASH)
    return fee(state, length, chunk_weight(spec, items, count, sealed=sealed))


def posting_cost(state: Overlay, spec: ModelSpec, items: int, sealed: bool = False) -> int:
    """The fees of posting all of a job's outputs, chunk by chunk (a private job's sealed to its clinic)."""
    return sum(chunk_cost(state, spec, items, n, sealed) for _, n in chunk_plan(spec, items, sealed))


def provider_costs(state: Overlay, spec: ModelSpec, items: int) -> int:
    """What one provider pays in fees to commit, reveal and post every output of a job."""
    return commit_cost(state) + reveal_cost(state, spec, items) + posting_cost(state, spec, items)


def private_reveal_cost(state: Overlay, spec: ModelSpec, items: int, decoys: int) -> int:
    """The fee of a private job's reveal: every decoy opened (its output, the secret it was sealed to the clinic with,
    and the sealed output's path)."""
    opening = U64_BYTES + ITEM_PREFIX + output_bytes(spec) + LISTED_HASH + tree_depth(items) * LISTED_HASH
    length = ENVELOPE + U64_BYTES + 2 * LISTED_HASH + ITEM_PREFIX + decoys * opening
    return fee(state, length, reveal_private_weight(spec, items, decoys))


def private_provider_costs(state: Overlay, spec: ModelSpec, items: int, decoys: int) -> int:
    """What a private job's provider pays in fees: its commit and the reveal of every decoy (a private job's outputs,
    sealed to its clinic, are never posted on chain)."""
    return commit_cost(state) + private_reveal_cost(state, spec, items, decoys)


def min_price(state: Overlay, spec: ModelSpec, items: int, redundancy: int, decoys: int = 0) -> int:
    """The least price a job may offer: every one of its providers' costs (a private job, one with `decoys`: its one
    provider's)."""
    if decoys:
        return private_provider_costs(state, spec, items, decoys)
    return redundancy * provider_costs(state, spec, items)
