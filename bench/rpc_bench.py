"""What one RPC call costs at its worst: every method that reads blocks or walks storage, called with the
arguments that make it do the most work, on a chain whose blocks and maps are as large as they get.
(`btt-chain bench rpc`)

The chain: a genesis of `accounts` funded accounts on LevelDB, `full` blocks of `transfers` signed transfers each
(to new accounts: three events per transfer) and `empty` empty blocks after them. Then `items` records are written
straight into the flat state of the database for each map an RPC method walks (providers, their pending credit,
jobs, referenda, assets with holders and offers, one account's payments, invoices, attestations and multisig
calls): the state root no longer matches them, which no RPC read checks. The transport is left out: the handler is
called as the server calls it, and its reply encoded as JSON, which the server does next.

Printed per method: the worst of `repeat` calls (milliseconds) with the arguments that make it work most, and the
page or items bound that holds it there. The RPC transport runs one call at a time between blocks, so this is how
long a call may hold the event loop.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from btt_chain.node.chain import Chain
from btt_chain.primitives.codec import U128, Bool, Bytes, Field, ListOf, Nested, Struct, Text, UInt
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.gc_pause import gc_paused
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.registry import REGISTRY, Later, RpcContext, Stepwise
from runtime.balances.storage import locks_key
from runtime.modules import RUNTIME
from runtime.system import storage as system
from storage import schema
from storage.leveldb import LevelDBStore

UNIT = 10**18


def sample_wire(kind: Field | type[Struct], **fields: Any) -> Any:
    """A wire value of `kind` with zero-like fields, `fields` (by name, as Python values) put in."""
    if isinstance(kind, type):
        wire = [sample_wire(f) for _, f in kind.WIRE]
        for i, (name, f) in enumerate(kind.WIRE):
            if name in fields:
                wire[i] = f.to_wire(fields[name])
        return wire
    if isinstance(kind, UInt):
        return 0
    if isinstance(kind, U128):
        return bytes(16)
    if isinstance(kind, Bool):
        return False
    if isinstance(kind, Bytes):
        return bytes(kind.size or 0)
    if isinstance(kind, Text):
        return ""
    if isinstance(kind, ListOf):
        return []
    if isinstance(kind, Nested):
        return sample_wire(kind.cls)
    return 0


def record(cls: type[Struct], **fields: Any) -> bytes:
    """A stored record of `cls` (checked by decoding it)."""
    value = cls.from_wire(sample_wire(cls, **fields))
    return value.encode()


def _account(i: int) -> bytes:
    return (0xB0 << 248 | i).to_bytes(32, "big")


def _synthetic_state(items: int, holder: bytes) -> dict[bytes, bytes]:
    """`items` records in each map a method walks (fewer where the runtime bounds the map itself)."""
    from runtime.assets import storage as assets
    from runtime.assets.types import TOKENISED, Asset, Offer
    from runtime.compute import storage as compute
    from runtime.compute.types import MAX_REDUNDANCY, Assignment, CreditBucket, Job, PendingCredit, Provider
    from runtime.governance import storage as governance
    from runtime.governance.types import Referendum, Tally
    from runtime.incentives import storage as incentives
    from runtime.incentives.types import Attestation
    from runtime.multisig import storage as multisig
    from runtime.multisig.types import Pending
    from runtime.payments import storage as payments
    from runtime.payments.types import Invoice, Payment

    out: dict[bytes, bytes] = {}
    ids = min(items, 10_000)
    remark = RUNTIME.call("system.remark", b"")  # a referendum's call is decoded by the runtime's schema: a real one
    provider = record(Provider, capacity=4, active=1)
    history = compute.credit_history.codec.encode((CreditBucket(0, UNIT),))
    for i in range(items):
        who = _account(i)
        out[compute.providers.key(who)] = provider
        out[compute.credit_history.key(who)] = history
        out[compute.pending_credit.key(compute.pending_credit_key(i, i, who))] = record(PendingCredit, credit=UNIT)
    out[compute.credit_totals.key(0)] = compute.credit_totals.codec.encode(items * UNIT)  # epoch 0, kept since spec 20
    assignments = [Assignment.from_wire(sample_wire(Assignment, provider=_account(k), portion=UNIT))
                   for k in range(MAX_REDUNDANCY)]
    for i in range(ids):
        job = Job.from_wire(sample_wire(Job, id=i, requester=_account(i), redundancy=MAX_REDUNDANCY,
                                        price=MAX_REDUNDANCY * UNIT, items=1))
        out[compute.jobs.key(i)] = job.replace(assignments=tuple(assignments)).encode()
        out[governance.referenda.key(i)] = record(Referendum, id=i, proposer=_account(i), call=remark,
                                                  tally=Tally())
        out[assets.assets.key(i)] = record(Asset, id=i, owner=_account(i % 7), status=TOKENISED, symbol=f"A{i}",
                                           supply=10**9)
    out[compute.next_job_id.key] = compute.next_job_id.codec.encode(ids)
    out[governance.next_id.key] = governance.next_id.codec.encode(ids)
    out[assets.next_asset_id.key] = assets.next_asset_id.codec.encode(ids)
    for i in range(items):
        out[assets.holdings.key((ids - 1, _account(i)))] = assets.holdings.codec.encode(1 + i)
        out[payments.account_payments.key((holder, i + 1))] = payments.account_payments.codec.encode(1)
        out[payments.payments.key(i + 1)] = record(Payment, id=i + 1, payer=holder, payee=_account(i), amount=UNIT)
        out[payments.account_invoices.key((holder, i + 1))] = payments.account_invoices.codec.encode(1)
        out[payments.invoices.key(i + 1)] = record(Invoice, id=i + 1, issuer=holder, payee=holder, amount=UNIT,
                                                   status=1)
        evidence = i.to_bytes(32, "big")
        out[incentives.by_patient.key((holder, i, evidence))] = incentives.by_patient.codec.encode(True)
        out[incentives.evidence.key(evidence)] = record(Attestation, activity="checkup", oracle=_account(1),
                                                        points=1, block=i)
        out[multisig.pending.key(multisig.pending_key(holder, i.to_bytes(32, "big")))] = record(
            Pending, depositor=_account(i), deposit=UNIT, approvals=(_account(i),))
    for i in range(min(items, 1_000)):
        out[assets.offers.key(i)] = record(Offer, id=i, asset_id=ids - 1, seller=_account(i), amount=1, price=UNIT)
        out[assets.asset_offers.key((ids - 1, i))] = assets.asset_offers.codec.encode(True)
    return out


class _Node:
    """What the methods read of a node, for a Chain without a service around it."""

    def __init__(self, chain: Chain, spec: Any) -> None:
        from btt_chain.node.pruning import DEFAULT_STATE_PRUNING

        self.chain = chain
        self.spec = spec
        self.pool: dict[bytes, Any] = {}
        self.network = None
        self.config = type("Config", (), {"state_pruning": DEFAULT_STATE_PRUNING})()


def _timed(ctx: RpcContext, name: str, params: list[Any], repeat: int) -> tuple[float, float, float | None, Any]:
    """(worst, median) milliseconds of `repeat` calls, JSON encoding of the reply included, the longest step of a
    method that answers in steps (`Stepwise`: each step is its own unit of the server's lane, so the step, not the
    whole call, is what holds the event loop; None for a method answering at once), and the last reply; each call
    starts with no block meta cached (the worst case)."""
    method = REGISTRY.get(name)
    if method is None:
        raise RuntimeError(f"the bench names an RPC method the node no longer has: {name}")
    times = []
    longest_step: float | None = None
    out: Any = None
    for _ in range(repeat):
        ctx.node.chain.db.forget_block_metas()
        started = time.perf_counter()
        out = method.handler(ctx, *method.bind(params, ctx))
        if isinstance(out, Stepwise):
            step_started = started  # the first step includes the method's checks before its steps
            done = False
            while not done:
                done, value = out.advance()
                now = time.perf_counter()
                longest_step = max(longest_step or 0.0, (now - step_started) * 1000)
                step_started = now
            out = value
        elif isinstance(out, Later):
            raise RuntimeError(f"{name} answers later (off the event loop): the bench does not time it")
        json.dumps(out)
        times.append((time.perf_counter() - started) * 1000)
    return max(times), statistics.median(times), longest_step, out


def _cases(chain: Chain, signers: list[Keypair], holder: bytes, full_hash: bytes, full_number: int,
           last_xt: bytes, assets_last: int, last_page: int) -> list[tuple[str, list[Any], str]]:
    """(method, params, its bound) for each method at its worst on this chain."""
    old = "0x" + (chain.db.canonical_hash(max(full_number - 1, 0)) or b"").hex()
    alice = "0x" + signers[0].public.hex()
    named = "0x" + _account(3).hex()  # an account no block names: every block is searched in vain
    h = "0x" + full_hash.hex()
    who = "0x" + holder.hex()
    accounts = "0x" + system.account.prefix.hex()
    alice_account = "0x" + system.account.key(signers[0].public).hex()
    alice_locks = "0x" + locks_key(signers[0].public).hex()
    return [
        ("btt_explorerBlocks", [None, 100], "100 summaries (a stored record each)"),
        ("btt_explorerBlock", [full_number, 0, 100], "100 extrinsics, 100 block events"),
        ("btt_explorerBlock", [full_number, last_page, 100], "the last page of the block"),
        ("btt_explorerExtrinsic", ["0x" + last_xt.hex()], "one extrinsic, 100 events"),
        ("btt_explorerAccountExtrinsics", [alice, 2_000, 100], "20,000 extrinsics examined, 100 listed"),
        ("btt_explorerAccountExtrinsics", [named, 2_000, 100], "20,000 extrinsics examined"),
        ("btt_explorerEvents", [["balances", "system"], 2_000, 500], "100,000 events counted, 500 listed"),
        ("btt_explorerEvents", [["compute"], 2_000, 500], "100,000 events counted"),
        ("btt_explorerBurns", [2_000, 100], "100,000 events counted, 5,000 decoded"),
        ("btt_explorerJobs", [None, None, 50], "2,000 ids, 50 listed"),
        ("btt_explorerJobs", ["cancelled", None, 50], "2,000 ids read, none listed"),
        ("btt_explorerSearch", [str(full_number)], "point reads"),
        ("btt_events", [h], "500 events"),
        ("btt_events", [h, None, 3 * last_page], "a page near the end"),
        ("btt_extrinsicStatus", ["0x" + last_xt.hex()], "one outcome"),
        ("chain_getBlock", [h], "the block's encodings, none decoded"),
        ("btt_referenda", [None, None, 100], "2,000 ids, 100 listed"),
        ("btt_referenda", ["cancelled", None, 100], "2,000 ids read, none listed"),
        ("btt_jobs", [None, None, None, 50], "2,000 ids, 50 listed"),
        ("btt_jobs", [None, "0x" + bytes(32).hex(), None, 50], "2,000 ids read, none listed"),
        ("btt_providers", [None, None, 100], "100 providers, 5,000 pending records"),
        ("btt_models", [], "1,000 models"),
        ("btt_assets", [None, None, 100], "100 assets, 100 holders and offers each"),
        ("btt_assets", [named], "2,000 ids read, none listed"),
        ("btt_asset", [assets_last, None, 200], "200 holders, 200 offers"),
        ("btt_assetHoldings", [alice], "500 ids, 250 offers"),
        ("btt_invoices", [who, None, 200], "200 listed"),
        ("btt_invoices", [who, "cancelled", 200], "1,000 entries read"),
        ("btt_payments", [who, 200], "200 listed"),
        ("btt_points", [who], "500 listed, 2,000 counted"),
        ("btt_multisig", [who], "200 listed"),
        ("btt_account", [alice, old], "the state 100+ blocks back (undo journals)"),
        ("state_getReadProof", [[f"0x{k:064x}" for k in range(64)]], "64 keys"),
        ("state_getKeysPaged", [accounts, 1000], "1,000 keys after a seek"),
        ("state_getStorageSize", [alice_account], "one value (a prefix: 1,000 keys at most)"),
        ("state_getStorageHash", ["0x3a636f6465"], "the metadata (built once per set of figures)"),
        ("state_getStorage", [alice_locks], "the lock sources"),
        ("btt_stakes", [who], "500 deposits"),
        ("btt_voter", [who], "open referenda (a runtime parameter)"),
        ("btt_powerTable", [], "validators (at most 1,000) and 8 leaders"),
        ("btt_explorerSupply", [], "genesis allocation rows"),
        ("btt_explorerLocks", [alice], "the lock sources"),
        ("btt_referendum", [0], "the compute-house total: the window's credit totals (spec 19: every history)"),
    ]


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 14 else text[:7] + ".." + text[-4:]


def run(accounts: int = 100_000, transfers: int = 10_000, full: int = 2, empty: int = 100, items: int = 100_000,
        repeat: int = 5) -> dict[str, Any]:
    import btt_chain.rpc.server  # noqa: F401  (imports every method module: the method table)
    from bench.import_bench import bench_genesis

    if accounts < 2:
        raise ValueError("the rpc bench needs at least two accounts (one signs, another holds the walked maps)")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="btt-bench-rpc-") as tmp:
        started = time.perf_counter()
        genesis, signers = bench_genesis(accounts)
        kv = LevelDBStore(Path(tmp) / "db")
        chain = Chain(kv, genesis)
        full_hash, full_number, last_xt = chain.head_hash, chain.head.number, b""
        dest = 0
        held: list[int] = []
        for _ in range(full):
            # each block's nonces from the chain: a block holds what its limits allow (block.max_extrinsics counts
            # its inherent too: 9,999 transfers on the dev chain), and a transfer left out is not sent again
            state = chain.state()
            nonces = {k.public: system.account.get(state, k.public).nonce for k in signers}
            xts = []
            for i in range(transfers):
                k = signers[i % len(signers)]
                dest += 1
                call = RUNTIME.call("balances.transfer_allow_death", (0xD0 << 248 | dest).to_bytes(32, "big"), UNIT)
                xts.append(sign_extrinsic(k, call, nonces[k.public], chain.genesis_hash, RUNTIME.spec_version))
                nonces[k.public] += 1
            with gc_paused():
                imported, dropped = chain.author_block(chain.head.slot + 1, dev_keypair("alice"),
                                                       [(x, len(x.encode())) for x in xts])
            if dropped:
                raise RuntimeError(f"a transfer of the bench chain was dropped: {dropped[0][1]}")
            held.append(sum(1 for x in imported.block.extrinsics if isinstance(x, Extrinsic)))
            full_hash, full_number = imported.hash, imported.block.header.number
            last_xt = imported.block.extrinsics[-1].hash()
        for _ in range(empty):
            chain.author_block(chain.head.slot + 1, dev_keypair("alice"), [])
        holder = signers[1].public
        synthetic = _synthetic_state(items, holder)
        kv.write({schema.state_key(k): v for k, v in synthetic.items()}, sync=True)
        chain.db.state.forget()
        results["chain built in (s)"] = round(time.perf_counter() - started, 1)
        results["blocks"] = f"{full} of {' and '.join(str(n) for n in held)} transfers, then {empty} empty"
        results["records per walked map"] = items
        ctx = RpcContext(_Node(chain, genesis.spec))  # type: ignore[arg-type]
        _timed(ctx, "btt_explorerBlock", [1], 1)  # once per process: the event and call registries are built
        # once per process too: the first call naming modules imports every spec's runtime to know their names
        # (measured at 0.6-0.9 s): printed on its own, so that the worst call below is one a running node repeats
        first, _, _, _ = _timed(ctx, "btt_explorerEvents", [["system"], 1, 1], 1)
        results["first btt_explorerEvents call of the process (ms)"] = round(first, 1)
        worst = worst_unit = 0.0
        cases = _cases(chain, signers, holder, full_hash, full_number, last_xt, min(items, 10_000) - 1,
                       max(held[-1] - 100, 0))
        for name, params, bound in cases:
            slowest, median, step, _ = _timed(ctx, name, params, repeat)
            worst = max(worst, slowest)
            worst_unit = max(worst_unit, slowest if step is None else step)
            shown = ", ".join(_short(v) for v in params)
            steps = "" if step is None else f", in steps: the longest {step:.1f} ms"
            results[f"{name}({shown})"] = f"worst {slowest:.1f} ms, median {median:.1f} ms{steps} ({bound})"
        results["worst call (ms)"] = round(worst, 1)
        results["worst unit of the RPC lane (ms: a call, or a step of one answering in steps)"] = round(worst_unit, 1)
        kv.close()
    return results
