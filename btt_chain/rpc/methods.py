"""The RPC methods: Substrate names where they exist (author_, chain_, state_, system_, payment_), `btt_` for the rest.

Accounts are SS58 addresses (or 0x-hex ids) of this chain's network; hashes are 0x-hex; amounts are always
decimal strings of base units. Every method reads the node on the event-loop thread, where the chain lives.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic, StorageError
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.rpc import params as p
from btt_chain.rpc import runtime_info, virtual_storage
from btt_chain.rpc.at import reader_at, state_view
from btt_chain.rpc.errors import (
    WEIGHTS_NOT_HELD,
    RpcError,
    invalid_params,
    invalid_transaction,
    unknown_block,
    warp_note,
)
from btt_chain.rpc.fee_info import quote
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import (
    account_renderer,
    hex0x,
    render_account,
    render_btt_header,
    render_event_record,
    render_header,
)
from btt_chain.rpc.validity import transaction_validity_error
from runtime.compute.weights_source import WeightsUnavailable
from runtime.events import Event
from runtime.executive import ApplyOutcome, BlockFull
from runtime.specs import UnsupportedSpec
from runtime.system import storage as system
from runtime.system.events import ExtrinsicFailed
from storage.history import HistoricalState

method = REGISTRY.method

CHAIN_TYPES = {"dev": "Development", "local": "Local", "live": "Live"}


def _version() -> str:
    try:
        return metadata.version("btt-chain")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def _prefix(ctx: RpcContext) -> int:
    return ctx.node.spec.ss58_prefix


# author ---------------------------------------------------------------------------------------------


@method("author_submitExtrinsic", Param("extrinsic", p.extrinsic_bytes))
def author_submit_extrinsic(ctx: RpcContext, encoded: bytes) -> str:
    try:
        return hex0x(ctx.node.submit_extrinsic(encoded))
    except InvalidExtrinsic as exc:
        raise invalid_transaction(str(exc)) from None


PENDING_PAGE = 1_000
"""At most this many pooled extrinsics per `author_pendingExtrinsics` reply (a full pool is 8,192)."""


def _page_start(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(f"start: expected a non-negative integer, got {value!r}"[:120])
    return value


def _page_limit(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PENDING_PAGE:
        raise invalid_params(f"limit: expected an integer from 1 to {PENDING_PAGE}, got {value!r}"[:120])
    return value


@method("author_pendingExtrinsics", optional("start", _page_start, 0), optional("limit", _page_limit, PENDING_PAGE))
def author_pending_extrinsics(ctx: RpcContext, start: int, limit: int) -> list[str]:
    """Pooled extrinsics by (sender, nonce), a page at a time: `start` (default 0) and `limit` (default and at
    most 1,000), so a full pool never makes one huge reply."""
    return [hex0x(t.encoded) for t in ctx.node.pool.pending()[start:start + limit]]


def _decode_extrinsic(encoded: bytes) -> Extrinsic:
    try:
        return Extrinsic.decode_checked(encoded)
    except DecodeError as exc:
        raise invalid_params(f"extrinsic: malformed: {exc}") from None


def _dry_run(ctx: RpcContext, encoded: bytes, at: bytes | None) -> tuple[ApplyOutcome, list[Event]]:
    """What the extrinsic `encoded` would do in a block built on `at` (None: the head), under the spec of that block's
    child, with nothing kept: at any canonical block whose state the node serves (`--state-pruning`), the finalized
    head included. The block is checked first (an unknown, side-chain or pruned one is a clear -32602, `at.reader_at`),
    then the extrinsic; InvalidExtrinsic or BlockFull when it could not be included there."""
    block_hash, header, reader = reader_at(ctx, at)
    xt = _decode_extrinsic(encoded)
    try:
        return ctx.node.chain.dry_run_at(xt, len(encoded), block_hash, header, reader)
    except UnsupportedSpec as exc:
        raise runtime_info.unsupported(exc) from None


@method("btt_dryRun", Param("extrinsic", p.extrinsic_bytes), optional("at", p.block_hash))
def btt_dry_run(ctx: RpcContext, encoded: bytes, at: bytes | None) -> dict[str, Any]:
    """What a signed extrinsic would do in the next block, with nothing kept: `valid` (could it be included at
    all; if not, `error` says why and no fee would be charged), `success` and the call's `error`, the `fee`,
    and the events it would emit. Wallets run it first, so a mistake the node can see costs no fee. `at`: in a
    block built on that block instead of the head (`_dry_run`)."""
    try:
        outcome, events = _dry_run(ctx, encoded, at)
    except InvalidExtrinsic as exc:
        return {"valid": False, "success": False, "error": str(exc), "fee": None, "events": []}
    except BlockFull as exc:
        return {"valid": False, "success": False, "error": str(exc), "fee": None, "events": []}
    except WeightsUnavailable as exc:  # no verdict: the node fetches the blob, the caller asks again
        ctx.node.fetch_missing_weights()
        raise RpcError(WEIGHTS_NOT_HELD, f"cannot dry-run this call yet: {exc} (fetching them from its peers: ask "
                                         "again)", {"weightsHash": hex0x(exc.weights_hash)}) from None
    render = account_renderer(_prefix(ctx))
    rendered = [render_event_record([0, e.MODULE, e.name, e.to_wire()], render) for e in events]
    return {"valid": True, "success": outcome.success, "error": outcome.error, "fee": str(outcome.fee),
            "events": rendered}


@method("system_dryRun", Param("extrinsic", p.extrinsic_bytes), optional("at", p.block_hash),
        aliases=("system_dryRunAt",))
def system_dry_run(ctx: RpcContext, encoded: bytes, at: bytes | None) -> str:
    """Substrate's dry run: SCALE `ApplyExtrinsicResult` (`Ok(Ok(()))`, `Ok(Err(DispatchError))` for a call that
    would fail and pay its fee, `Err(TransactionValidityError)` for one that could not be included). btt_dryRun
    says the same in JSON, with the fee and the events. `at` as btt_dryRun's: Substrate API Sidecar passes the
    finalized head."""
    try:
        outcome, events = _dry_run(ctx, encoded, at)
    except (InvalidExtrinsic, BlockFull) as exc:
        return hex0x(b"\x01" + transaction_validity_error(exc))
    except WeightsUnavailable as exc:
        ctx.node.fetch_missing_weights()
        raise RpcError(WEIGHTS_NOT_HELD, f"cannot dry-run this call yet: {exc} (fetching them from its peers: ask "
                                         "again)", {"weightsHash": hex0x(exc.weights_hash)}) from None
    if outcome.success:
        return "0x0000"
    failed = [e for e in events if isinstance(e, ExtrinsicFailed)]
    error = failed[-1].dispatch_error.encode() if failed else b"\x00"
    return hex0x(b"\x00\x01" + error)


@method("btt_dryRunReferendum", Param("call", p.call_bytes), Param("emergency", p.boolean))
def btt_dry_run_referendum(ctx: RpcContext, call: Any, emergency: bool) -> dict[str, Any]:
    """Would this call succeed if a referendum enacted it now (with the governance origin, or the emergency one
    on the emergency track)? `{"ok": bool, "error": str | null}`; nothing is kept. `btt-chain propose` asks it
    first, so a proposal that could only fail is not sent."""
    from runtime.context import EMERGENCY, GOVERNANCE

    error = ctx.node.chain.dry_run_call(call, EMERGENCY if emergency else GOVERNANCE)
    return {"ok": error is None, "error": error}


# chain ----------------------------------------------------------------------------------------------


@method("chain_getHeader", optional("hash", p.block_hash))
def chain_get_header(ctx: RpcContext, block_hash: bytes | None) -> dict[str, Any] | None:
    chain = ctx.node.chain
    h = block_hash or chain.head_hash
    header = chain.db.get_header(h)
    return None if header is None else render_header(header)


@method("btt_header", optional("hash", p.block_hash))
def btt_header(ctx: RpcContext, block_hash: bytes | None) -> dict[str, Any] | None:
    """The header with btt's consensus fields by name (slot, timestamp, receipts root, author, reveal, seal) and its
    hash; the head's when no hash is given."""
    chain = ctx.node.chain
    h = block_hash or chain.head_hash
    header = chain.db.get_header(h)
    return None if header is None else render_btt_header(header, h, _prefix(ctx))


@method("chain_getBlock", optional("hash", p.block_hash))
def chain_get_block(ctx: RpcContext, block_hash: bytes | None) -> dict[str, Any] | None:
    """The block with its extrinsics as 0x-hex encodings, cut from the stored block without decoding them (a full
    block is 10,000 extrinsics, at most 4 MB, read in a few milliseconds)."""
    chain = ctx.node.chain
    h = block_hash or chain.head_hash
    body = chain.db.block_body(h)
    if body is None:
        return None
    return {
        "block": {
            "header": render_header(body.header()),
            "extrinsics": [hex0x(body.encoded(i)) for i in range(body.count)],
        },
        "justifications": None,
    }


@method("chain_getBlockHash", optional("number", p.block_numbers), aliases=("chain_getHead",))
def chain_get_block_hash(ctx: RpcContext, number: int | list[int] | None) -> str | None | list[str | None]:
    chain = ctx.node.chain
    if number is None:
        return hex0x(chain.head_hash)

    base = chain.db.warp_base()

    def one(n: int) -> str | None:
        if base is not None and 0 < n < base[0]:
            raise invalid_params(f"no block #{n}: {warp_note(base)}")
        h = chain.db.canonical_hash(n) if n <= chain.head.number else None
        return None if h is None else hex0x(h)

    return [one(n) for n in number] if isinstance(number, list) else one(number)


@method("chain_getFinalizedHead", aliases=("chain_getFinalisedHead",))
def chain_get_finalized_head(ctx: RpcContext) -> str:
    return hex0x(ctx.node.chain.db.finalized_hash())


# state ----------------------------------------------------------------------------------------------


@method("state_getStorage", Param("key", p.storage_key), optional("at", p.block_hash),
        aliases=("state_getStorageAt",))
def state_get_storage(ctx: RpcContext, key: bytes, at: bytes | None) -> str | None:
    block_hash, _, reader = reader_at(ctx, at)
    value = virtual_storage.read(ctx.node.chain, reader, key, block_hash)
    return None if value is None else hex0x(value)


PROOF_REWIND_KEYS = 50_000
"""Changed keys a proof at an older block may set back in the state tree (set back and forward again: ~2.5 µs a key,
~130 ms at the bound on this machine, on the event loop where RPC and the slot loop run): about five full blocks of
transfers back, or every block of a lightly used chain's pruning window."""


@method("state_getReadProof", Param("keys", p.storage_keys), optional("at", p.block_hash))
def state_get_read_proof(ctx: RpcContext, keys: list[bytes], at: bytes | None) -> dict[str, Any]:
    """Values of `keys` at the block `at` (default the head) with sparse-Merkle proofs against its state root
    (absent keys too). The node holds the head's tree: for an older block it sets back the keys changed since
    (what the undo journals hold) and undoes that afterwards, so the cost follows the changes since that block, and
    a block further back than PROOF_REWIND_KEYS changed keys is refused with that number.

    Each proof is hex of msgpack [siblings, leaf]; check it with storage.smt.verify_proof."""
    chain = ctx.node.chain
    block_hash, header, state = reader_at(ctx, at)
    root = header.state_root
    rewind: dict[bytes, bytes | None] = {}
    if isinstance(state, HistoricalState):
        rewind = state.changes_from_head
        if len(rewind) > PROOF_REWIND_KEYS:
            raise invalid_params(
                f"a proof at block #{header.number} would set back {len(rewind):,} keys changed since; this node "
                f"proves states at most {PROOF_REWIND_KEYS:,} changed keys back from the head"
            )
    entries = []
    with chain.tree.rewound(rewind) as tree_root:
        if tree_root != root:
            raise StorageError(f"the state tree set back to block #{header.number} does not give its state root")
        for key in keys:
            value = state.get(key)
            proof = chain.tree.prove(key)
            entries.append(
                {"key": hex0x(key), "value": None if value is None else hex0x(value),
                 "proof": hex0x(pack(proof.to_wire()))}
            )
    return {"at": hex0x(block_hash), "stateRoot": hex0x(root), "proof": entries}


@method("state_getMetadata", optional("at", p.block_hash))
def state_get_metadata(ctx: RpcContext, at: bytes | None) -> str:
    """SCALE metadata V14 (`0x6d657461 0e ...`) of the runtime at the block `at` (default the head): the spec that
    runs the block's child (`runtime_info`), with the constants (existential deposit, the block's limits) as that
    block's state holds them."""
    return hex0x(metadata_at(ctx, at))


def metadata_at(ctx: RpcContext, at: bytes | None) -> bytes:
    return runtime_info.metadata(state_view(ctx, at), ctx.node.spec.ss58_prefix)


@method("btt_callTable", optional("at", p.block_hash))
def btt_call_table(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """The call table of the runtime at the block `at` (default the head: the one the next block runs) as JSON
    (module and call indices, argument names and field types, weights, and its `spec_version`): what btt's own
    clients build and sign calls from without decoding SCALE metadata."""
    return runtime_info.runtime_at(state_view(ctx, at)).metadata()


@method("state_getRuntimeVersion", optional("at", p.block_hash), aliases=("chain_getRuntimeVersion",))
def state_get_runtime_version(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """Substrate's `RuntimeVersion` of the runtime at the block `at` (default the head): the spec that runs the
    block's child, so the last block before an upgrade already gives the new spec (`runtime_info`)."""
    return runtime_info.version_json(state_view(ctx, at))


# system ---------------------------------------------------------------------------------------------


@method("system_health")
def system_health(ctx: RpcContext) -> dict[str, Any]:
    node = ctx.node
    return {
        "peers": node.peer_count(),
        "isSyncing": node.is_syncing(),
        "shouldHavePeers": node.config.p2p_port is not None and len(node.chain.validators()) > 1,
    }


@method("system_peers")
def system_peers(ctx: RpcContext) -> list[Any]:
    p2p = ctx.node.p2p
    if p2p is None:
        return []
    network = ctx.node.network
    best = network.peer_best if network is not None else {}
    out = []
    for info in p2p.peers():
        status = best.get(info.peer_id)
        out.append(
            {
                "peerId": info.peer_id,
                "address": info.address,
                "score": info.score,
                "bestHash": hex0x(status.best_hash) if status else None,
                "bestNumber": status.best_number if status else None,
            }
        )
    return out


@method("btt_peerBans")
def btt_peer_bans(ctx: RpcContext) -> dict[str, Any]:
    """The peers banned now (`system_peers` lists connected peers only), each with its kind, reason and seconds left,
    and the bans since the node started by kind (`btt_peer_bans_total{reason}` on /metrics)."""
    p2p = ctx.node.p2p
    if p2p is None:
        return {"active": [], "totals": {}}
    active = [{"peerId": b.peer_id, "kind": b.kind, "reason": b.reason, "secondsLeft": b.seconds_left}
              for b in p2p.active_bans()]
    return {"active": active, "totals": p2p.ban_totals()}


@method("system_localPeerId")
def system_local_peer_id(ctx: RpcContext) -> str | None:
    p2p = ctx.node.p2p
    return None if p2p is None else str(p2p.local_peer_id)


@method("system_localListenAddresses")
def system_local_listen_addresses(ctx: RpcContext) -> list[str]:
    p2p = ctx.node.p2p
    return [] if p2p is None else list(p2p.listen_addrs)


@method("system_chain")
def system_chain(ctx: RpcContext) -> str:
    return ctx.node.spec.name


@method("system_name")
def system_name(ctx: RpcContext) -> str:
    return "btt-chain"


@method("system_version")
def system_version(ctx: RpcContext) -> str:
    return _version()


@method("system_chainType")
def system_chain_type(ctx: RpcContext) -> str:
    kind = ctx.node.spec.chain_type
    return CHAIN_TYPES.get(kind, kind.capitalize())


@method("system_properties")
def system_properties(ctx: RpcContext) -> dict[str, Any]:
    spec = ctx.node.spec
    return {"ss58Format": spec.ss58_prefix, "tokenDecimals": spec.token.decimals, "tokenSymbol": spec.token.symbol}


@method("system_accountNextIndex", Param("account", p.account), aliases=("account_nextIndex",))
def system_account_next_index(ctx: RpcContext, who: bytes) -> int:
    return ctx.node.next_account_index(who)


# payment --------------------------------------------------------------------------------------------


def _fee_quote(ctx: RpcContext, encoded: bytes, at: bytes | None) -> Any:
    state = state_view(ctx, at)
    try:
        return quote(state, encoded, len(encoded), runtime_info.runtime_at(state))
    except DecodeError as exc:
        raise invalid_params(f"extrinsic: malformed: {exc}") from None


@method("payment_queryInfo", Param("extrinsic", p.extrinsic_bytes), optional("at", p.block_hash))
def payment_query_info(ctx: RpcContext, encoded: bytes, at: bytes | None) -> dict[str, Any]:
    """The inclusion fee (without tip) the extrinsic would pay in the block after `at` (default the head), weighed by
    that block's runtime; the signature is not checked (`fee_info`)."""
    found = _fee_quote(ctx, encoded, at)
    return {"weight": {"refTime": found.weight, "proofSize": 0}, "class": "normal",
            "partialFee": str(found.fee.inclusion_fee)}


def _number_or_hex(amount: int) -> str:
    """A u128 as Substrate's `NumberOrHex` serializes it: minimal 0x-hex."""
    return hex(amount)


@method("payment_queryFeeDetails", Param("extrinsic", p.extrinsic_bytes), optional("at", p.block_hash))
def payment_query_fee_details(ctx: RpcContext, encoded: bytes, at: bytes | None) -> dict[str, Any]:
    """`FeeDetails {inclusionFee: {baseFee, lenFee, adjustedWeightFee}}` of the extrinsic at the block `at` (default
    the head), each as 0x-hex (`NumberOrHex`); they add up to `payment_queryInfo`'s `partialFee` (`fee_info`)."""
    base, length, weight = _fee_quote(ctx, encoded, at).inclusion_parts
    return {"inclusionFee": {"baseFee": _number_or_hex(base), "lenFee": _number_or_hex(length),
                             "adjustedWeightFee": _number_or_hex(weight)}}


# btt ------------------------------------------------------------------------------------------------


@method("btt_account", Param("account", p.account), optional("at", p.block_hash))
def btt_account(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """The account at the block `at` (default the head), `frozen` and `spendable` as its locks stand at that
    block's time (what a transaction is checked against), not as last written."""
    state = state_view(ctx, at)
    runtime = runtime_info.runtime_at(state)
    account_at = runtime_info.module_of(runtime, "runtime.balances.locks").account_at
    info = account_at(state, who, system.timestamp_ms.get(state), runtime)
    return render_account(who, info, _prefix(ctx))


EVENTS_PAGE = 500
"""At most this many events per `btt_events` reply (a block of 10,000 transfers has 30,001)."""


def _events_start(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise invalid_params(f"start: expected an integer from 0 to 2^32-1, got {value!r}"[:120])
    return value


def _events_limit(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EVENTS_PAGE:
        raise invalid_params(f"limit: expected an integer from 1 to {EVENTS_PAGE}, got {value!r}"[:120])
    return value


@method(
    "btt_events",
    optional("hash", p.block_hash),
    optional("extrinsic", _events_start),
    optional("start", _events_start, 0),
    optional("limit", _events_limit, EVENTS_PAGE),
)
def btt_events(
    ctx: RpcContext, block_hash: bytes | None, extrinsic: int | None, start: int, count: int
) -> list[dict[str, Any]]:
    """The events of the block `hash` (default the head) in the order they were emitted, or only those of its
    extrinsic number `extrinsic` (found by the block's index); a page at a time: from `start` (default 0), at most
    `limit` (default and at most 500). A page shorter than `limit` is the last."""
    chain = ctx.node.chain
    h = block_hash or chain.head_hash
    view = chain.db.block_meta_view(h)
    if view is None:
        raise unknown_block(h, chain.db.warp_base())
    first, end = view.event_range(extrinsic) if extrinsic is not None else (0, view.event_count)
    render = account_renderer(_prefix(ctx))
    return [render_event_record(r, render) for r in view.events(first + start, min(end, first + start + count))]


@method("btt_extrinsicStatus", Param("hash", p.any_hash))
def btt_extrinsic_status(ctx: RpcContext, xt_hash: bytes) -> dict[str, Any] | None:
    """null if unknown; pending while pooled; included with the block, index, outcome and fee."""
    node = ctx.node
    location = node.chain.db.tx_location(xt_hash)
    if location is None:
        return {"status": "pending"} if xt_hash in node.pool else None
    block_hash, index = location
    header = node.chain.db.get_header(block_hash)
    view = node.chain.db.block_meta_view(block_hash)
    outcome = view.outcome(index) if view is not None else None
    out: dict[str, Any] = {
        "status": "included",
        "blockHash": hex0x(block_hash),
        "blockNumber": header.number if header is not None else None,
        "index": index,
        "success": None,
        "fee": None,
        "error": None,
    }
    if outcome is not None:
        _, success, fee, _weight, error = outcome
        out.update(success=bool(success), fee=str(int.from_bytes(fee, "big")), error=error or None)
    return out


@method("btt_issuance", optional("at", p.block_hash))
def btt_issuance(ctx: RpcContext, at: bytes | None) -> dict[str, str]:
    state = state_view(ctx, at)
    return {
        "totalIssuance": str(system.total_issuance.get(state)),
        "totalBurned": str(system.total_burned.get(state)),
        "genesisSupply": str(system.genesis_supply.get(state)),
    }


@method("btt_validators")
def btt_validators(ctx: RpcContext) -> list[dict[str, str]]:
    prefix = _prefix(ctx)
    return [
        {
            "account": encode_address(v.account, prefix),
            "sessionKey": hex0x(v.session_key),
            "bond": str(v.bond),
            "payee": encode_address(v.payee, prefix),
        }
        for v in ctx.node.chain.validators()
    ]


@method("btt_poolStatus")
def btt_pool_status(ctx: RpcContext) -> dict[str, int]:
    return ctx.node.pool.status()


SUBSTRATE_NAMESPACES = ("author_", "chain_", "state_", "childstate_", "system_", "account_", "payment_", "rpc_",
                        "subscribe_", "unsubscribe_")
"""`rpc_methods` lists the methods of Substrate's namespaces only: @polkadot/api warns about every listed method it
does not know ("RPC methods not decorated"), and btt's own are listed by `btt_rpcMethods`."""


@method("rpc_methods")
def rpc_methods(ctx: RpcContext) -> dict[str, Any]:
    """Substrate's methods this node serves (the ones Substrate clients know); `btt_rpcMethods` lists all."""
    names = REGISTRY.names(include_unsafe=ctx.unsafe_allowed)
    return {"methods": [n for n in names if n.startswith(SUBSTRATE_NAMESPACES)]}


@method("btt_rpcMethods")
def btt_rpc_methods(ctx: RpcContext) -> dict[str, Any]:
    """Every method this node serves to this caller, btt's own included."""
    return {"methods": REGISTRY.names(include_unsafe=ctx.unsafe_allowed)}
