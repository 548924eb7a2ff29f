"""Build genesis from a chain spec: runtime genesis config, state, state root and the genesis block."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.errors import GenesisError
from btt_chain.primitives.gc_pause import gc_paused
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, ZERO_HASH, blake2b_256
from genesis.loader import canonical_json, genesis_document
from genesis.spec import AllocationRow, ChainSpec, GenesisStateRef
from runtime.genesis import GenesisBalance, GenesisConfig, GenesisParam
from runtime.overlay import DictState, Overlay
from runtime.session.types import ValidatorInfo
from runtime.specs import into_spec, package_module
from runtime.vesting.genesis import GenesisVesting
from runtime.vesting.types import LINEAR, MILESTONE, VestingSchedule
from storage.state_tree import leaf_records, tree_root

LOCKED_KINDS = ("linear", "milestones", "reserve")
"""Release kinds whose holdings are frozen at genesis (vesting releases them)."""
VESTING_KINDS = ("linear", "milestones")
"""Release kinds that become vesting schedules; "reserve" stays frozen until governance releases it."""
BPS_PER_PERCENT = 100


@dataclass(frozen=True)
class Genesis:
    """Everything a node needs to start a chain from a spec."""

    spec: ChainSpec
    spec_json: bytes
    state: dict[bytes, bytes]
    """The whole genesis state; of a spec whose state is in a file (`snapshot`), only the validator set it queues
    (`session.queued`: what a warp from genesis trusts), the rest being read from the file into the database."""
    leaves: bytes
    """The state tree's leaf records, sorted (`storage.state_tree.leaf_records`): what the database stores of the
    tree, and what its root is computed from. Empty with a `snapshot`."""
    block: Block
    snapshot: GenesisStateRef | None = None
    """The genesis state file the database is initialised from (`genesis.snapshot_load`), when the spec names one."""

    @property
    def hash(self) -> bytes:
        return self.block.hash()


def genesis_config(spec: ChainSpec, chain_spec_hash: bytes | None = None,
                   elided_into: bytes | None = None) -> GenesisConfig:
    """Translate the spec into runtime genesis data: balances (locked where not yet released), burns, validators
    and their hash-chain commitments, the reference models, the mining pool's emission periods, the milestone
    burns and the governance houses (institutions weighted by their allocation, the decentralisation schedule
    in bps, the community representatives).

    A spec whose rows leave holders out (their state is in a file) has no config of its own: GenesisError, unless
    the caller writing that file (`genesis.snapshot_build`) gives `elided_into`, one account given what the left-out
    holders hold together (so the figures add up; the caller replaces its record by theirs), and the hash of the
    spec that lists them (`chain_spec_hash`, which the state records)."""
    if spec.genesis_time_ms == 0:
        raise GenesisError("genesis_time_ms is 0: materialise the spec with a start time before building it")
    elided = sum(row.elided_amount for row in spec.allocations)
    if elided and elided_into is None:
        file = spec.genesis_state.file if spec.genesis_state is not None else "?"
        raise GenesisError(f"{spec.id} does not list every genesis holder: its genesis state is in the file {file}")
    foundation = module_account("foundation")
    burned = sum(b.amount for b in spec.milestone_burns if b.at_genesis)
    balances: list[GenesisBalance] = []
    vesting: list[GenesisVesting] = []
    for row in spec.allocations:
        locked = row.release.kind in LOCKED_KINDS
        for holder in row.holders:
            amount = holder.amount - (burned if holder.account == foundation else 0)
            balances.append(GenesisBalance(holder.account, amount, amount if locked else 0))
            if row.release.kind in VESTING_KINDS:
                vesting.append(GenesisVesting(holder.account, allocation_schedule(spec, row, amount)))
    if elided and elided_into is not None:
        balances.append(GenesisBalance(elided_into, elided, 0))
    validators = tuple(ValidatorInfo(v.account, v.session_key, v.bond, v.payee) for v in spec.validators)
    params = tuple(GenesisParam(p.name, p.value, p.min, p.max, p.unit, p.track) for p in spec.parameters)
    year_ms = spec.time.year_seconds * 1000
    return GenesisConfig(
        supply=spec.token.total_supply,
        burned_at_genesis=burned,
        genesis_time_ms=spec.genesis_time_ms,
        chain_spec_hash=chain_spec_hash or blake2b_256(canonical_json(genesis_document(spec.raw))),
        balances=tuple(balances),
        validators=validators,
        params=params,
        month_seconds=spec.time.month_seconds,
        year_seconds=spec.time.year_seconds,
        vesting=tuple(vesting),
        epoch_slots=spec.consensus.epoch_slots,
        slot_ms=spec.consensus.slot_ms,
        commitments=tuple((v.session_key, v.hash_chain_commitment) for v in spec.validators),
        models=spec.compute.models,
        mining_periods=tuple((p.years * year_ms, p.amount) for p in spec.compute.mining_periods),
        milestones=tuple((b.name, b.amount, b.at_genesis) for b in spec.milestone_burns),
        institutions=tuple((h.account, h.amount) for h in spec.governance.institutions),
        representatives=spec.governance.representatives,
        verifiers=spec.governance.verifiers,
        oracles=spec.governance.oracles,
        institution_share_bps=tuple(p * BPS_PER_PERCENT for p in spec.governance.institution_share_percent),
    )


def allocation_schedule(spec: ChainSpec, row: AllocationRow, amount: int) -> VestingSchedule:
    """The vesting schedule of one holder of a linear or milestones row: start at genesis, cliff after
    `cliff_months`, end `duration_months` after the cliff (milliseconds, with the spec's month length)."""
    month_ms = spec.time.month_seconds * 1000
    start = spec.genesis_time_ms
    cliff = start + row.release.cliff_months * month_ms
    end = cliff + row.release.duration_months * month_ms
    kind = MILESTONE if row.release.kind == "milestones" else LINEAR
    return VestingSchedule(amount, start, cliff, end, kind)


def build_genesis(spec: ChainSpec, config: GenesisConfig | None = None) -> Genesis:
    """Genesis state, its state tree's leaves and the genesis block (number 0, no author, no signature).

    `config` overrides the runtime genesis data derived from `spec` (benchmarks add accounts this way). A spec that
    names its genesis state file (`genesis_state`) is not built: its block carries the state root the spec gives,
    and the state is read from the file when a database is initialised (checked against that root then)."""
    if spec.genesis_state is not None and config is None:
        return Genesis(spec, canonical_json(genesis_document(spec.raw)), queued_state(spec), b"",
                       Block(genesis_header(spec, spec.genesis_state.state_root), ()), spec.genesis_state)
    with gc_paused():  # millions of objects for a large genesis, none of them in a cycle
        try:
            # the genesis of the spec the chain starts at: its modules' records and storage versions
            build_state = package_module(spec.spec_version, "runtime.genesis").build_state
            state = build_state(into_spec(config or genesis_config(spec), spec.spec_version))
        except ValueError as exc:
            raise GenesisError(f"genesis state cannot be built: {exc}") from None
        leaves = leaf_records(state)
        root = tree_root(leaves)
    header = genesis_header(spec, root)
    return Genesis(spec, canonical_json(genesis_document(spec.raw)), state, leaves, Block(header, ()))


def genesis_header(spec: ChainSpec, state_root: bytes) -> Header:
    """Block 0: no parent, author or signature; the genesis time and state root."""
    return Header(
        parent_hash=ZERO_HASH,
        number=0,
        slot=0,
        timestamp_ms=spec.genesis_time_ms,
        state_root=state_root,
        extrinsics_root=EMPTY_MERKLE_ROOT,
        receipts_root=EMPTY_MERKLE_ROOT,
        author=ZERO_HASH,
        digest=Digest(),
    )


def queued_state(spec: ChainSpec) -> dict[bytes, bytes]:
    """The one record of the genesis state a warp from genesis trusts, without building the state: the validator set
    it queues (`session.queued`), which genesis sets to the spec's validators (`runtime.genesis.build_state`). A node
    that reads the state file checks the file's record against it (`genesis.snapshot_load`)."""
    session = package_module(spec.spec_version, "runtime.session.storage")
    validators = into_spec(tuple(ValidatorInfo(v.account, v.session_key, v.bond, v.payee) for v in spec.validators),
                           spec.spec_version)
    backend = DictState()
    view = Overlay(backend)
    session.queued.put(view, validators)
    backend.apply(view.changes())
    return dict(backend.data)
