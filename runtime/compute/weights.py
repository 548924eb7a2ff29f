"""What the compute calls weigh: the import time of their work, from the sizes they name.

One weight unit is one microsecond of import on the reference host (a 2-core machine of this project's CI
kind), the unit `balances.transfer`'s weight of 100 is in. Re-executing a model dominates: `infer_weight`
follows the kernels of `runtime.compute.inference` layer by layer (multiply-accumulates, outputs requantised,
values laid out, pool passes, a fixed cost per layer). The constants were fitted (a linear program: the least
total over-estimate with every sample covered 1.3 times) to single layers of every kind and shape, batches of
1 to 64, then rounded up, and checked on whole models by `python -m bench.inference_bench`, which prints each
model's time beside its weight from the smallest allowed model to the largest and to the costliest per
multiply-accumulate. Measured 2026-11-23 (fastest of 7 runs, the host shared with other work): the weight
was 1.8 to 7.5 times the time on every rung and batch of 1, 8 and 64 items (1.8-2.4 for the largest dense
model, 2-3.5 for most models, up to 7.5 for 32 one-wide layers, whose fixed costs are charged at their worst);
taking a blob into use (`weights_load_weight`), 1.6 to 4.9 times. With two other processes busy on the host,
the lowest ratio fell to 1.16.

Every function is pure, cheap and total: a call naming a job or model that does not exist weighs its base (it
fails early), and a spec whose layers do not fit its shapes (no registered one) weighs more than any valid model.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from ..compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    MAX_CLASSES,
    MAX_INPUT_BYTES,
    MAX_LAYERS,
    MAX_MACS_PER_ITEM,
    MAX_WEIGHTS_BYTES,
    MAXPOOL,
    RELU,
    ModelSpec,
    input_bytes,
    output_bytes,
    shapes,
)

PS_PER_UNIT = 1_000_000
"""Picoseconds in a weight unit (the per-value constants below are in picoseconds)."""

INFER_CALL = 60
"""One batch through the integer inference: checking and joining the items, the argmax, the output items."""
INFER_ITEM_PS = 3_000_000
"""Per item of the batch (its output item built)."""
WEIGHT_LAYER = 310
"""Per dense or conv2d layer, per batch: some 40 numpy calls (weights laid out, requantisation set up); 40-120 us
typically, up to 250 measured."""
FEW_ROWS = 64
"""A weight layer with fewer rows than this (items times output positions) sums its products row by row..."""
MAC_FEW_ROWS_PS = 650
"""...at 0.65 ns a multiply-accumulate (measured up to 0.5: batches of one to a few items through dense layers)..."""
MAC_PS = 450
"""...else tap by tap, at 0.45 ns (measured up to 0.35, weights transposed once per batch included)."""
OUTPUT_PS = 21_000
"""Per output value of a weight layer: bias, saturation, scaling, rounding and clamping, in int64 (memory-bound:
3-10 ns typically, up to 30 when a batch's outputs overflow the cache)."""
LAID_PS = 400
"""Per int32 value a convolution lays out: its padded input, and its windows (im2col: kernel size x positions)."""
RUN_PS = 8_300
"""Per contiguous run of a convolution's windows copied (a kernel row of one channel over one output row)."""
POOL_LAYER = {MAXPOOL: 2, AVGPOOL: 11}
"""Per pooling layer, per batch (average pooling sets up its int32 sums and the rounding)."""
POOL_PASS = 5
"""Per kernel row and per kernel column of a pooling layer (one numpy call over the batch each)."""
POOL_PS = {MAXPOOL: 400, AVGPOOL: 1_700}
"""Per value a pooling layer compares (int8) or adds (int32): the rows' windows, then the columns'."""
POOL_RUN_PS = {MAXPOOL: 10_400, AVGPOOL: 6_500}
"""Per contiguous run of those values (short when the pooled image is narrow)."""
ELEMENT_LAYER = 18
"""Per relu or flatten layer, per batch."""
RELU_PS = 450
"""Per value a relu clamps."""

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

SERVE_MODEL = 300
"""A provider's serving entry for a model: the model and the provider read, one key written."""
REGISTER_MODEL = 1_000
"""Registering a model: its spec stored, the deposit taken, the event (the blob is not on chain: it is uploaded
after, by hash)."""
SPEC_LAYER = 20
"""Per layer of the spec at registration: its shape worked out and checked."""
MODEL_BYTES_PER_WEIGHT = 250
"""Blob bytes hashed (the chunk tree) and parsed (value ranges checked, tensors copied) per weight unit: measured
1.7-3 ns a byte for the largest blobs."""
LOAD_BLOB = 200
"""Parsing a blob besides its bytes and layers (70-160 us measured for the smallest, spec validation included)."""
LOAD_LAYER = 120
"""Per layer of the spec when its blob is parsed: a weight layer's four tensors read and checked (about 100 us
measured)."""


# --- re-executing a model ------------------------------------------------------------------------------------


Profile = tuple[int, int, tuple[tuple[int, int], ...]]


@functools.lru_cache(maxsize=1024)
def _profile(spec: ModelSpec) -> Profile:
    """(fixed picoseconds per batch, picoseconds per item besides the weight layers' products, and per weight
    layer its (multiply-accumulates, output positions) per item) of a spec whose layers fit its shapes; ValueError
    if they do not."""
    dims = shapes(spec)
    fixed = INFER_CALL * PS_PER_UNIT
    per_item = INFER_ITEM_PS
    products = []
    for i, layer in enumerate(spec.layers):
        shape, out = dims[i], dims[i + 1]
        if layer.kind == DENSE:
            fixed += WEIGHT_LAYER * PS_PER_UNIT
            products.append((shape[0] * layer.out, 1))
            per_item += OUTPUT_PS * layer.out
        elif layer.kind == CONV2D:
            c, h, w = shape
            kh, kw = layer.kernel
            top, left, bottom, right = layer.pads
            _, oh, ow = out
            fixed += WEIGHT_LAYER * PS_PER_UNIT
            products.append((math.prod(out) * c * kh * kw, oh * ow))
            per_item += (OUTPUT_PS * math.prod(out)
                         + LAID_PS * (c * (h + top + bottom) * (w + left + right) + c * kh * kw * oh * ow)
                         + RUN_PS * c * kh * oh * (kw + ow))
        elif layer.kind in (MAXPOOL, AVGPOOL):
            c = shape[0]
            kh, kw = layer.kernel
            _, oh, ow = out
            rows_used = (oh - 1) * layer.stride[0] + kh
            fixed += (POOL_LAYER[layer.kind] + POOL_PASS * (kh + kw)) * PS_PER_UNIT
            per_item += (POOL_PS[layer.kind] * c * (rows_used * ow * kw + oh * ow * kh)
                         + POOL_RUN_PS[layer.kind] * c * (rows_used * kw + oh * kh))
        elif layer.kind == RELU:
            fixed += ELEMENT_LAYER * PS_PER_UNIT
            per_item += RELU_PS * math.prod(out)
        elif layer.kind == FLATTEN:
            fixed += ELEMENT_LAYER * PS_PER_UNIT
    return fixed, per_item, tuple(products)


PER_VALUE_PS = (MAC_FEW_ROWS_PS + OUTPUT_PS + LAID_PS + RUN_PS + RELU_PS + max(POOL_PS.values())
                + max(POOL_RUN_PS.values()))
UNFIT: Profile = (
    (INFER_CALL + MAX_LAYERS * (WEIGHT_LAYER + POOL_LAYER[AVGPOOL] + 32 * POOL_PASS)) * PS_PER_UNIT,
    INFER_ITEM_PS + MAX_LAYERS * 2 * MAX_MACS_PER_ITEM * PER_VALUE_PS,
    (),
)
"""The profile charged for a spec whose layers do not fit its shapes (no registered spec): every layer of a
valid model has at most MAX_MACS_PER_ITEM products, and fewer than twice that many values of every other kind
(outputs, laid out, runs, pooled), so this is more than any valid model costs."""


def infer_weight(spec: ModelSpec, items: int) -> int:
    """Re-executing `items` items of the model as one batch (0 for no items)."""
    if items < 1:
        return 0
    try:
        fixed, per_item, products = _profile(spec)
    except (ValueError, TypeError, AttributeError, IndexError):
        fixed, per_item, products = UNFIT
    ps = fixed + items * per_item
    for macs, positions in products:
        ps += items * macs * (MAC_FEW_ROWS_PS if items * positions < FEW_ROWS else MAC_PS)
    return -(-ps // PS_PER_UNIT)


def register_model_weight(spec: ModelSpec) -> int:
    """Registering `spec`: validation grows with its layers (the blob is not on chain, so not hashed here)."""
    layers = len(spec.layers) if isinstance(spec.layers, tuple) else MAX_LAYERS
    return REGISTER_MODEL + SPEC_LAYER * min(layers, MAX_LAYERS)


def weights_load_weight(spec: ModelSpec) -> int:
    """A node taking the blob of `spec` into use: validating the spec, hashing the blob by chunks and parsing it
    (its size is the spec's, at most MAX_WEIGHTS_BYTES: a larger one is refused first). What a node spends the
    first time an import re-executes the model, or again once its parsed copy was evicted."""
    size = spec.weights_size if type(spec.weights_size) is int else MAX_WEIGHTS_BYTES
    layers = len(spec.layers) if isinstance(spec.layers, tuple) else MAX_LAYERS
    blob = min(max(size, 0), MAX_WEIGHTS_BYTES)
    return LOAD_BLOB + -(-blob // MODEL_BYTES_PER_WEIGHT) + LOAD_LAYER * min(layers, MAX_LAYERS)


# --- the work-proof calls ------------------------------------------------------------------------------------


def tree_depth(items: int) -> int:
    """Levels of the Merkle tree over `items` leaves (a path holds at most this many siblings)."""
    return max(0, items - 1).bit_length()


def item_bytes_weight(total_bytes: int) -> int:
    return (total_bytes + 1023) // 1024 * PER_KIB


def _item_widths(spec: ModelSpec) -> tuple[int, int]:
    """(input item bytes, output item bytes) of a valid spec; for one that is not, the largest allowed."""
    try:
        return input_bytes(spec), output_bytes(spec)
    except (ValueError, TypeError, AttributeError, IndexError):
        return MAX_INPUT_BYTES, 1 + MAX_CLASSES


def reveal_weight(spec: ModelSpec, items: int, openings: int) -> int:
    """A reveal opening `openings` items of a job of `items` items: two paths each, the model taken into use (it may
    be cold: charged always) and one batch re-executed."""
    paths = openings * 2 * tree_depth(items) * NODE_HASH
    width = sum(_item_widths(spec))
    return (REVEAL + openings * OPENING + paths + item_bytes_weight(openings * width) + weights_load_weight(spec)
            + infer_weight(spec, openings))


def challenge_weight(spec: ModelSpec, items: int) -> int:
    """A challenge of one item: its two paths, the model taken into use (it may be cold) and one item re-executed."""
    width = sum(_item_widths(spec))
    return (CHALLENGE + 2 * tree_depth(items) * NODE_HASH + item_bytes_weight(width) + weights_load_weight(spec)
            + infer_weight(spec, 1))


def chunk_weight(spec: ModelSpec, items: int, chunk_items: int, dispute: bool = False, sealed: bool = False) -> int:
    """A chunk of `chunk_items` outputs of a job of `items` items: leaves hashed, the range proof's levels, the
    chunk stored; and with `dispute` (the last chunk of a synthetic job another provider has posted outputs for),
    both providers' outputs compared and the first differing item re-executed. A private job's outputs (`sealed`)
    are 48 bytes longer each."""
    width = _item_widths(spec)[1] + (48 if sealed else 0)
    own = chunk_items * NODE_HASH + 2 * tree_depth(items) * NODE_HASH + item_bytes_weight(chunk_items * width)
    if not dispute:
        return POST_CHUNK + own
    return (POST_CHUNK + own + item_bytes_weight(2 * items * width) + weights_load_weight(spec)
            + infer_weight(spec, 1))


POST_INPUTS = 500
"""A chunk of a job's inputs besides its items: the job (and a private job's record) read, the chunk written, the
count moved (spec 17)."""


INPUT_ITEM = 4
"""One input item of a chunk: decoded, hashed as a leaf and stored. Measured 2026-11-28 (a block of one chunk imported
by a second node, less an empty block's, median of 5): 2.4 us an item at 1,024 items of 30 bytes (2,429 us), 2.3 at
722 of 64 (1,633 us); times 1.3 (3.1) and rounded up."""


def input_chunk_weight(spec: ModelSpec, items: int, chunk_items: int, sealed: bool = False) -> int:
    """A chunk of `chunk_items` inputs of a job of `items` items (a private job's sealed: 48 bytes longer each): leaves
    hashed, the range proof's levels, the chunk stored."""
    width = _item_widths(spec)[0] + (48 if sealed else 0)
    return (POST_INPUTS + chunk_items * INPUT_ITEM + 2 * tree_depth(items) * NODE_HASH
            + item_bytes_weight(chunk_items * width))


def unplaced_inputs_weight(items: Sequence[bytes]) -> int:
    """A `post_inputs` chunk for a job or model the chain does not hold: refused, its items decoded all the same (a
    reviewer measured ~9 ms for 24,576 empty items, 18 times the base weight)."""
    return POST_INPUTS + len(items) * INPUT_ITEM + item_bytes_weight(sum(len(x) for x in items))


def post_job_weight(spec: ModelSpec, items: int, synthetic: bool) -> int:
    """Posting a job; a synthetic job's inputs are drawn and hashed into its root on chain."""
    if not synthetic:
        return POST_JOB
    return POST_JOB + items * (SYNTHETIC_ITEM + NODE_HASH) + item_bytes_weight(items * _item_widths(spec)[0])


# --- private jobs -----------------------------------------------------------------------------------------------

SEAL = 80
"""One item re-sealed (an X25519 base-point multiplication and a crypto_box over at most 1 KiB): 48 us measured by
`btt-chain bench sealing` (2026-11-26, 2-core host shared with other work), times 1.3 and rounded up, as the weights
above."""
SET_BOX_KEY = 200
SUBMIT_SEALED = 300
FLAG_ITEMS = 300
FLAG_ITEM = 1
REVEAL_DECOYS = 500
DECOY = 20
"""Per revealed decoy beside its re-seal and path: its commitment hash and its case stored until the job closes."""


def reveal_decoys_weight(spec: ModelSpec, items: int, decoys: int) -> int:
    """The clinic's decoy reveal: each decoy re-sealed, its sealed item's path checked, hashed into the commitment and
    stored."""
    width = _item_widths(spec)[0]
    return (REVEAL_DECOYS + decoys * (SEAL + DECOY + tree_depth(items) * NODE_HASH)
            + item_bytes_weight(decoys * (2 * width + 48)))


def reveal_private_weight(spec: ModelSpec, items: int, openings: int) -> int:
    """A private reveal: a reveal's work, each decoy's output re-sealed to the clinic and its case read."""
    return reveal_weight(spec, items, openings) + openings * (SEAL + DECOY)


def open_case_weight(spec: ModelSpec, items: int) -> int:
    """Opening one private case: a challenge's work, the case re-sealed and its sealed output opened."""
    return challenge_weight(spec, items) + 2 * SEAL
