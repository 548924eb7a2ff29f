"""Read-only RPC methods the web explorer needs and no other method gives: block summaries a page at a time,
a block or an extrinsic decoded with its outcome and events, an account's recent extrinsics, search, jobs a page
at a time with the counts per state, and burns by source over a range of blocks.

Every figure comes from what the chain stored when it executed the block (events and outcomes) or from the
runtime's own storage items and helpers, so the explorer shows what the chain enforced.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import decode_address, encode_address
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import ConfigError
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.methods_compute import render_job
from btt_chain.rpc.methods_governance import render_call
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import account_renderer, event_type, hex0x, render_event_record
from genesis.release import PROJECTION_NOTE, project_release
from runtime.balances.locks import account_at, lock_sources
from runtime.compute import storage as compute
from runtime.compute.types import JOB_STATES
from runtime.context import BlockEnv, CallContext
from runtime.modules import RUNTIME
from runtime.system import storage as system
from runtime.vesting import storage as vesting
from runtime.vesting.logic import compute_total_locked

method = REGISTRY.method

BLOCKS_DEFAULT = 20
BLOCKS_MAX = 100
"""Block summaries per page."""
SCAN_DEFAULT = 200
SCAN_MAX = 2_000
"""Blocks one call reads back for an account's extrinsics or for burns."""
JOBS_DEFAULT = 25
JOBS_MAX = 200
"""Jobs per page."""
ACCOUNT_XTS_MAX = 100
"""Extrinsics listed per account."""


# parameters -----------------------------------------------------------------------------------------


def _int_in(what: str, low: int, high: int) -> Any:
    def parse(value: Any, ctx: RpcContext) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid_params(f"{what}: expected an integer from {low} to {high}, got {value!r}"[:160])
        return value

    return parse


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


# rendering ------------------------------------------------------------------------------------------


def _prefix(ctx: RpcContext) -> int:
    return ctx.node.spec.ss58_prefix


def _is_finalized(ctx: RpcContext, number: int, block_hash: bytes) -> bool:
    chain = ctx.node.chain
    fin = chain.db.get_header(chain.db.finalized_hash())
    return fin is not None and number <= fin.number and chain.db.canonical_hash(number) == block_hash


def summarize_block(ctx: RpcContext, block_hash: bytes) -> dict[str, Any] | None:
    """Number, hash, author, time, extrinsic and event counts and encoded size of a stored block."""
    db = ctx.node.chain.db
    raw = db.get_block_bytes(block_hash)
    if raw is None:
        return None
    block = Block.decode(raw)
    meta = db.block_meta(block_hash)
    header = block.header
    return {
        "number": header.number,
        "hash": hex0x(block_hash),
        "parentHash": hex0x(header.parent_hash),
        "author": encode_address(header.author, _prefix(ctx)),
        "slot": header.slot,
        "timestamp": header.timestamp_ms,
        "extrinsics": len(block.extrinsics),
        "events": len(meta.events) if meta is not None else None,
        "size": len(raw),
        "finalized": _is_finalized(ctx, header.number, block_hash),
    }


def _outcome(meta: Any, index: int) -> dict[str, Any]:
    for o in meta.outcomes if meta is not None else []:
        if o[0] == index:
            _, success, fee, weight, error = o
            return {"success": bool(success), "fee": str(int.from_bytes(fee, "big")), "weight": weight,
                    "error": error or None}
    return {"success": None, "fee": None, "weight": None, "error": None}


def render_extrinsic(ctx: RpcContext, block: Block, block_hash: bytes, index: int) -> dict[str, Any]:
    """One extrinsic of a stored block: hash, signer, nonce, tip, era, call with arguments, outcome, events."""
    xt = block.extrinsics[index]
    prefix = _prefix(ctx)
    meta = ctx.node.chain.db.block_meta(block_hash)
    render = account_renderer(prefix)
    events = [render_event_record(r, render) for r in (meta.events if meta is not None else []) if r[0] == index]
    return {
        "hash": hex0x(xt.hash()),
        "blockHash": hex0x(block_hash),
        "blockNumber": block.header.number,
        "timestamp": block.header.timestamp_ms,
        "index": index,
        "signer": encode_address(xt.signer, prefix),
        "nonce": xt.nonce,
        "tip": str(xt.tip),
        "era": None if xt.era.immortal else {"birth": xt.era.birth, "period": xt.era.period},
        "call": render_call(xt.call, prefix),
        **_outcome(meta, index),
        "events": events,
    }


def _block_by_hash(ctx: RpcContext, block_hash: bytes) -> Block | None:
    return ctx.node.chain.db.get_block(block_hash)


def _canonical_blocks(ctx: RpcContext, newest: int, count: int) -> list[tuple[bytes, Block]]:
    db = ctx.node.chain.db
    out = []
    for n in range(newest, max(newest - count, -1), -1):
        h = db.canonical_hash(n)
        block = db.get_block(h) if h is not None else None
        if h is not None and block is not None:
            out.append((h, block))
    return out


def _names(wire: Any, who: bytes) -> bool:
    """Whether a stored event's wire fields hold the account id `who` (checked without decoding the event)."""
    if isinstance(wire, bytes):
        return wire == who
    if isinstance(wire, (list, tuple)):
        return any(_names(v, who) for v in wire)
    return False


BURN_FIELDS = ("burned", "deposit_burned")
"""Event fields that carry an amount taken out of issuance; `balances.Burned` and `treasury.MilestoneBurned`
carry it in `amount`."""
BURN_EVENTS = {("balances", "Burned"), ("treasury", "MilestoneBurned")}


def may_burn(module: str, name: str) -> bool:
    """Whether events of this kind can carry a burn (so the others are never decoded when counting burns)."""
    key = (module, name)
    if key not in _MAY_BURN:
        cls = event_type(module, name)
        fields = {f for f, _ in cls.WIRE} if cls is not None else set()
        _MAY_BURN[key] = key in BURN_EVENTS or bool(fields & set(BURN_FIELDS))
    return _MAY_BURN[key]


_MAY_BURN: dict[tuple[str, str], bool] = {}


def burned_by_event(record: dict[str, Any]) -> int:
    """The base units an event (as rendered) says were burned, 0 if none."""
    total = 0
    for name in BURN_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value.isdigit():
            total += int(value)
    if (record.get("module"), record.get("event")) in BURN_EVENTS:
        value = record.get("amount")
        if isinstance(value, str) and value.isdigit():
            total += int(value)
    return total


# methods --------------------------------------------------------------------------------------------


@method("btt_explorerBlocks", optional("from", _number), optional("limit", _int_in("limit", 1, BLOCKS_MAX),
                                                                   BLOCKS_DEFAULT))
def btt_explorer_blocks(ctx: RpcContext, start: int | None, count: int) -> dict[str, Any]:
    """Canonical block summaries newest first from block `from` (default the head), at most `limit` (default 20,
    at most 100), with the head and finalized heights and `next` (the number to page on from, or null)."""
    chain = ctx.node.chain
    head = chain.head.number
    newest = head if start is None else min(start, head)
    blocks = []
    for h, _ in _canonical_blocks(ctx, newest, count):
        summary = summarize_block(ctx, h)
        if summary is not None:
            blocks.append(summary)
    fin = chain.db.get_header(chain.db.finalized_hash())
    last = newest - count
    return {
        "head": head,
        "finalized": fin.number if fin is not None else 0,
        "blocks": blocks,
        "next": last if last >= 0 else None,
    }


@method("btt_explorerBlock", Param("block", lambda v, c: v))
def btt_explorer_block(ctx: RpcContext, ref: Any) -> dict[str, Any] | None:
    """A block by number or 0x hash: its summary and header fields, every extrinsic decoded (as in
    `btt_explorerExtrinsic`) and the events outside any extrinsic; null if there is no such block."""
    db = ctx.node.chain.db
    if isinstance(ref, int) and not isinstance(ref, bool):
        block_hash = db.canonical_hash(_number(ref, ctx))
    elif isinstance(ref, str):
        block_hash = p.block_hash(ref, ctx)
    else:
        raise invalid_params("block: expected a block number or a 0x-prefixed block hash")
    if block_hash is None:
        return None
    block = _block_by_hash(ctx, block_hash)
    summary = summarize_block(ctx, block_hash)
    if block is None or summary is None:
        return None
    meta = db.block_meta(block_hash)
    render = account_renderer(_prefix(ctx))
    header = block.header
    return {
        **summary,
        "stateRoot": hex0x(header.state_root),
        "extrinsicsRoot": hex0x(header.extrinsics_root),
        "receiptsRoot": hex0x(header.receipts_root),
        "canonical": db.canonical_hash(header.number) == block_hash,
        "extrinsicList": [render_extrinsic(ctx, block, block_hash, i) for i in range(len(block.extrinsics))],
        "blockEvents": [render_event_record(r, render) for r in (meta.events if meta is not None else [])
                        if not (isinstance(r[0], int) and r[0] < len(block.extrinsics))],
    }


@method("btt_explorerExtrinsic", Param("hash", p.any_hash))
def btt_explorer_extrinsic(ctx: RpcContext, xt_hash: bytes) -> dict[str, Any] | None:
    """An included extrinsic by hash: block, index, signer, call and arguments, fee, outcome and its events;
    `{"status": "pending"}` while pooled; null if unknown."""
    node = ctx.node
    location = node.chain.db.tx_location(xt_hash)
    if location is None:
        return {"status": "pending", "hash": hex0x(xt_hash)} if xt_hash in node.pool else None
    block_hash, index = location
    block = _block_by_hash(ctx, block_hash)
    if block is None or index >= len(block.extrinsics):
        return None
    return {"status": "included", **render_extrinsic(ctx, block, block_hash, index)}


@method(
    "btt_explorerAccountExtrinsics",
    Param("account", p.account),
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("limit", _int_in("limit", 1, ACCOUNT_XTS_MAX), 20),
)
def btt_explorer_account_extrinsics(ctx: RpcContext, who: bytes, blocks: int, count: int) -> dict[str, Any]:
    """Extrinsics of the last `blocks` canonical blocks (default 200, at most 2,000) that the account signed or
    whose events name it (a transfer to it, say), newest first, at most `limit` (default 20, at most 100)."""
    head = ctx.node.chain.head.number
    found = []
    for block_hash, block in _canonical_blocks(ctx, head, blocks):
        meta = ctx.node.chain.db.block_meta(block_hash)
        named_in = {r[0] for r in (meta.events if meta is not None else []) if _names(r[3], who)}
        for i in range(len(block.extrinsics) - 1, -1, -1):
            xt = block.extrinsics[i]
            named = i in named_in
            if xt.signer != who and not named:
                continue
            row = render_extrinsic(ctx, block, block_hash, i)
            row["role"] = "signer" if xt.signer == who else "named"
            found.append(row)
            if len(found) >= count:
                return {"scanned": [max(head - blocks + 1, 0), head], "extrinsics": found}
    return {"scanned": [max(head - blocks + 1, 0), head], "extrinsics": found}


@method("btt_explorerSearch", Param("query", _query))
def btt_explorer_search(ctx: RpcContext, query: str) -> dict[str, Any] | None:
    """What `query` names: `{"kind": "block", "hash", "number"}` for a block number or hash, `{"kind":
    "extrinsic", "hash"}` for an included or pooled extrinsic hash, `{"kind": "account", "address"}` for an
    address or 0x account id; null if it names nothing this node knows."""
    db = ctx.node.chain.db
    if query.isdigit():
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
    `limit` (default 25, at most 200); `next` is the `before` of the next page (null at the end) and `total`
    the number of jobs ever posted. At most 10,000 ids are read per call."""
    state = state_view(ctx, at)
    prefix = _prefix(ctx)
    total = compute.next_job_id.get(state)
    top = total if before is None else min(before, total)
    jobs: list[dict[str, Any]] = []
    i = top - 1
    floor = max(top - 10_000, 0)
    while i >= floor and len(jobs) < count:
        job = compute.jobs.get(state, i)
        if job is not None and (status is None or job.status == status):
            jobs.append(render_job(state, job, prefix))
        i -= 1
    return {"total": total, "jobs": jobs, "next": i + 1 if i >= 0 else None}


@method(
    "btt_explorerBurns",
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("buckets", _int_in("buckets", 1, 100), 20),
)
def btt_explorer_burns(ctx: RpcContext, blocks: int, buckets: int) -> dict[str, Any]:
    """Burns by source (the module whose event reports it) in the last `blocks` canonical blocks (default 200,
    at most 2,000): the totals, and a series of `buckets` (default 20) ranges oldest first, each with its
    burns per source, all in base units."""
    head = ctx.node.chain.head.number
    render = account_renderer(_prefix(ctx))
    low = max(head - blocks + 1, 0)
    span = head - low + 1
    size = max(1, -(-span // buckets))
    series: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for start in range(low, head + 1, size):
        end = min(start + size - 1, head)
        row: dict[str, int] = {}
        for n in range(start, end + 1):
            h = ctx.node.chain.db.canonical_hash(n)
            meta = ctx.node.chain.db.block_meta(h) if h is not None else None
            for record in meta.events if meta is not None else []:
                if not may_burn(record[1], record[2]):
                    continue
                burned = burned_by_event(render_event_record(record, render))
                if burned:
                    source = str(record[1])
                    row[source] = row.get(source, 0) + burned
                    totals[source] = totals.get(source, 0) + burned
        series.append({"from": start, "to": end, "bySource": {k: str(v) for k, v in sorted(row.items())}})
    return {"from": low, "to": head, "totals": {k: str(v) for k, v in sorted(totals.items())}, "series": series}


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
    """A lock source by the runtime module that registered it ('runtime.vesting.logic' -> 'vesting')."""
    parts = str(getattr(fn, "__module__", "")).split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "runtime" else getattr(fn, "__name__", "unknown")


@method("btt_explorerLocks", Param("account", p.account), optional("at", p.block_hash))
def btt_explorer_locks(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """What each lock source (the same functions that set `frozen` when a transaction is checked) locks of the
    account at the block's time; `frozen` is the largest of them (locks overlap)."""
    state = state_view(ctx, at)
    now = system.timestamp_ms.get(state)
    env = BlockEnv(system.number.get(state), bytes(32), system.slot.get(state), now, bytes(32), speculative=True)
    call_ctx = CallContext(state, env, RUNTIME)
    locks = []
    for fn in lock_sources():
        amount = fn(call_ctx, who)
        if amount:
            locks.append({"source": _source_name(fn), "amount": str(amount)})
    info = account_at(state, who, now, RUNTIME)
    return {"address": encode_address(who, _prefix(ctx)), "timestamp": now, "frozen": str(info.frozen),
            "locks": locks}


def _modules(value: Any, ctx: RpcContext) -> tuple[str, ...]:
    known = {m.name for m in RUNTIME.modules} | {"fees"}
    if not isinstance(value, list) or not 1 <= len(value) <= 32 or not all(isinstance(v, str) for v in value):
        raise invalid_params("modules: expected a list of 1 to 32 module names")
    unknown = sorted(set(value) - known)
    if unknown:
        raise invalid_params(f"modules: no module {unknown[0]!r}"[:160])
    return tuple(value)


@method(
    "btt_explorerEvents",
    Param("modules", _modules),
    optional("blocks", _int_in("blocks", 1, SCAN_MAX), SCAN_DEFAULT),
    optional("limit", _int_in("limit", 1, 500), 100),
)
def btt_explorer_events(ctx: RpcContext, modules: tuple[str, ...], blocks: int, count: int) -> dict[str, Any]:
    """Events of the given modules in the last `blocks` canonical blocks (default 200, at most 2,000), newest
    first, at most `limit` (default 100, at most 500), each with its block number; `counts` has every matching
    event's name with how often it occurred in the range (all of them, not only those listed)."""
    head = ctx.node.chain.head.number
    render = account_renderer(_prefix(ctx))
    wanted = set(modules)
    found: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    low = max(head - blocks + 1, 0)
    for n in range(head, low - 1, -1):
        h = ctx.node.chain.db.canonical_hash(n)
        meta = ctx.node.chain.db.block_meta(h) if h is not None else None
        for record in reversed(meta.events if meta is not None else []):
            if record[1] not in wanted:
                continue
            name = f"{record[1]}.{record[2]}"
            counts[name] = counts.get(name, 0) + 1
            if len(found) < count:
                found.append({"block": n, **render_event_record(record, render)})
    return {"from": low, "to": head, "counts": dict(sorted(counts.items())), "events": found}
