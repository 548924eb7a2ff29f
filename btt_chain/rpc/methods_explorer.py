"""Read-only RPC methods the web explorer needs and no other method gives: block summaries a page at a time,
a block's extrinsics a page at a time or one extrinsic, decoded with its outcome and events, an account's recent
extrinsics, search, jobs a page at a time with the counts per state, events and burns by source over a range of
blocks.

Every figure comes from what the chain stored when it executed the block (events and outcomes) or from the
runtime's own storage items and helpers, so the explorer shows what the chain enforced. Every method has a cost
bound (the constants below, stated in each docstring): block lists read the stored summaries, an extrinsic's
events and outcome are found by the index stored with its block, and scans over blocks stop after a number of
items and say where to go on from.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator
from typing import Any

from btt_chain.primitives.address import decode_address, encode_address
from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.extrinsic import AnyExtrinsic, Extrinsic
from btt_chain.rpc import explorer_burns as burns
from btt_chain.rpc import explorer_reserves as reserves
from btt_chain.rpc import explorer_units, explorer_verdicts, runtime_info
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.block_spec import BlockSpecs
from btt_chain.rpc.errors import RpcError, invalid_params
from btt_chain.rpc.methods_compute import render_job
from btt_chain.rpc.methods_governance import btt_referenda, referendum_steps, render_call
from btt_chain.rpc.paging import int_in, is_decimal, wire_of
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, Stepwise, optional
from btt_chain.rpc.render import account_renderer, hex0x, render_event_record
from genesis.release import PROJECTION_NOTE, project_release
from runtime.compute import storage as compute
from runtime.compute.types import JOB_STATES, Job
from runtime.context import BlockEnv, CallContext
from runtime.specs import module_names
from runtime.system import storage as system
from runtime.vesting import storage as vesting
from runtime.vesting.logic import compute_total_locked
from storage.block_body import BlockBody
from storage.block_meta import MetaView

method = REGISTRY.method

BLOCKS_DEFAULT = 20
BLOCKS_MAX = 100
"""Block summaries per page (each a small stored summary and a header: no block body or event is read)."""
BLOCK_XTS_DEFAULT = 25
BLOCK_XTS_MAX = 100
"""Extrinsics of one block per `btt_explorerBlock` page."""
EVENTS_SHOWN_MAX = 100
"""Events listed with one extrinsic, and events outside extrinsics listed with a block (the counts give them
all; `btt_events` pages through every event of a block)."""
SCAN_DEFAULT = 200
SCAN_MAX = 2_000
"""Blocks one call may be asked to read back for an account's extrinsics, events or burns."""
ACCOUNT_SCAN_ITEMS = 20_000
"""Extrinsics `btt_explorerAccountExtrinsics` examines per call (a block counts as one more): a block whose
encoding and events do not hold the account's id at all costs a byte search, the others a look at each
extrinsic's signer and a byte search of its events."""
EVENT_SCAN_ITEMS = 100_000
"""Events `btt_explorerEvents` and `btt_explorerBurns` count per call (a block counts as one more), found by
their kind (module, name) in each block's index without decoding them."""
BURN_DECODES_MAX = 5_000
"""Events that can carry a burn `btt_explorerBurns` decodes per call."""
BURN_STEP_DECODES = 500
"""Burn-carrying events `btt_explorerBurns` decodes in one step (one unit of the RPC lane): a block of 10,000
transfers carries 5,000 and more, which in one unit held the event loop for 280 ms (`bench rpc`, a first call)."""
BURNED_STATE_BACK = 256
"""How far below the head `btt_explorerBurns` reads `System.total_burned` of an older state (the default
`--state-pruning` window: what any `at` parameter may already cost)."""
JOBS_DEFAULT = 25
JOBS_MAX = 50
"""Jobs per page."""
JOB_IDS_SCANNED = 2_000
"""Job ids `btt_explorerJobs` reads per call."""
ACCOUNT_XTS_MAX = 100
"""Extrinsics listed per account."""


# parameters -----------------------------------------------------------------------------------------


_int_in = int_in


def _job_status(value: Any, ctx: RpcContext) -> int:
    if not isinstance(value, str) or value not in JOB_STATES:
        raise invalid_params(f"status: expected one of {', '.join(JOB_STATES)}, got {value!r}"[:160])
    return JOB_STATES.index(value)


def _query(value: Any, ctx: RpcContext) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 128:
        raise invalid_params("query: expected a block number, a 0x hash or an address (1 to 128 characters)")
    return value.strip()


def _number(value: Any, ctx: RpcContext) -> int:
    return _int_in("number", 0, 2**63 - 1)(value, ctx)


def _cursor(value: Any, ctx: RpcContext) -> tuple[int, int | None]:
    """[block number, extrinsic index or null]: go on with the extrinsics before that one (null: all of it)."""
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool)
            and 0 <= value[0] < 2**63 and (value[1] is None or (isinstance(value[1], int)
                                                                 and not isinstance(value[1], bool)
                                                                 and 0 <= value[1] < 2**32))):
        return value[0], value[1]
    raise invalid_params(f"before: expected [block number, extrinsic index or null], got {value!r}"[:160])


# rendering ------------------------------------------------------------------------------------------


def _prefix(ctx: RpcContext) -> int:
    return ctx.node.spec.ss58_prefix


def _finalized_number(ctx: RpcContext) -> int:
    chain = ctx.node.chain
    fin = chain.db.get_header(chain.db.finalized_hash())
    return fin.number if fin is not None else 0


def summarize_block(ctx: RpcContext, block_hash: bytes, finalized: int | None = None) -> dict[str, Any] | None:
    """Number, hash, author, time, extrinsic and event counts and encoded size of a stored block, from its
    header and its stored summary (neither its body nor its events are read). `finalized`: the finalized
    height, if the caller has it."""
    db = ctx.node.chain.db
    header = db.get_header(block_hash)
    summary = db.block_summary(block_hash)
    if header is None:
        return None
    fin = _finalized_number(ctx) if finalized is None else finalized
    return {
        "number": header.number,
        "hash": hex0x(block_hash),
        "parentHash": hex0x(header.parent_hash),
        "author": encode_address(header.author, _prefix(ctx)),
        "slot": header.slot,
        "timestamp": header.timestamp_ms,
        "extrinsics": summary.extrinsics if summary is not None else None,
        "events": summary.events if summary is not None else None,
        "size": summary.size if summary is not None else None,
        "finalized": header.number <= fin and db.canonical_hash(header.number) == block_hash,
    }


def _outcome(view: MetaView | None, index: int) -> dict[str, Any]:
    o = view.outcome(index) if view is not None else None
    if o is None:
        return {"success": None, "fee": None, "weight": None, "error": None}
    _, success, fee, weight, error = o
    return {"success": bool(success), "fee": str(int.from_bytes(fee, "big")), "weight": weight,
            "error": error or None}


def _events_of(view: MetaView | None, index: int, render: Any) -> tuple[list[dict[str, Any]], int]:
    """The first EVENTS_SHOWN_MAX events of extrinsic `index` rendered, and how many it has, found by the index."""
    if view is None:
        return [], 0
    start, end = view.event_range(index)
    return [render_event_record(r, render) for r in view.events(start, min(end, start + EVENTS_SHOWN_MAX))], end - start


def render_extrinsic(
    ctx: RpcContext, header: Header, block_hash: bytes, index: int, xt: AnyExtrinsic, view: MetaView | None,
    specs: BlockSpecs,
) -> dict[str, Any]:
    """One extrinsic of a stored block: hash, signer, nonce, tip, era, call with arguments (decoded by the spec that
    ran the block, `block_spec`), outcome, and its events (the first EVENTS_SHOWN_MAX; `eventCount` has them all). An
    inherent (the block's `timestamp.set`) has no signer, nonce or era (null) and tip 0."""
    prefix = _prefix(ctx)
    events, event_count = _events_of(view, index, account_renderer(prefix))
    signed = xt if isinstance(xt, Extrinsic) else None
    return {
        "hash": hex0x(xt.hash()),
        "blockHash": hex0x(block_hash),
        "blockNumber": header.number,
        "timestamp": header.timestamp_ms,
        "index": index,
        "signer": None if signed is None else encode_address(signed.signer, prefix),
        "nonce": None if signed is None else signed.nonce,
        "tip": str(0 if signed is None else signed.tip),
        "era": (None if signed is None or signed.era.immortal
                else {"birth": signed.era.birth(header.number), "period": signed.era.period}),
        "call": render_call(xt.call, prefix, specs.runtime_of(block_hash, header)),
        **_outcome(view, index),
        "events": events,
        "eventCount": event_count,
    }


def _names(wire: Any, who: bytes) -> bool:
    """Whether a stored event's wire fields hold the account id `who` (checked without decoding the event)."""
    if isinstance(wire, bytes):
        return wire == who
    if isinstance(wire, (list, tuple)):
        return any(_names(v, who) for v in wire)
    return False


BURN_FIELDS = burns.REPORT_FIELDS
"""Event fields that carry an amount taken out of issuance; `balances.Burned` carries it in `amount`, and the kinds
of `explorer_burns.REPORT_FIELDS_BY_KIND` in the field named there."""
BURN_FIELD_BY_EVENT = {burns.LEDGER_BURN: "amount", **burns.REPORT_FIELDS_BY_KIND}


def burned_by_event(record: dict[str, Any]) -> int:
    """The base units an event (as rendered) says were burned, 0 if none (a report of a burn counts here: see
    `explorer_burns` for counting each burn once)."""
    total = 0
    for name in BURN_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and is_decimal(value):
            total += int(value)
    field = BURN_FIELD_BY_EVENT.get((str(record.get("module")), str(record.get("event"))))
    if field is not None:
        value = record.get(field)
        if isinstance(value, str) and is_decimal(value):
            total += int(value)
    return total


def _block_ref(ctx: RpcContext, ref: Any) -> bytes | None:
    db = ctx.node.chain.db
    if isinstance(ref, int) and not isinstance(ref, bool):
        return db.canonical_hash(_number(ref, ctx))
    if isinstance(ref, str):
        return p.block_hash(ref, ctx)
    raise invalid_params("block: expected a block number or a 0x-prefixed block hash")


# methods --------------------------------------------------------------------------------------------


@method("btt_explorerBlocks", optional("from", _number), optional("limit", _int_in("limit", 1, BLOCKS_MAX),
                                                                   BLOCKS_DEFAULT))
def btt_explorer_blocks(ctx: RpcContext, start: int | None, count: int) -> dict[str, Any]:
    """Canonical block summaries newest first from block `from` (default the head), at most `limit` (default 20,
    at most 100), with the head and finalized heights and `next` (the number to page on from, or null). Each
    summary is read from a small stored record and the header: the cost does not grow with the blocks' size."""
    chain = ctx.node.chain
    head = chain.head.number
    newest = head if start is None else min(start, head)
    finalized = _finalized_number(ctx)
    blocks = []
    for n in range(newest, max(newest - count, -1), -1):
        h = chain.db.canonical_hash(n)
        summary = summarize_block(ctx, h, finalized) if h is not None else None
        if summary is not None:
            blocks.append(summary)
    last = newest - count
    return {
        "head": head,
        "finalized": finalized,
        "blocks": blocks,
        "next": last if last >= 0 else None,
    }


@method(
    "btt_explorerBlock",
    Param("block", lambda v, c: v),
    optional("offset", _int_in("offset", 0, 2**32 - 1), 0),
    optional("limit", _int_in("limit", 1, BLOCK_XTS_MAX), BLOCK_XTS_DEFAULT),
)
def btt_explorer_block(ctx: RpcContext, ref: Any, offset: int, count: int) -> dict[str, Any] | None:
    """A block by number or 0x hash: its summary (`extrinsics` is its extrinsic count) and header fields, a page
    of its extrinsics decoded (as in `btt_explorerExtrinsic`) from `offset` (default 0), at most `limit` (default
    25, at most 100), with `nextOffset` (the offset of the next page, or null); and the events outside any
    extrinsic (`blockEvents`: the first 100; `blockEventCount`: how many). Null if there is no such block.
    Only the page's extrinsics and events are decoded, found by the block's stored index."""
    db = ctx.node.chain.db
    block_hash = _block_ref(ctx, ref)
    if block_hash is None:
        return None
    body = db.block_body(block_hash)
    summary = summarize_block(ctx, block_hash)
    header = db.get_header(block_hash)
    if body is None or summary is None or header is None:
        return None
    view = db.block_meta_view(block_hash)
    render = account_renderer(_prefix(ctx))
    stop = min(offset + count, body.count)
    specs = BlockSpecs(ctx)
    block_events: list[dict[str, Any]] = []
    outside = 0
    if view is not None:
        for start, end in view.outside_ranges():
            outside += end - start
            room = EVENTS_SHOWN_MAX - len(block_events)
            block_events += [render_event_record(r, render) for r in view.events(start, min(end, start + room))]
    return {
        **summary,
        "stateRoot": hex0x(header.state_root),
        "extrinsicsRoot": hex0x(header.extrinsics_root),
        "receiptsRoot": hex0x(header.receipts_root),
        "canonical": db.canonical_hash(header.number) == block_hash,
        "offset": offset,
        "nextOffset": stop if stop < body.count else None,
        "extrinsicList": [render_extrinsic(ctx, header, block_hash, i, body.extrinsic(i), view, specs)
                          for i in range(offset, stop)],
        "blockEvents": block_events,
        "blockEventCount": outside,
    }


@method("btt_explorerExtrinsic", Param("hash", p.any_hash))
def btt_explorer_extrinsic(ctx: RpcContext, xt_hash: bytes) -> dict[str, Any] | None:
    """An included extrinsic by hash: block, index, signer, call and arguments, fee, outcome and its events (the
    first 100; `eventCount` has them all); `{"status": "pending"}` while pooled; null if unknown. Reads the one
    extrinsic and its events by index, whatever the size of its block."""
    node = ctx.node
    db = node.chain.db
    location = db.tx_location(xt_hash)
    if location is None:
        return {"status": "pending", "hash": hex0x(xt_hash)} if xt_hash in node.pool else None
    block_hash, index = location
    body = db.block_body(block_hash)
    header = db.get_header(block_hash)
    if body is None or header is None or index >= body.count:
        return None
    view = db.block_meta_view(block_hash)
    return {"status": "included",
            **render_extrinsic(ctx, header, block_hash, index, body.extrinsic(index), view, BlockSpecs(ctx))}


def _account_matches(body: BlockBody, view: MetaView | None, who: bytes, start: int, end: int) -> list[tuple[int, str]]:
    """(index, role) of the extrinsics in [start, end) of a block that `who` signed or whose events name it,
    newest first. Byte searches find where the id occurs at all (a block that does not hold it costs just
    that); each extrinsic's signer is read from its encoding, and only events that hold the id are decoded."""
    named = set(view.extrinsics_holding(who, start, end)) if view is not None else set()
    signed = body.holds(who)
    out = []
    for i in range(end - 1, start - 1, -1) if signed else sorted(named, reverse=True):
        if signed and body.signer(i) == who:
            out.append((i, "signer"))
        elif i in named and view is not None and any(_names(r[3], who) for r in view.events_of(i)):
            out.append((i, "named"))
    return out


@method(
    "btt_explorerAccountExtrinsics",
    Param("account", p.account),
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("limit", _int_in("limit", 1, ACCOUNT_XTS_MAX), 20),
    optional("before", _cursor),
)
def btt_explorer_account_extrinsics(
    ctx: RpcContext, who: bytes, blocks: int, count: int, before: tuple[int, int | None] | None
) -> Stepwise:
    """Extrinsics that the account signed or whose events name it (a transfer to it, say), newest first, at most
    `limit` (default 20, at most 100), in the `blocks` canonical blocks (default 200, at most 2,000) from the head,
    or from `before` ([block number, extrinsic index]: the extrinsics before that one, then older blocks; null
    index: all of that block). At most 20,000 extrinsics are examined per call (each block counts one more).
    `scanned` is [lowest, highest] block examined, `complete` whether every block of the range was examined
    whole, and `next` the `before` to go on from (null once block 0 is done). Worked out in steps of at most
    SCAN_STEP_BLOCKS blocks or ACCOUNT_STEP_RENDERED listed extrinsics, each its own unit of the RPC lane; the blocks
    are those of the canonical chain when the call began."""
    return Stepwise(_account_extrinsics_steps(ctx, who, blocks, count, before))


SCAN_STEP_BLOCKS = 100
"""Blocks `btt_explorerAccountExtrinsics` and `btt_explorerBurns` examine in one step (one unit of the RPC lane):
2,000 blocks in one unit held the event loop for most of a second on a busy 2-core machine, past half a one-second
slot (a node missed its slots under a loop of such calls)."""
ACCOUNT_STEP_RENDERED = 10
"""Extrinsics `btt_explorerAccountExtrinsics` decodes and renders (with their events) in one step."""


def _account_extrinsics_steps(
    ctx: RpcContext, who: bytes, blocks: int, count: int, before: tuple[int, int | None] | None
) -> Generator[None, None, dict[str, Any]]:
    db = ctx.node.chain.db
    head = ctx.node.chain.head.number
    top, top_index = (head, None) if before is None else (min(before[0], head), before[1])
    if before is not None and before[0] > head:
        top_index = None
    low = max(top - blocks + 1, 0)
    budget = ACCOUNT_SCAN_ITEMS
    found: list[dict[str, Any]] = []
    lowest = top
    cursor: tuple[int, int | None] | None = (low - 1, None) if low > 0 else None
    complete = True
    specs = BlockSpecs(ctx)
    hashes = [db.canonical_hash(n) for n in range(top, low - 1, -1)]  # the chain as the call found it
    rendered = 0
    for step, h in enumerate(hashes):
        n = top - step
        if step and step % SCAN_STEP_BLOCKS == 0:
            yield
        summary = db.block_summary(h) if h is not None else None
        if h is None or summary is None:
            lowest = n
            budget -= 1
            continue
        end = summary.extrinsics if n != top or top_index is None else min(top_index, summary.extrinsics)
        if budget < 1 + end and n != top:
            cursor, complete = (n, None), False
            break
        start = max(0, end - max(budget - 1, 0))
        budget -= 1 + end - start
        lowest = n
        body = db.block_body(h) if end > start else None
        matches = _account_matches(body, db.block_meta_view(h, cache=False), who, start, end) if body else []
        header = db.get_header(h) if matches else None
        view = db.block_meta_view(h) if matches else None
        stopped = False
        for i, role in matches:
            if len(found) >= count:
                cursor, complete, stopped = (n, i + 1), False, True
                break
            assert body is not None and header is not None
            row = render_extrinsic(ctx, header, h, i, body.extrinsic(i), view, specs)
            row["role"] = role
            found.append(row)
            rendered += 1
            if rendered % ACCOUNT_STEP_RENDERED == 0:
                yield
        if stopped:
            break
        if start > 0:
            cursor, complete = (n, start), False
            break
        if len(found) >= count and n > low:
            cursor, complete = (n - 1, None), False
            break
    return {"scanned": [lowest, top], "complete": complete, "extrinsics": found,
            "next": list(cursor) if cursor is not None else None}


@method("btt_explorerSearch", Param("query", _query))
def btt_explorer_search(ctx: RpcContext, query: str) -> dict[str, Any] | None:
    """What `query` names: `{"kind": "block", "hash", "number"}` for a block number or hash, `{"kind":
    "extrinsic", "hash"}` for an included or pooled extrinsic hash, `{"kind": "account", "address"}` for an
    address or 0x account id; null if it names nothing this node knows."""
    db = ctx.node.chain.db
    if is_decimal(query):
        n = int(query)
        h = db.canonical_hash(n) if n <= ctx.node.chain.head.number else None
        return None if h is None else {"kind": "block", "hash": hex0x(h), "number": n}
    if query.startswith(("0x", "0X")) and len(query) == 66:
        raw = p.any_hash(query, ctx)
        header = db.get_header(raw)
        if header is not None:
            return {"kind": "block", "hash": hex0x(raw), "number": header.number}
        if db.tx_location(raw) is not None or raw in ctx.node.pool:
            return {"kind": "extrinsic", "hash": hex0x(raw)}
        return {"kind": "account", "address": encode_address(raw, _prefix(ctx))}
    try:
        who = decode_address(query, _prefix(ctx))
    except (ConfigError, ValueError):
        return None
    return {"kind": "account", "address": encode_address(who, _prefix(ctx))}


def _job_status_of(raw: bytes) -> int:
    """A stored job's status."""
    return int(wire_of(Job, raw)[_JOB_STATUS_FIELD])


_JOB_STATUS_FIELD = [name for name, _ in Job.WIRE].index("status")


@method(
    "btt_explorerJobs",
    optional("status", _job_status),
    optional("before", _int_in("before", 0, 2**63 - 1)),
    optional("limit", _int_in("limit", 1, JOBS_MAX), JOBS_DEFAULT),
    optional("at", p.block_hash),
)
def btt_explorer_jobs(
    ctx: RpcContext, status: int | None, before: int | None, count: int, at: bytes | None
) -> dict[str, Any]:
    """Jobs newest first with ids below `before` (default: all), only those in `status` if given, at most
    `limit` (default 25, at most 50); `next` is the `before` of the next page (null at the end) and `total`
    the number of jobs ever posted. At most 2,000 ids are read per call (a job's status is read from its
    stored form; only the listed jobs are decoded), so a page of a rare status may come back short with a
    `next` to go on from."""
    state = state_view(ctx, at)
    prefix = _prefix(ctx)
    total = compute.next_job_id.get(state)
    top = total if before is None else min(before, total)
    jobs: list[dict[str, Any]] = []
    i = top - 1
    floor = max(top - JOB_IDS_SCANNED, 0)
    while i >= floor and len(jobs) < count:
        raw = state.get(compute.jobs.key(i))
        if raw is not None and (status is None or _job_status_of(raw) == status):
            jobs.append(render_job(state, compute.jobs.get(state, i), prefix))
        i -= 1
    return {"total": total, "jobs": jobs, "next": i + 1 if i >= 0 else None}


@method(
    "btt_explorerBurns",
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("buckets", _int_in("buckets", 1, 100), 20),
    optional("from", _number),
)
def btt_explorer_burns(ctx: RpcContext, blocks: int, buckets: int, start: int | None) -> Stepwise:
    """Burns by source in the `blocks` canonical blocks (default 200, at most 2,000) up to block `from` (default
    the head), each burn counted once (`explorer_burns`: the ledger events `balances.Burned` and
    `balances.DustLost`, named by the module that reported them): `totals` per source, and a series of `buckets`
    (default 20) ranges oldest first with their burns per source, all in base units. `genesis`: what was burned at
    genesis, when the range reaches block 0 (else null). `burnedBefore` and `burnedAt`: `System.total_burned`
    before block `from` and after block `to` (null where this node no longer serves that state), so that the
    totals plus `genesis` equal `burnedAt` - `burnedBefore`; an older state is read only up to 256 blocks below the
    head. `labels` says what each source means. Only events of
    a kind that burns or reports a burn are decoded, found by each block's index of event kinds; at most 100,000
    events are counted and 5,000 decoded per call, whole blocks at a time: `from` and `to` are the blocks
    examined, `next` the `from` to go on with (null once the range, or block 0, is done). Worked out in steps of at
    most SCAN_STEP_BLOCKS blocks, each its own unit of the RPC lane; the blocks are those of the canonical chain when
    the call began."""
    return Stepwise(_burns_steps(ctx, blocks, buckets, start))


def _burns_steps(
    ctx: RpcContext, blocks: int, buckets: int, start: int | None
) -> Generator[None, None, dict[str, Any]]:
    db = ctx.node.chain.db
    head = ctx.node.chain.head.number
    top = head if start is None else min(start, head)
    low = max(top - blocks + 1, 0)
    per_block: dict[int, dict[str, int]] = {}
    totals: dict[str, int] = {}
    items, decodes = EVENT_SCAN_ITEMS, BURN_DECODES_MAX
    lowest, cursor = top + 1, None
    hashes = [db.canonical_hash(n) for n in range(top, low - 1, -1)]  # the chain as the call found it
    decoded_in_step = 0
    for step, h in enumerate(hashes):
        n = top - step
        if step and step % SCAN_STEP_BLOCKS == 0:
            yield
            decoded_in_step = 0
        view = db.block_meta_view(h, cache=False) if h is not None else None
        kinds = view.kinds() if view is not None else array("H")
        burning = {k for k, (m, e) in enumerate(view.kind_table) if burns.is_burn_kind(m, e)} if view else set()
        positions = [j for j in range(len(kinds)) if kinds[j] in burning] if burning else []
        if lowest <= top and (items < 1 + len(kinds) or decodes < len(positions)):
            cursor = n
            break
        items -= 1 + len(kinds)
        decodes -= len(positions)
        lowest = n
        if view is None or not positions:
            continue
        records: list[Any] = []
        for j in positions:
            if decoded_in_step >= BURN_STEP_DECODES:
                yield  # a full block's burns: decoded a step at a time, attributed once the block's are read
                decoded_in_step = 0
            records.append(view.events(j, j + 1)[0])
            decoded_in_step += 1
        row = burns.attribute(records)
        if row:
            per_block[n] = row
            for source, amount in row.items():
                totals[source] = totals.get(source, 0) + amount
    lowest = min(lowest, top)
    span = top - lowest + 1
    size = max(1, -(-span // buckets))
    series: list[dict[str, Any]] = []
    for first in range(lowest, top + 1, size):
        last = min(first + size - 1, top)
        bucket: dict[str, int] = {}
        for n in range(first, last + 1):
            for source, amount in per_block.get(n, {}).items():
                bucket[source] = bucket.get(source, 0) + amount
        series.append({"from": first, "to": last, "bySource": {k: str(v) for k, v in sorted(bucket.items())}})
    if cursor is None and lowest > 0 and lowest > low:
        cursor = lowest - 1
    genesis = _burned_at_genesis(ctx) if lowest == 0 else None
    yield  # the states before and after the range are read in a step of their own
    burned_before = "0" if lowest == 0 else _str_or_none(_total_burned_at(ctx, lowest - 1))
    burned_at = _str_or_none(_total_burned_at(ctx, top))
    return {
        "from": lowest,
        "to": top,
        "totals": {k: str(v) for k, v in sorted(totals.items())},
        "genesis": None if genesis is None else str(genesis),
        "burnedBefore": burned_before,
        "burnedAt": burned_at,
        "labels": dict(burns.SOURCE_LABELS),
        "series": series,
        "next": cursor,
    }


def _total_burned_at(ctx: RpcContext, number: int) -> int | None:
    """`System.total_burned` after canonical block `number`, or None if this node does not serve that state or it
    lies more than BURNED_STATE_BACK blocks below the head (an old state is read through one undo journal per
    block in between: the explorer polls this method)."""
    head = ctx.node.chain.head.number
    h = ctx.node.chain.db.canonical_hash(number)
    if h is None or head - number > BURNED_STATE_BACK:
        return None
    try:
        return system.total_burned.get(state_view(ctx, h))
    except RpcError:
        return None


def _burned_at_genesis(ctx: RpcContext) -> int:
    """What genesis burned: `System.total_burned` in block 0's state, or where that is not read (see
    `_total_burned_at`), the milestones the chain spec burns at genesis (as `genesis.build.genesis_config` takes
    them)."""
    served = _total_burned_at(ctx, 0)
    if served is not None:
        return served
    return sum(b.amount for b in ctx.node.spec.milestone_burns if b.at_genesis)


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


@method("btt_explorerSupply", optional("at", p.block_hash))
def btt_explorer_supply(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """Issuance, burns, and the genesis allocation table with each row's amount released and still locked at the
    block `at` (default the head): liquid rows are released at genesis; linear and milestone rows are locked by
    their holders' vesting schedules as the runtime computes them (`vesting.compute_locked`); module and
    reserve rows are locked while their module account still holds them. With the seed's yearly table beside
    the projected cumulative release (`btt-chain genesis schedule`)."""
    spec = ctx.node.spec
    state = state_view(ctx, at)
    now = system.timestamp_ms.get(state)
    prefix = _prefix(ctx)
    rows = []
    for row in spec.allocations:
        kind = row.release.kind
        locked = 0
        for holder in row.holders:
            if kind in ("linear", "milestones"):
                locked += compute_total_locked(vesting.schedules.get(state, holder.account), now)
            elif kind in ("module", "reserve"):
                locked += min(system.account.get(state, holder.account).free, holder.amount)
        locked = min(locked, row.amount)
        rows.append({
            "index": row.index,
            "category": row.category,
            "percentPpm": row.percent_ppm,
            "amount": str(row.amount),
            "kind": kind,
            "cliffMonths": row.release.cliff_months,
            "durationMonths": row.release.duration_months,
            "holders": [{"account": encode_address(h.account, prefix), "label": h.label, "amount": str(h.amount)}
                        for h in row.holders],
            "released": str(row.amount - locked),
            "locked": str(locked),
        })
    return {
        "timestamp": now,
        "genesisTime": spec.genesis_time_ms,
        "yearSeconds": spec.time.year_seconds,
        "totalIssuance": str(system.total_issuance.get(state)),
        "totalBurned": str(system.total_burned.get(state)),
        "genesisSupply": str(system.genesis_supply.get(state)),
        "allocations": rows,
        "releaseNote": PROJECTION_NOTE,
        "years": [
            {"year": y.year, "label": y.label, "publishedLabel": y.published_label, "untilSeconds": y.until_s,
             "projected": str(y.projected), "projectedBps": y.projected_bps,
             "publishedBps": y.published_percent * 100}
            for y in project_release(spec)
        ],
    }


def _source_name(fn: Any) -> str:
    """A lock source by the runtime module that registered it ('runtime.vesting.logic' -> 'vesting'; an older
    spec's copy, 'runtime.specs.spec11.vesting.logic', too)."""
    parts = str(getattr(fn, "__module__", "")).split(".")
    if len(parts) > 3 and parts[:2] == ["runtime", "specs"]:
        parts = ["runtime", *parts[3:]]
    return parts[1] if len(parts) > 1 and parts[0] == "runtime" else getattr(fn, "__name__", "unknown")


@method("btt_explorerLocks", Param("account", p.account), optional("at", p.block_hash))
def btt_explorer_locks(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """What each lock source of the runtime at the block `at` (default the head: the same functions that set
    `frozen` when a transaction for the next block is checked) locks of the account at the block's time; `frozen` is
    the largest of them (locks overlap)."""
    state = state_view(ctx, at)
    runtime = runtime_info.runtime_at(state)
    locks_module = runtime_info.module_of(runtime, "runtime.balances.locks")
    now = system.timestamp_ms.get(state)
    env = BlockEnv(system.number.get(state), bytes(32), system.slot.get(state), now, bytes(32), speculative=True)
    call_ctx = CallContext(state, env, runtime)
    locks = []
    for fn in locks_module.lock_sources():
        amount = fn(call_ctx, who)
        if amount:
            locks.append({"source": _source_name(fn), "amount": str(amount)})
    info = locks_module.account_at(state, who, now, runtime)
    return {"address": encode_address(who, _prefix(ctx)), "timestamp": now, "frozen": str(info.frozen),
            "locks": locks}


@method("btt_explorerReserves", Param("account", p.account), optional("at", p.block_hash))
def btt_explorer_reserves(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """What makes up the account's reserved balance at the block `at` (default the head), read at that one block
    beside `reserved` itself: one row per bond, unbonding chunk, stake, open referendum's deposit, pending multisig
    call's deposit, job escrow, rent and decoy deposit, model deposit and proxy deposit (explorer_reserves).
    `unattributed` is what the rows leave out (0 when they add up; `complete` is false when the scan's budget ran
    out first)."""
    found = reserves.reserve_rows(state_view(ctx, at), who)
    return {"address": encode_address(who, _prefix(ctx)), "reserved": str(found.reserved),
            "reserves": [r.to_json() for r in found.rows], "attributed": str(found.attributed),
            "unattributed": str(found.unattributed), "complete": found.complete}


def _modules(value: Any, ctx: RpcContext) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 32 or not all(isinstance(v, str) for v in value):
        raise invalid_params("modules: expected a list of 1 to 32 module names")
    # every spec's module names without importing the older specs: importing them took 2.8-3.9 s in one RPC unit on a
    # busy machine, and a node missed three slots in a row behind the explorer's first events call
    unknown = sorted(set(value) - module_names() - {"fees"})
    if unknown:
        raise invalid_params(f"modules: no module {unknown[0]!r}"[:160])
    return tuple(value)


@method(
    "btt_explorerEvents",
    Param("modules", _modules),
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("limit", _int_in("limit", 1, 500), 100),
    optional("from", _number),
)
def btt_explorer_events(
    ctx: RpcContext, modules: tuple[str, ...], blocks: int, count: int, start: int | None
) -> Stepwise:
    """Events of the given modules in the `blocks` canonical blocks (default 200, at most 2,000) up to block `from`
    (default the head), newest first, at most `limit` (default 100, at most 500), each with its block number;
    `counts` has every matching event's name with how often it occurred in the blocks examined (all of them, not
    only those listed). Events are counted by each block's index of event kinds without being decoded (only the
    listed ones are): at most 100,000 per call, whole blocks at a time. `from` and `to` are the blocks examined,
    `next` the `from` to go on with (null once the range, or block 0, is done). Worked out in steps of at most
    EVENTS_STEP_BLOCKS blocks or EVENTS_STEP_RENDERED listed events, each its own unit of the RPC lane; the blocks
    are those of the canonical chain when the call began."""
    return Stepwise(_explorer_events_steps(ctx, modules, blocks, count, start))


EVENTS_STEP_BLOCKS = 200
"""Blocks `btt_explorerEvents` examines in one step (one unit of the RPC lane)."""
EVENTS_STEP_RENDERED = 25
"""Events it decodes and renders in one step: a listed event costs about half a millisecond, and a page of 500 in one
unit held the event loop for 0.3-0.7 s (several times that on a busy machine: a node missed its slots under a loop of
such calls)."""


def _explorer_events_steps(
    ctx: RpcContext, modules: tuple[str, ...], blocks: int, count: int, start: int | None
) -> Generator[None, None, dict[str, Any]]:
    db = ctx.node.chain.db
    head = ctx.node.chain.head.number
    top = head if start is None else min(start, head)
    low = max(top - blocks + 1, 0)
    hashes = [db.canonical_hash(n) for n in range(top, low - 1, -1)]  # the chain as the call found it
    render = account_renderer(_prefix(ctx))
    wanted = set(modules)
    found: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    items = EVENT_SCAN_ITEMS
    lowest, cursor = top + 1, None
    rendered = 0
    for i, h in enumerate(hashes):
        n = top - i
        if i and i % EVENTS_STEP_BLOCKS == 0:
            yield
        view = db.block_meta_view(h, cache=False) if h is not None else None
        kinds = view.kinds() if view is not None else array("H")
        if lowest <= top and items < 1 + len(kinds):
            cursor = n
            break
        items -= 1 + len(kinds)
        lowest = n
        if view is None:
            continue
        matching = {k for k, (m, _) in enumerate(view.kind_table) if m in wanted}
        for k in matching:
            module, name = view.kind_table[k]
            counts[f"{module}.{name}"] = counts.get(f"{module}.{name}", 0) + kinds.count(k)
        if matching and len(found) < count:
            for j in view.positions_of(matching):
                found.append({"block": n, **render_event_record(view.events(j, j + 1)[0], render)})
                rendered += 1
                if rendered % EVENTS_STEP_RENDERED == 0:
                    yield
                if len(found) >= count:
                    break
    lowest = min(lowest, top)
    if cursor is None and lowest > 0 and lowest > low:
        cursor = lowest - 1
    return {"from": lowest, "to": top, "counts": dict(sorted(counts.items())), "events": found, "next": cursor}


@method("btt_explorerUnits")
def btt_explorer_units(ctx: RpcContext) -> dict[str, Any]:
    """The unit of every amount in an event or a call (`explorer_units`): `events` ("module.Event" -> field ->
    unit), `calls` ("module.call" -> argument -> unit), `houses` (governance house -> what its weight counts) and
    `descriptions`; units are `btt`, `credit`, `points`, `bps`, `ppm`, `votes`, `fractions:<asset id field>` and
    `param:<parameter name field>`. Built once from the runtime's event and call definitions."""
    return explorer_units.units()


REFERENDA_SHOWN_MAX = 20
"""Referenda per `btt_explorerReferenda` call (each with its tally: live while voting, frozen at the close after)."""


@method("btt_explorerReferenda", optional("limit", _int_in("limit", 1, REFERENDA_SHOWN_MAX), 10))
def btt_explorer_referenda(ctx: RpcContext, count: int) -> Stepwise:
    """The newest referenda (at most `limit`, default 10, at most 20), each as `btt_referendum` gives it (with its
    live tally while voting, the tally stored at the close after) and `explanation`: {status, final, verdict,
    reason}, why it stands where it stands in words (`explorer_verdicts`: the stored reason of a rejected or expired
    one, the verdict it would get now with why for an open one, what let a passed one pass). In steps, as
    `btt_referendum`; all of the block that was the head when the call began."""
    return Stepwise(_explorer_referenda_steps(ctx, count))


def _explorer_referenda_steps(ctx: RpcContext, count: int) -> Generator[None, None, list[dict[str, Any]]]:
    head = ctx.node.chain.head_hash
    out = []
    for listed in btt_referenda(ctx, None, head, count, None):
        ref = yield from referendum_steps(ctx, listed["id"], head)
        if ref is not None:
            ref["explanation"] = explorer_verdicts.explain(ref)
            out.append(ref)
    return out
