"""A requester's job inputs on chain before anyone is made to work on them (spec 17).

Until spec 16 a requester's own inputs (a public job's, given by their root; a private job's, sealed to its provider)
reached the provider off chain only, and nothing made the requester hand them over. A requester that gave a root and
withheld the items behind it made every provider drawn for the job miss its commit window: the missed-assignment fee
and a pause for the provider, the place back to the market, the next provider drawn, and nothing at all for the
requester. One job could pause provider after provider, and a few could corner the market. So from spec 17 the items
behind the root are on chain, posted by the requester in the chunks of `input_chunk_plan` (in order, each with a range
proof to the root), before the chain holds a provider to them:

- A public job with an input root (not synthetic: a seed's inputs follow from the seed) is drawn only once all its
  inputs are on chain (`drawable`). Until then it waits, paying rent for its place, evictable like any job nobody
  committed to; its requester posts them any time after the post.
- A private job's items are sealed to the provider drawn, so they can be posted only after the draw: the clinic gives
  the sealed root (`submit_sealed_inputs`) and every sealed item by the end of its sealing window; a provider commits
  only to a job whose sealed items are all on chain (`private.require_sealed`). A clinic that gives a root and not the
  items is treated as one that gave no root: it pays the missed-assignment fee and the provider is released without
  a penalty (`private.unsealed`). A provider drawn again after a stall gets a fresh sealing: the items posted for the
  one before are dropped.

After that, the provider reads the items from any node (`btt_jobInputs`), so a provider that misses its window missed
it by itself; and a sealed item that does not open is on chain for everyone to see (`flag_items` stays the answer).
The requester pays the posting fees. The items stay in the state while the job is open and while any result of it can
still be challenged (a challenger needs a public job's inputs), and leave it then (`release`).

A job posted, or a private job drawn, before spec 17 owes nothing here (no `owed` entry) and runs by spec 16's rules
until a place of it stalls: from then on it owes its inputs too (`progress.stall_due`), so a job posted just before
the upgrade with a root and nothing behind it costs one provider one stall, not one a commit window to its deadline.
A place that failed (`reassign`) is posted again with the inputs its job held on chain (`held`, `carry`), and a job
that owed none posts one that owes none.

From spec 18 the job posted again reads its original's chunks instead of a copy of them (`inputs_from`), and the chunks
stay while any job reads them (`sharers`). Spec 17 copied them: up to a megabyte a failed place (1,024 items of 1,024
bytes), written for nobody's fee, 64 times a block from `progress.reveal_due` alone, each copy a state entry until the
job posted again closed, so a provider failing on purpose multiplied a job's paid inputs by its redundancy. Now
carrying is two small entries whatever the inputs' size. `held` pins the chunks before the failed place can close its
job, `carry` turns the pin into the new job's reference, and a reassign that posts nothing gives the pin back
(`unpin`); the last reference dropped, after the job that posted them released them, drops the chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from btt_chain.primitives.codec import U32, U64, Bytes, ListOf
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import verify_merkle_range
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..compute import errors, events, storage
from ..compute.model import ModelSpec, input_bytes
from ..compute.models import get_model
from ..compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    COMMITTED,
    JOB_OPEN,
    LATE,
    MAX_CHUNK_BYTES,
    MAX_CHUNK_ITEMS,
    MAX_SEALED_INPUT,
    SEAL_BYTES,
    SETTLED,
    VERIFIED,
    Job,
)
from ..items import ID_KEY, StorageMap, u64_from_key, u64_key

HELD = (ASSIGNED, COMMITTED, VERIFIED, LATE, SETTLED)
"""Assignment states of a provider that holds, or held to the end, a job's inputs: a public job owing its inputs has
none before all are on chain."""
ITEM_PREFIX = 4
"""Bytes of an item's length prefix in a chunk, at most."""

owed: StorageMap[int] = StorageMap("compute", "inputs_owed", U32, u64_key, u64_from_key)
"""Job id -> how many of its input items are on chain so far, for a job whose inputs must be (spec 17): a public job
with an input root from its post, a private job from each draw. No entry: nothing owed (a synthetic job, or one of
spec 16)."""

input_chunks: StorageMap[tuple[bytes, ...]] = StorageMap(
    "compute", "input_chunks", ListOf(Bytes(max_len=MAX_SEALED_INPUT), MAX_CHUNK_ITEMS),
    key_types=(ID_KEY, Bytes(4)),
)
"""(job id u64, chunk number u32) -> that chunk of the job's input items (a private job's sealed to its provider), in
`input_chunk_plan`'s cut; dropped with the job's `owed` entry once no other job reads them (`sharers`)."""

inputs_from: StorageMap[int] = StorageMap("compute", "inputs_from", U64, u64_key, u64_from_key)
"""Job id -> the job whose `input_chunks` hold its inputs (spec 18): a job posted again for a failed place reads its
original's (the first one's, however often the place failed since). No entry: its own."""

sharers: StorageMap[int] = StorageMap("compute", "input_sharers", U32, u64_key, u64_from_key)
"""Job id -> how many other jobs read its chunks, or are about to (a pin taken by `held`; spec 18). No entry: none.
Its chunks outlive its own `owed` entry while this is above zero."""


def input_width(spec: ModelSpec, sealed: bool = False) -> int:
    """Bytes of one input item as it is posted: a private job's (`sealed`) is sealed to its provider."""
    return input_bytes(spec) + (SEAL_BYTES if sealed else 0)


def input_chunk_items(spec: ModelSpec, sealed: bool = False) -> int:
    """Input items in every chunk but the last."""
    return max(1, min(MAX_CHUNK_ITEMS, MAX_CHUNK_BYTES // (input_width(spec, sealed) + ITEM_PREFIX)))


def input_chunk_plan(spec: ModelSpec, items: int, sealed: bool = False) -> list[tuple[int, int]]:
    """The chunks, as (first item, item count), in which a job's inputs are posted."""
    per = input_chunk_items(spec, sealed)
    return [(start, min(per, items - start)) for start in range(0, items, per)]


def chunk_key(job_id: int, chunk: int) -> bytes:
    return u64_key(job_id) + chunk.to_bytes(4, "big")


def is_private(state: Overlay, job_id: int) -> bool:
    return storage.private_jobs.get(state, job_id) is not None


def complete(state: Overlay, job: Job) -> bool:
    """Whether nothing more of `job`'s inputs is owed on chain: all posted, or none owed (synthetic, spec 16)."""
    posted = owed.get(state, job.id)
    return posted is None or posted >= job.items


def owes(state: Overlay, job_id: int) -> bool:
    """Whether `job_id`'s inputs must be on chain (spec 17), posted or not."""
    return owed.get(state, job_id) is not None


def owe(state: Overlay, job_id: int) -> None:
    """From now on `job_id`'s inputs must be on chain, from the first item: a public job with an input root at its
    post, a private job at each draw (the items posted for a provider drawn before are dropped: they were sealed to
    another key). Never a job another reads (a private job is never read by another, and a public one owes from its
    post on)."""
    _drop_chunks(state, job_id)
    owed.put(state, job_id, 0)


def source_of(state: Overlay, job_id: int) -> int:
    """The job whose chunks hold `job_id`'s inputs: its original's for a job posted again (spec 18), else its own."""
    source = inputs_from.get(state, job_id)
    return job_id if source is None else source


def posted_inputs(state: Overlay, job_id: int) -> Iterator[bytes]:
    """The job's input items on chain so far, in order."""
    for _, raw in state.iterate(input_chunks.prefix + u64_key(source_of(state, job_id))):
        yield from input_chunks.codec.decode(raw)


def drawable(state: Overlay, job: Job) -> bool:
    """Whether `job` may be drawn: a public job once its inputs are on chain (a private job's are posted after the
    draw)."""
    return is_private(state, job.id) or complete(state, job)


def _root(ctx: CallContext, job: Job) -> tuple[bytes, bool]:
    """The root the inputs of `job` are checked against, and whether they are sealed; refuses a post the job does not
    take now."""
    rec = storage.private_jobs.get(ctx.state, job.id)
    if rec is None:
        return job.input_root, False
    a = job.assignments[0] if job.assignments else None
    if a is None or a.state != ASSIGNED:
        raise errors.WrongState("a private job's sealed items are posted once a provider is drawn, before it commits"
                                + ("" if a is None else f" (the assignment is {ASSIGNMENT_STATES[a.state]})"))
    if rec.sealed_root == ZERO_HASH:
        raise errors.InputsNotSealed("give the sealed root first (compute.submit_sealed_inputs)")
    if ctx.env.slot > rec.inputs_by_slot:
        raise errors.InputsNotSealed(
            f"the sealed items were due by slot {rec.inputs_by_slot}; the job closes when the commit window does")
    return rec.sealed_root, True


def post(ctx: CallContext, who: bytes, job_id: int, first: int, items: Sequence[bytes],
         proof: Sequence[bytes]) -> None:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    if job.status != JOB_OPEN:
        raise errors.JobNotOpen(f"job {job_id} is closed")
    if job.requester != who:
        raise errors.NotRequester()
    root, sealed = _root(ctx, job)
    posted = owed.get(ctx.state, job_id)
    if posted is None:
        raise errors.InputsNotOwed(
            f"job {job_id} takes no inputs on chain: "
            + ("a synthetic job's follow from its seed" if job.input_seed != ZERO_HASH else
               f"it was {'drawn' if sealed else 'posted'} before spec 17, and its provider gets them from nodes"))
    if posted >= job.items:
        raise errors.InputsNotOwed(f"all {job.items} inputs of job {job_id} are on chain already")
    spec = get_model(ctx.state, job.model).spec
    if first != posted:
        raise errors.BadInputs(f"chunks go in order: post the one from item {posted}, not {first}")
    per = input_chunk_items(spec, sealed)
    expected = min(per, job.items - first)
    if len(items) != expected:
        raise errors.BadInputs(f"the chunk from item {first} holds {expected} items, got {len(items)}")
    width = input_width(spec, sealed)
    if any(len(x) != width for x in items):
        raise errors.BadInputs(f"a{' sealed' if sealed else 'n'} input of this model is {width} bytes")
    if not verify_merkle_range(root, items, first, job.items, proof):
        what = "sealed root" if sealed else "input root"
        raise errors.BadInputs(f"items {first}..{first + expected - 1}: the range proof does not lead to the job's "
                               f"{what}")
    input_chunks.put(ctx.state, chunk_key(job_id, first // per), tuple(items))
    owed.put(ctx.state, job_id, first + expected)
    ctx.emit(events.InputsPosted(job_id, first, expected, first + expected))


def held(state: Overlay, job: Job) -> int | None:
    """The job whose chunks hold all of a public `job`'s inputs, pinned for the job a reassign posts (`carry`, or
    `unpin` if it posts none); None unless every input is on chain. Read before the failed place's job can close and
    release them: the pin keeps them."""
    posted = owed.get(state, job.id)
    if posted is None or posted < job.items or is_private(state, job.id):
        return None
    source = source_of(state, job.id)
    sharers.put(state, source, (sharers.get(state, source) or 0) + 1)
    return source


def carry(state: Overlay, job_id: int, source: int, items: int) -> None:
    """`job_id`, posted by a reassign on the same inputs, reads the chunks of `source` (the same plan: the same model
    and item count), so it is drawn at once as its original was; `held`'s pin on them is now its reference."""
    inputs_from.put(state, job_id, source)
    owed.put(state, job_id, items)


def unpin(state: Overlay, source: int) -> None:
    """A reference to `source`'s chunks is gone (`held`'s pin of a reassign that posted nothing, or a job that read
    them released): the last one drops the chunks if `source` released them itself."""
    left = (sharers.get(state, source) or 0) - 1
    if left > 0:
        sharers.put(state, source, left)
        return
    sharers.remove(state, source)
    if owed.get(state, source) is None:
        _drop_chunks(state, source)


def release(state: Overlay, job: Job) -> None:
    """Drop `job`'s inputs from the state once nobody can need them: the job closed and no result of it can still be
    challenged (verified, in its window). Called where a job closes and where an assignment of a closed job ends. A
    job posted again reads its original's chunks: releasing it drops its reference; a job whose chunks others read
    keeps them for them."""
    if job.status == JOB_OPEN or any(a.state == VERIFIED for a in job.assignments):
        return
    if owed.get(state, job.id) is None:
        return
    owed.remove(state, job.id)
    source = inputs_from.get(state, job.id)
    if source is not None:
        inputs_from.remove(state, job.id)
        unpin(state, source)
    elif sharers.get(state, job.id) is None:
        _drop_chunks(state, job.id)


def _drop_chunks(state: Overlay, job_id: int) -> None:
    prefix = input_chunks.prefix + u64_key(job_id)
    for key in [k for k, _ in state.iterate(prefix)]:
        state.delete(key)
