"""What docs/rpc.md says of each RPC method beyond the registry: its result and its cost bound, by method name
(aliases share their method's entry). The registry (`registry.REGISTRY`) gives the rest: parameters, aliases, unsafe,
WebSocket only.

A cost bound is what the code enforces, read from the handler: page sizes, items read or examined per call, keys per
query, work moved to a child process. The figures come from the constants the handlers use, so the page follows them
when they change (`scripts/gen_docs.py` regenerates it). Where a cost follows the chain's data and no constant caps
it, the entry says what it follows. tests/rpc/test_method_docs.py fails when a registered method has no entry here
or an entry names no method.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.node.hash_chain_builder import MAX_WAITING
from btt_chain.node.txpool import PoolConfig
from btt_chain.primitives.extrinsic import MAX_EXTRINSIC_SIZE
from btt_chain.rpc import methods_assets as assets
from btt_chain.rpc import methods_compute as compute
from btt_chain.rpc import methods_explorer as explorer
from btt_chain.rpc import methods_governance as governance
from btt_chain.rpc import methods_incentives as incentives
from btt_chain.rpc import methods_payments as payments
from btt_chain.rpc.explorer_reserves import RESERVE_SCAN_ITEMS
from btt_chain.rpc.methods import EVENTS_PAGE, PENDING_PAGE, PROOF_REWIND_KEYS
from btt_chain.rpc.methods_bonds import PENDING_LISTED
from btt_chain.rpc.methods_finality import MAX_JUSTIFIED_SHOWN
from btt_chain.rpc.methods_outputs import INPUTS_PAGE
from btt_chain.rpc.methods_staking import DEPOSITS_LISTED
from btt_chain.rpc.methods_state import MAX_CALL_DATA, MAX_KEYS_PAGE, MAX_QUERY_KEYS
from btt_chain.rpc.params import MAX_PROOF_KEYS
from btt_chain.rpc.runtime_api import RUNTIME_CALLS
from btt_chain.rpc.subscriptions import EVENTS_PER_NOTIFICATION, MAX_STORAGE_KEYS, MAX_SUBSCRIPTIONS, RENDER_SLICE
from btt_chain.rpc.virtual_storage import KEEP as EVENTS_KEPT
from btt_chain.rpc.watch import MAX_WATCHES, MAX_WATCHES_PER_CONNECTION
from p2p.peerbook import MAX_LISTED_BANS
from runtime.bonds.types import MAX_UNLOCKING_CHUNKS
from runtime.compute.model import MAX_WEIGHTS_BYTES, WEIGHTS_CHUNK
from runtime.compute.types import MAX_EXCHANGED_ITEM, MAX_JOB_ITEMS, MAX_REDUNDANCY
from runtime.governance import electorate
from runtime.session.storage import MAX_VALIDATORS
from runtime.vesting.storage import MAX_SCHEDULES_STORED
from storage.content import DEFAULT_GRACE_S, DEFAULT_MAX_UNNEEDED_BYTES, MAX_CHUNKS

KIB = 1024
MIB = 1024 * 1024
POOL = PoolConfig()


@dataclass(frozen=True, slots=True)
class MethodDoc:
    """A method's result and cost bound, as docs/rpc.md shows them (Markdown, one line each)."""

    result: str
    """What a successful call answers."""
    cost: str
    """The most work one call may do, as the code bounds it."""


def _n(value: int) -> str:
    return f"{value:,}"


_LOOKUP = "one look-up"
_CONSTANT = "none: a value the node holds"
_UNSUBSCRIBE = MethodDoc("true if the subscription was this connection's and is now closed", _LOOKUP)
_ACCOUNT_LOCKS = (f"one account read and its lock sources (vesting: ≤ {MAX_SCHEDULES_STORED} schedules; the vote "
                  "lock): what checking its transaction reads")
_POOL_PASS = f"one pass over the pool (≤ {_n(POOL.max_count)} transactions)"
_DRY_RUN = (f"one extrinsic (≤ {MAX_EXTRINSIC_SIZE // KIB} KiB) checked and applied in a throwaway block built on "
            "`at`: its weight, ≤ `block.max_weight`; nothing kept")
_FEE = (f"one extrinsic (≤ {MAX_EXTRINSIC_SIZE // KIB} KiB) decoded and weighed, one fee computation; the signature "
        "is not checked")
_HASH_CHAIN = (f"its hash chain (`consensus.hash_chain_length` hashes) is built in a child process, one build at a "
               f"time, the node serving meanwhile; -32001 busy at once when {MAX_WAITING} callers wait")
_READ = "one read"
_STORAGE_READ = (f"one read; `System.Events` encodes the block's events once (the last {EVENTS_KEPT} blocks asked "
                 "are kept)")
_SUBMIT = (f"one transaction check (≤ {MAX_EXTRINSIC_SIZE // KIB} KiB: decode, signature, the runtime's validity "
           f"check) and pool admission (≤ {_n(POOL.max_count)} transactions, {POOL.max_bytes // MIB} MiB)")
_ITEMS = f"≤ {_n(MAX_JOB_ITEMS)} items of ≤ {_n(MAX_EXCHANGED_ITEM)} bytes"
_HEADS = f"one header rendered per block for all subscribers; ≤ {MAX_SUBSCRIPTIONS} subscriptions a connection"
_CHILD = "the block checked as the state methods check it; nothing read (btt has no child tries)"

DOCS: dict[str, MethodDoc] = {
    # author_ ------------------------------------------------------------------------------------------------------
    "author_hasKey": MethodDoc("true if the keystore holds this session key", _LOOKUP),
    "author_hasSessionKeys": MethodDoc("true if the keystore holds the key of these session keys", _LOOKUP),
    "author_insertKey": MethodDoc(
        "null, once the key is in the keystore (on disk) and its hash chain built",
        "one key written; its hash chain is then built in a child process as for `author_rotateKeys` (skipped when "
        "the builder is full: the key's first block builds it)"),
    "author_pendingExtrinsics": MethodDoc(
        "the pooled extrinsics (0x-hex) by (sender, nonce)",
        f"≤ {_n(PENDING_PAGE)} a page; sorts the pool (≤ {_n(POOL.max_count)} transactions)"),
    "author_rotateKeys": MethodDoc(
        "the new session keys (0x-hex, 64 bytes) for `session.set_keys`", f"one key made; {_HASH_CHAIN}"),
    "author_submitAndWatchExtrinsic": MethodDoc(
        "a subscription id; `author_extrinsicUpdate` notifications: ready or future, broadcast, inBlock, finalized, "
        "or usurped, dropped, invalid",
        f"{_SUBMIT}; ≤ {MAX_WATCHES_PER_CONNECTION} watches a connection, {_n(MAX_WATCHES)} a node"),
    "author_submitExtrinsic": MethodDoc("the extrinsic's hash", _SUBMIT),
    "author_unwatchExtrinsic": MethodDoc("true if the watch was this connection's and is now closed", _LOOKUP),
    # chain_ -------------------------------------------------------------------------------------------------------
    "chain_getBlock": MethodDoc(
        "{block: {header, extrinsics (0x-hex)}, justifications: null}, or null",
        "one stored block, its extrinsics cut out without decoding (≤ `block.max_extrinsics` and "
        "`block.max_bytes`: 10,000 and 4 MiB in the presets)"),
    "chain_getBlockHash": MethodDoc(
        "the canonical block hash at `number` (default: the head's), a list for a list; null past the head",
        "one index read a number, ≤ 1,000 numbers"),
    "chain_getFinalizedHead": MethodDoc("the finalized block's hash", _READ),
    "chain_getHeader": MethodDoc(
        "Substrate's header (parentHash, number, stateRoot, extrinsicsRoot, digest), or null", "one header read"),
    "chain_subscribeFinalizedHeads": MethodDoc(
        "a subscription id; `chain_finalizedHead` notifications: each newly finalized header", _HEADS),
    "chain_subscribeNewHeads": MethodDoc("a subscription id; `chain_newHead` notifications: each new best header",
                                         _HEADS),
    "chain_unsubscribeFinalizedHeads": _UNSUBSCRIBE,
    "chain_unsubscribeNewHeads": _UNSUBSCRIBE,
    # childstate_ --------------------------------------------------------------------------------------------------
    "childstate_getKeys": MethodDoc("[] (every child trie is empty)", _CHILD),
    "childstate_getKeysPaged": MethodDoc("[] (every child trie is empty)", _CHILD),
    "childstate_getStorage": MethodDoc("null", _CHILD),
    "childstate_getStorageEntries": MethodDoc("null for each key", f"{_CHILD}; ≤ {_n(MAX_QUERY_KEYS)} keys"),
    "childstate_getStorageHash": MethodDoc("null", _CHILD),
    "childstate_getStorageSize": MethodDoc("null", _CHILD),
    # payment_ -----------------------------------------------------------------------------------------------------
    "payment_queryFeeDetails": MethodDoc(
        "{inclusionFee: {baseFee, lenFee, adjustedWeightFee}} (0x-hex u128s), adding up to `partialFee`", _FEE),
    "payment_queryInfo": MethodDoc(
        "{weight: {refTime, proofSize}, class, partialFee}: the inclusion fee without tip", _FEE),
    # rpc_ ---------------------------------------------------------------------------------------------------------
    "rpc_methods": MethodDoc(
        "{methods}: the methods of Substrate's namespaces this caller may call", "one pass over the method table"),
    "btt_rpcMethods": MethodDoc(
        "{methods}: every method this caller may call, btt's own included", "one pass over the method table"),
    # state_ -------------------------------------------------------------------------------------------------------
    "state_call": MethodDoc(
        "the function's SCALE result (0x-hex); functions: " + ", ".join(f"`{name}`" for name in sorted(RUNTIME_CALLS)),
        f"one runtime API function, arguments ≤ {_n(MAX_CALL_DATA)} bytes: one read, one fee computation, the "
        "metadata (built once per spec) or one transaction check"),
    "state_getKeys": MethodDoc(
        "every key under `prefix`, in key order",
        f"≤ {_n(MAX_KEYS_PAGE)} keys read by a seek; a prefix with more is refused"),
    "state_getKeysPaged": MethodDoc(
        "≤ `count` keys under `prefix` after `startKey`, in key order",
        f"`count` ≤ {_n(MAX_KEYS_PAGE)} keys, found by a seek"),
    "state_getMetadata": MethodDoc(
        "SCALE metadata V14 (0x-hex) of the runtime at `at`",
        "a few reads of the chain's constants; the metadata is built once per spec and constants, then kept"),
    "state_getPairs": MethodDoc(
        "every [key, value] under `prefix`, in key order",
        f"≤ {_n(MAX_KEYS_PAGE)} pairs read by a seek; a prefix with more is refused"),
    "state_getReadProof": MethodDoc(
        "{at, stateRoot, proof: [{key, value, proof}]}: sparse-Merkle proofs against the block's state root",
        f"≤ {MAX_PROOF_KEYS} keys, a proof each; at an older block the state tree is set back by the keys changed "
        f"since (≤ {_n(PROOF_REWIND_KEYS)}, more is refused) and forward again"),
    "state_getRuntimeVersion": MethodDoc("Substrate's RuntimeVersion of the runtime at `at`", "a few reads"),
    "state_getStorage": MethodDoc(
        "the value at `key` (0x-hex) or null; `System.Events`, `System.Digest`, `:code` and `Balances.Locks` as "
        "FRAME serves them", _STORAGE_READ),
    "state_getStorageHash": MethodDoc("the blake2_256 of the value at `key`, or null", _STORAGE_READ),
    "state_getStorageSize": MethodDoc(
        "the length of the value at `key`; for a key that holds none, the summed length of the values under it; "
        "null for nothing",
        f"one read, or ≤ {_n(MAX_KEYS_PAGE)} values under the key as a prefix (more is refused)"),
    "state_queryStorageAt": MethodDoc(
        "[{block, changes: [[key, value or null], ...]}]", f"≤ {_n(MAX_QUERY_KEYS)} keys, one read each"),
    "state_subscribeRuntimeVersion": MethodDoc(
        "a subscription id; `state_runtimeVersion` notifications: the version now, then at each change of spec",
        "one version read per new head"),
    "state_subscribeStorage": MethodDoc(
        "a subscription id; `state_storage` notifications {block, changes}: every key now, then those each new "
        "head changed",
        f"≤ {_n(MAX_STORAGE_KEYS)} keys a connection over all its storage subscriptions, each read once per new head"),
    "state_unsubscribeRuntimeVersion": _UNSUBSCRIBE,
    "state_unsubscribeStorage": _UNSUBSCRIBE,
    # system_ ------------------------------------------------------------------------------------------------------
    "system_accountNextIndex": MethodDoc(
        "the nonce to use next: the account's, plus its consecutive pooled ones", f"one read and {_POOL_PASS}"),
    "system_chain": MethodDoc("the chain's name", _CONSTANT),
    "system_chainType": MethodDoc("Development, Local or Live", _CONSTANT),
    "system_dryRun": MethodDoc(
        "SCALE `ApplyExtrinsicResult` (0x-hex): `Ok(Ok(()))`, `Ok(Err(DispatchError))` or "
        "`Err(TransactionValidityError)`", _DRY_RUN),
    "system_health": MethodDoc("{peers, isSyncing, shouldHavePeers}", "a few counters"),
    "system_localListenAddresses": MethodDoc("the node's p2p listen addresses", _CONSTANT),
    "system_localPeerId": MethodDoc("the node's libp2p peer id, or null without p2p", _CONSTANT),
    "system_name": MethodDoc('"btt-chain"', _CONSTANT),
    "system_nodeRoles": MethodDoc('["Authority"] for a node with a validator key, else ["Full"]', _CONSTANT),
    "system_peers": MethodDoc(
        "the connected peers: {peerId, address, score, bestHash, bestNumber}",
        "one row a connected peer (≤ `--in-peers` + `--out-peers`)"),
    "system_properties": MethodDoc("{ss58Format, tokenDecimals, tokenSymbol}", _CONSTANT),
    "system_reservedPeers": MethodDoc("[] (btt has no reserved peers)", _CONSTANT),
    "system_syncState": MethodDoc(
        "{startingBlock, currentBlock, highestBlock}", "one pass over the connected peers' best blocks"),
    "system_version": MethodDoc("the node's version", _CONSTANT),
    # btt_: blocks, accounts, transactions ------------------------------------------------------------------------
    "btt_account": MethodDoc(
        "{address, nonce, free, reserved, frozen, spendable} at `at`, locks as they stand at that block's time",
        _ACCOUNT_LOCKS),
    "btt_callTable": MethodDoc(
        "the runtime's call table as JSON: module and call indices, argument names and types, weights, "
        "spec_version", "the spec's call table (fixed per spec) rendered"),
    "btt_dryRun": MethodDoc("{valid, success, error, fee, events}: what the extrinsic would do, nothing kept",
                            _DRY_RUN),
    "btt_dryRunReferendum": MethodDoc(
        "{ok, error}: whether a referendum enacting the call now would succeed",
        "one call dispatched with the governance (or emergency) origin on a throwaway copy of the next block: the "
        "call's own work, as its enactment would do it; nothing kept"),
    "btt_events": MethodDoc(
        "the block's event records (or one extrinsic's) in emitted order",
        f"≤ {_n(EVENTS_PAGE)} events a page, found by the block's index (no whole block decoded)"),
    "btt_extrinsicStatus": MethodDoc(
        "null, {status: pending}, or {status: included, blockHash, blockNumber, index, success, fee, error}",
        "one index read, one header and one outcome"),
    "btt_header": MethodDoc(
        "the header with btt's consensus fields by name (slot, timestamp, author, reveal, seal) and its hash",
        "one header read"),
    "btt_issuance": MethodDoc("{totalIssuance, totalBurned, genesisSupply}", "three reads"),
    "btt_peerBans": MethodDoc(
        "{active: [{peerId, kind, reason, secondsLeft}], totals}: bans in force and since start, by kind",
        f"≤ {MAX_LISTED_BANS} bans listed"),
    "btt_poolStatus": MethodDoc("{ready, future, bytes}", _POOL_PASS),
    "btt_validators": MethodDoc(
        "the active validators: {account, sessionKey, bond, payee}", f"the active set (≤ {_n(MAX_VALIDATORS)})"),
    # btt_: assets ------------------------------------------------------------------------------------------------
    "btt_asset": MethodDoc(
        "one asset with a page of `holdings` and of open `offers` (`holdingsNext`, `offersNext`) and `mintFee`; "
        "or null",
        f"`limit` ≤ {assets.PAGE_MAX} holdings and ≤ {assets.PAGE_MAX} offers, each found by a seek"),
    "btt_assetHoldings": MethodDoc(
        "the tokenised assets `account` holds or offers: held, escrowed, total, token, frozen",
        f"≤ {assets.HOLDING_IDS_SCANNED} asset ids and ≤ {assets.OFFERS_SCANNED} open offers read"),
    "btt_assets": MethodDoc(
        "assets in id order after `after`: class, valuation, status, token, holder and offer counts",
        f"≤ {assets.ASSETS_MAX} a page; ≤ {_n(assets.ASSET_IDS_SCANNED)} ids read; holders and offers counted "
        f"≤ {assets.COUNTED} each"),
    # btt_: bonds, multisig, staking, vesting, parameters ---------------------------------------------------------
    "btt_bonds": MethodDoc(
        "{bonded, unlocking: [{amount, unlockAtMs}], validator}",
        f"two reads (≤ {MAX_UNLOCKING_CHUNKS} unlocking chunks)"),
    "btt_multisig": MethodDoc(
        "calls awaiting approval by the multisig: {callHash, approvals, depositor, deposit, since}",
        f"≤ {PENDING_LISTED} a page, found by a seek"),
    "btt_params": MethodDoc(
        "every runtime parameter: value, bounds, unit, track, limits, share group",
        "the fixed set of parameters registered at genesis"),
    "btt_stakes": MethodDoc(
        "{deposits, depositsComplete, stakedTotal, benefits, claimableFeeShare}",
        f"≤ {DEPOSITS_LISTED} deposits listed; the benefits read every running deposit of the account, as each "
        "of its fee computations does (no constant caps an account's deposits)"),
    "btt_vesting": MethodDoc(
        "the account's vesting schedules with unlocked and locked amounts at `at`",
        f"one read (≤ {MAX_SCHEDULES_STORED} schedules)"),
    # btt_: compute -----------------------------------------------------------------------------------------------
    "btt_job": MethodDoc(
        "one job with its assignments, split and `reason`s, or null",
        f"one job with its assignments (≤ {MAX_REDUNDANCY})"),
    "btt_jobs": MethodDoc(
        "jobs newest first below `before`, filtered by status, requester and provider",
        f"≤ {compute.MAX_LIMIT} a page; ≤ {_n(compute.JOB_IDS_SCANNED)} job ids read (the open status: the "
        "open-jobs index, ≤ `compute.max_open_jobs` keys)"),
    "btt_jobTerms": MethodDoc(
        "the least price, provider and posting costs, deadline bounds, room in the market and place rent",
        "one model read and a few market reads (the cheapest evictable job is an index's first entry)"),
    "btt_miningSchedule": MethodDoc(
        "the mining pool's emission periods, current epoch, emitted, paid, held back and balance",
        "a few reads and the emission table (fixed at genesis)"),
    "btt_model": MethodDoc(
        "one registered model (as a row of `btt_models`) with its weights' metadata when held",
        "one model read; the blob's metadata when held"),
    "btt_models": MethodDoc(
        "registered models in hash order after `after`: spec, work per item, owner, deposit, weights held",
        f"≤ {_n(compute.MODELS_LISTED)} a call, found by a seek"),
    "btt_powerTable": MethodDoc(
        "the current and following epoch schedules (weights, stake and work shares) and the next leaders",
        f"two epoch schedules (≤ {_n(MAX_VALIDATORS)} validators each) and {compute.LEADER_SLOTS} slots' leaders"),
    "btt_providers": MethodDoc(
        "providers in account order: bond, capacity, classes, stats, on-time ratio, credit",
        f"≤ {compute.PROVIDERS_MAX} a page, found by a seek; ≤ {_n(compute.PENDING_SCANNED)} pending-credit "
        "records read"),
    # btt_: job inputs and outputs, model weights ------------------------------------------------------------------
    "btt_jobInputs": MethodDoc(
        "{jobId, inputRoot, items, first, sealed, inputs, next}, or null when not held",
        f"≤ {_n(INPUTS_PAGE)} items a page from the node's store"),
    "btt_jobOutput": MethodDoc(
        "one output item with its Merkle path (and a synthetic job's input with its path), or null",
        f"the job's items (≤ {_n(MAX_JOB_ITEMS)}) hashed into their Merkle trees"),
    "btt_jobOutputs": MethodDoc(
        "{jobId, provider, outputRoot, items, source, outputs}, or null when not held",
        f"one provider's output items: {_ITEMS}"),
    "btt_jobResults": MethodDoc(
        "per provider, the class each output item names and the count per label; or null",
        f"≤ {MAX_REDUNDANCY} results of ≤ {_n(MAX_JOB_ITEMS)} items"),
    "btt_submitJobInputs": MethodDoc(
        "{jobId, inputRoot, items}: the inputs kept",
        f"{_ITEMS} hashed into their Merkle root; kept in the node's bounded store"),
    "btt_submitOutputs": MethodDoc(
        "{jobId, provider, outputRoot, items, source}: the outputs kept",
        f"{_ITEMS} hashed into their Merkle root; kept in the node's bounded store"),
    "btt_modelWeights": MethodDoc(
        "a weights blob's manifest {weightsHash, size, chunks, chunkHashes}, or {index, data} of one chunk",
        f"the manifest, or one {WEIGHTS_CHUNK // KIB} KiB chunk read (a blob is ≤ {MAX_CHUNKS} chunks, "
        f"{MAX_WEIGHTS_BYTES // MIB} MiB)"),
    "btt_putModelWeights": MethodDoc(
        "the blob's status, as `btt_weightsStatus` gives it",
        f"one {WEIGHTS_CHUNK // KIB} KiB chunk checked and stored (the whole blob hashed when its last chunk "
        f"arrives); blobs no registered model names: loopback callers with `--rpc-methods unsafe` only, "
        f"≤ {DEFAULT_MAX_UNNEEDED_BYTES // MIB} MiB in all, kept {int(DEFAULT_GRACE_S) // 60} minutes"),
    "btt_weightsStatus": MethodDoc(
        "{weightsHash, state: held, partial or missing, fetching, size, have, total}", "one content-store look-up"),
    # btt_: explorer ----------------------------------------------------------------------------------------------
    "btt_explorerAccountExtrinsics": MethodDoc(
        "extrinsics the account signed or is named in, newest first, with `scanned`, `complete` and `next`",
        f"≤ {explorer.ACCOUNT_XTS_MAX} listed; ≤ {_n(explorer.SCAN_MAX)} blocks and "
        f"≤ {_n(explorer.ACCOUNT_SCAN_ITEMS)} extrinsics examined a call"),
    "btt_explorerBlock": MethodDoc(
        "a block's summary, header fields, a page of its decoded extrinsics (`nextOffset`) and its block events; "
        "or null",
        f"≤ {explorer.BLOCK_XTS_MAX} extrinsics a page and ≤ {explorer.EVENTS_SHOWN_MAX} block events, found by "
        "the block's index (no whole block decoded)"),
    "btt_explorerBlocks": MethodDoc(
        "canonical block summaries newest first, with the head and finalized heights and `next`",
        f"≤ {explorer.BLOCKS_MAX} summaries, each a small stored record and a header"),
    "btt_explorerBurns": MethodDoc(
        "burns by source in a range of blocks: `totals`, `buckets`, `genesis`, `burnedBefore`, `burnedAt`, `next`",
        f"≤ {_n(explorer.SCAN_MAX)} blocks, ≤ {_n(explorer.EVENT_SCAN_ITEMS)} events counted and "
        f"≤ {_n(explorer.BURN_DECODES_MAX)} decoded a call; older state read ≤ {explorer.BURNED_STATE_BACK} "
        "blocks below the head"),
    "btt_explorerEvents": MethodDoc(
        "events of the given modules newest first, with `counts` per event name and `next`",
        f"≤ 500 listed, ≤ 32 modules; ≤ {_n(explorer.SCAN_MAX)} blocks and ≤ {_n(explorer.EVENT_SCAN_ITEMS)} "
        "events counted (not decoded) a call"),
    "btt_explorerExtrinsic": MethodDoc(
        "an included extrinsic: block, index, signer, call, fee, outcome and events; {status: pending}; or null",
        f"one index read, the extrinsic and ≤ {explorer.EVENTS_SHOWN_MAX} of its events decoded"),
    "btt_explorerJobs": MethodDoc(
        "jobs newest first below `before`, with `next` and `total`",
        f"≤ {explorer.JOBS_MAX} a page; ≤ {_n(explorer.JOB_IDS_SCANNED)} job ids read"),
    "btt_explorerLocks": MethodDoc(
        "{address, timestamp, frozen, locks: [{source, amount}]}", _ACCOUNT_LOCKS),
    "btt_explorerReserves": MethodDoc(
        "{address, reserved, reserves: [{source, what, amount, ref, untilMs}], attributed, unattributed, complete}",
        f"the account's bond, stakes and proxies; ≤ {_n(RESERVE_SCAN_ITEMS)} entries of the open referenda, pending "
        "multisig calls, open and maturing jobs and registered models"),
    "btt_explorerReferenda": MethodDoc(
        "the newest referenda as `btt_referendum` gives them, each with an `explanation`",
        f"≤ {explorer.REFERENDA_SHOWN_MAX} referenda, each as `btt_referendum` costs"),
    "btt_explorerSearch": MethodDoc(
        "{kind: block, hash, number}, {kind: extrinsic, hash}, {kind: account, address}, or null",
        "≤ 3 index reads"),
    "btt_explorerSupply": MethodDoc(
        "issuance, burns, the genesis allocation table with released and locked amounts, the yearly release",
        "one pass over the genesis allocation table (fixed at genesis), a read or a vesting schedule per holder"),
    "btt_explorerUnits": MethodDoc(
        "the unit of every amount in an event or a call, and what each unit means",
        "none: built once from the runtime's definitions"),
    # btt_: governance, incentives, payments ----------------------------------------------------------------------
    "btt_referenda": MethodDoc(
        "referenda newest first below `before`: proposer, call, deposit, track, status, times, stored tallies",
        f"≤ {governance.REFERENDA_MAX} a page; ≤ {_n(governance.REFERENDA_SCANNED)} ids read"),
    "btt_referendum": MethodDoc(
        "one referendum with `liveTally` while voting or `tallyAtClose` once closed; or null",
        "closed: a few reads; voting: one pass over its votes (each paid its fee) and the compute house's "
        "electorate (every account with work credit, read once per block, summed in steps of "
        f"{_n(electorate.WORK_TOTAL_STEP)})"),
    "btt_voter": MethodDoc(
        "the account's weight in each house, turnout, lockable balance, vote lock and votes in open referenda",
        "one read per open referendum (≤ `governance.max_open_referenda`, at most 1,000)"),
    "btt_oracles": MethodDoc(
        "each activity with its points, its appointed oracles and their points this epoch",
        "one read per appointed oracle (each appointed by a referendum; no constant caps them)"),
    "btt_points": MethodDoc(
        "an account's points, their value, its redemption request, caps, home oracle, attestations",
        f"≤ {incentives.MAX_ATTESTATIONS} attestations listed and ≤ {_n(incentives.ATTESTATIONS_COUNTED)} "
        f"counted; ≤ {incentives.MAX_ATTESTED_BY} attesting oracles"),
    "btt_invoice": MethodDoc("one invoice, or null", "one invoice and its payment read"),
    "btt_invoices": MethodDoc(
        "the account's invoices newest first below `before`, with its `roles`",
        f"≤ {payments.MAX_LIMIT} a page, found by a seek on the account's index; with a status filter "
        f"≤ {_n(payments.INVOICES_SCANNED)} entries read"),
    "btt_payment": MethodDoc("one payment, or null", _READ),
    "btt_payments": MethodDoc(
        "the account's payments newest first below `before`, with fee, burn, refunds and its `roles`",
        f"≤ {payments.MAX_LIMIT} a page, found by a seek on the account's index"),
    # btt_: node, keys, finality, upgrades -------------------------------------------------------------------------
    "btt_checkpoint": MethodDoc("{hash, number, source, reached}, or null", _CONSTANT),
    "btt_finality": MethodDoc(
        "{finalized, justified, anchor, heldVotes, heldJustifications, conflict}",
        f"≤ {MAX_JUSTIFIED_SHOWN} justified checkpoints and four others, a header read each"),
    "btt_localSessionKeys": MethodDoc(
        "the keystore's session keys, each with the validator account the chain gives it to (or null)",
        "one owner look-up per key the keystore holds"),
    "btt_sessionKeysProof": MethodDoc(
        "the session key's signature that `session.set_keys` and `bonds.register_validator` want from `owner`",
        f"one signature; if the node does not hold it yet, {_HASH_CHAIN}"),
    "btt_upgrade": MethodDoc(
        "{blockNumber, blockHash, specVersion, nextBlockSpec, scheduled, migration, supported}", "three reads"),
    # btt_: subscriptions -----------------------------------------------------------------------------------------
    "btt_subscribeEvents": MethodDoc(
        f"a subscription id; `btt_newEvents` notifications: each new best block's first "
        f"{_n(EVENTS_PER_NOTIFICATION)} events",
        f"each block's events rendered once for all subscribers, {RENDER_SLICE} a lane unit; ≤ {MAX_SUBSCRIPTIONS} "
        "subscriptions a connection"),
    "btt_unsubscribeEvents": _UNSUBSCRIBE,
}
"""Result and cost bound by method name (never an alias)."""
