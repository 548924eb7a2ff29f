"""What the compute calls weigh: the import time of their work, from the sizes they name.

One weight unit is one microsecond of import on the reference host (a 2-core machine of this project's CI
kind), the unit `balances.transfer`'s weight of 100 is in. The figures below were measured there with
`btt-chain bench receipt` (which prints each call's weight beside its measured import time, from the smallest
valid model to the largest) and rounded up; re-executing a model dominates, and it costs by the model's
multiply-accumulates per item (`macs_per_item`), its layer count and the items run. Every function is pure,
cheap and total: a call naming a job or model that does not exist weighs its base (it fails early).
"""

from __future__ import annotations

from runtime.compute.model import ModelSpec, input_bytes, macs_per_item, output_bytes

INFER_CALL = 20
"""One batch through the integer inference: array set-up and the argmax."""
INFER_LAYER = 70
"""Per weight layer of the model, per batch: the weight matrix widened to int64, the activations laid out again."""
INFER_PER_10K_MACS = 15
"""Per 10,000 multiply-accumulates of the first item of a batch (1.5 ns each: the widest layers measured
1.0-1.6 ns for one item)."""
BATCH_PER_10K_MACS = 8
"""Per 10,000 multiply-accumulates of every further item of the batch (batches of 8 measured 0.5-1.1 ns a
multiply-accumulate for layers 256 to 1,024 wide)."""
NODE_HASH = 2
"""One Merkle node hashed and compared (blake2b of 65 bytes in Python)."""
PER_KIB = 4
"""Per KiB of item bytes decoded, hashed as leaves and written to state."""

COMMIT = 400
"""A commit: the job and its assignment read and written, the sample queue appended to."""
REVEAL = 450
"""A reveal besides its openings: the commitment checked, the verdict, the challenge window entered."""
OPENING = 40
"""Per opening: its input and output taken apart and checked against the job."""
CHALLENGE = 200
"""A challenge besides its item: the job and the provider's assignment read, the verdict written."""
DEMAND = 500
POST_CHUNK = 600
"""A chunk of outputs besides its items: the assignment read, the chunk written, the fee paid back."""
POST_JOB = 600
SYNTHETIC_ITEM = 4
"""Per item of a synthetic job at posting: the item drawn from SHAKE-256 and hashed into the input root."""


def infer_weight(spec: ModelSpec, items: int) -> int:
    """Re-executing `items` items of the model as one batch."""
    layers = len(spec.layers)
    macs = macs_per_item(spec)
    if items < 1:
        return 0
    first = macs * INFER_PER_10K_MACS // 10_000
    return INFER_CALL + INFER_LAYER * layers + first + (items - 1) * macs * BATCH_PER_10K_MACS // 10_000


def tree_depth(items: int) -> int:
    """Levels of the Merkle tree over `items` leaves (a path holds at most this many siblings)."""
    return max(0, items - 1).bit_length()


def item_bytes_weight(total_bytes: int) -> int:
    return (total_bytes + 1023) // 1024 * PER_KIB


def reveal_weight(spec: ModelSpec, items: int, openings: int) -> int:
    """A reveal opening `openings` items of a job of `items` items: two paths each, and one batch re-executed."""
    paths = openings * 2 * tree_depth(items) * NODE_HASH
    width = input_bytes(spec) + output_bytes(spec)
    return REVEAL + openings * OPENING + paths + item_bytes_weight(openings * width) + infer_weight(spec, openings)


def challenge_weight(spec: ModelSpec, items: int) -> int:
    """A challenge of one item: its two paths and one item re-executed."""
    width = input_bytes(spec) + output_bytes(spec)
    return CHALLENGE + 2 * tree_depth(items) * NODE_HASH + item_bytes_weight(width) + infer_weight(spec, 1)


def chunk_weight(spec: ModelSpec, items: int, chunk_items: int, dispute: bool = False) -> int:
    """A chunk of `chunk_items` outputs of a job of `items` items: leaves hashed, the range proof's levels, the
    chunk stored; and with `dispute` (the last chunk of a synthetic job another provider has posted outputs for),
    both providers' outputs compared and the first differing item re-executed."""
    width = output_bytes(spec)
    own = chunk_items * NODE_HASH + 2 * tree_depth(items) * NODE_HASH + item_bytes_weight(chunk_items * width)
    if not dispute:
        return POST_CHUNK + own
    return POST_CHUNK + own + item_bytes_weight(2 * items * width) + infer_weight(spec, 1)


def post_job_weight(spec: ModelSpec, items: int, synthetic: bool) -> int:
    """Posting a job; a synthetic job's inputs are drawn and hashed into its root on chain."""
    if not synthetic:
        return POST_JOB
    return POST_JOB + items * (SYNTHETIC_ITEM + NODE_HASH) + item_bytes_weight(items * input_bytes(spec))

REGISTER_MODEL = 1_000
"""Registering a model: its spec validated (shapes, work) and stored."""
SPEC_LAYER = 20
"""Per layer of the spec: its shape worked out and checked."""


def register_model_weight(spec: ModelSpec) -> int:
    """Registering `spec`: validation grows with its layers (the blob is not on chain, so not hashed here)."""
    return REGISTER_MODEL + SPEC_LAYER * len(spec.layers)
