"""Module-test support in the FRAME style: a genesis builder, blocks on a dict state, and the assertions
`assert_ok`, `assert_noop` (the call failed and storage did not change) and `assert_last_event`.

Every block it finishes is checked against the whole-state invariants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.errors import DispatchError
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.hash_chain import HashChain, hash_chain_for
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.compute.reference import reference_names, reference_spec
from runtime.consensus import logic as consensus
from runtime.consensus import storage as consensus_storage
from runtime.context import BlockEnv, CallContext, Origin
from runtime.dispatch import Runtime
from runtime.events import Event
from runtime.executive import ApplyOutcome, BlockExecution, BlockResult, Executive
from runtime.genesis import GenesisBalance, GenesisConfig, GenesisParam, build_state
from runtime.items import storage_prefix
from runtime.overlay import DictState, Overlay
from runtime.session import storage as session_storage
from runtime.session.types import ValidatorInfo
from runtime.specs import into_spec, package_module, running_spec, runtime_of, spec_for_block
from runtime.system import storage as system
from runtime.system.types import AccountInfo
from runtime.vesting.genesis import GenesisVesting
from runtime.vesting.types import VestingSchedule
from tests.support.indexed_state import IndexedDictState

UNIT = 10**18
GENESIS_HASH = b"\x42" * 32
SLOT_MS = 1000

DEFAULT_PARAMS: dict[str, tuple[int, int, int, str]] = {
    "balances.existential_deposit": (UNIT // 100, 1, UNIT, "btt"),
    "fees.base": (UNIT // 1000, 0, UNIT // 10, "btt"),
    "fees.per_byte": (UNIT // 100_000, 0, UNIT // 1000, "btt"),
    "fees.per_weight": (UNIT // 1_000_000, 0, UNIT // 10_000, "btt"),
    "fees.author_bps": (5000, 5000, 5000, "bps"),
    "fees.stakers_bps": (3000, 3000, 3000, "bps"),
    "fees.development_bps": (2000, 2000, 2000, "bps"),
    "block.max_weight": (2_000_000, 100_000, 10_000_000, "count"),
    "block.max_bytes": (4 << 20, 1 << 16, 8 << 20, "count"),
    "block.max_extrinsics": (10_000, 100, 20_000, "count"),
    "vesting.min_transfer": (UNIT, UNIT // 100, 1_000 * UNIT, "btt"),
    "vesting.max_schedules": (8, 1, 32, "count"),
    "staking.30d.lock_days": (30, 30, 30, "count"),
    "staking.30d.yield_bps": (300, 0, 5_000, "bps"),
    "staking.30d.min": (1_000 * UNIT, 0, 10_000_000 * UNIT, "btt"),
    "staking.90d.lock_days": (90, 90, 90, "count"),
    "staking.90d.yield_bps": (500, 0, 5_000, "bps"),
    "staking.90d.min": (5_000 * UNIT, 0, 10_000_000 * UNIT, "btt"),
    "staking.180d.lock_days": (180, 180, 180, "count"),
    "staking.180d.yield_bps": (800, 0, 5_000, "bps"),
    "staking.180d.min": (10_000 * UNIT, 0, 10_000_000 * UNIT, "btt"),
    "staking.365d.lock_days": (365, 365, 365, "count"),
    "staking.365d.yield_bps": (1_200, 0, 5_000, "bps"),
    "staking.365d.min": (50_000 * UNIT, 0, 10_000_000 * UNIT, "btt"),
    "staking.1095d.lock_days": (1_095, 1_095, 1_095, "count"),
    "staking.1095d.yield_bps": (1_800, 0, 5_000, "bps"),
    "staking.1095d.min": (100_000 * UNIT, 0, 10_000_000 * UNIT, "btt"),
    "staking.fee_discount_bps": (2_000, 0, 5_000, "bps"),
    "staking.governance_multiplier_bps": (15_000, 10_000, 20_000, "count"),
    "staking.burn_365d_bps": (1_000, 0, 5_000, "bps"),
    "staking.burn_1095d_bps": (2_000, 0, 5_000, "bps"),
    "slashing.fraction_bps": (10_000, 100, 10_000, "bps"),
    "slashing.reporter_bps": (1_000, 0, 5_000, "bps"),
    "bonds.evidence_window_ms": (50_000, 1_000, 59_000, "count"),
    "bonds.unbonding_period_ms": (100_000, 60_000, 10_000_000, "count"),
    "bonds.min_validator_bond": (5 * UNIT, UNIT, 1_000 * UNIT, "btt"),
    "multisig.deposit": (UNIT, 0, 100 * UNIT, "btt"),
    "multisig.max_signatories": (16, 2, 100, "count"),
    "utility.max_calls": (1000, 1, 4096, "count"),
    "proxy.deposit_base": (UNIT, UNIT // 100, 100 * UNIT, "btt"),
    "proxy.deposit_factor": (UNIT // 10, UNIT // 1000, 10 * UNIT, "btt"),
    "proxy.max_proxies": (32, 1, 100, "count"),
    "compute.payment_burn_bps": (200, 100, 300, "bps"),
    "compute.provider_bps": (7000, 7000, 7000, "bps"),
    "compute.development_bps": (1500, 1500, 1500, "bps"),
    "compute.foundation_bps": (1000, 1000, 1000, "bps"),
    "compute.reserve_bps": (500, 500, 500, "bps"),
    "compute.min_provider_bond": (100 * UNIT, UNIT, 1_000_000 * UNIT, "btt"),
    "compute.max_capacity": (64, 1, 1024, "count"),
    "compute.max_job_items": (1024, 1, 4096, "count"),
    "compute.max_redundancy": (3, 1, 8, "count"),
    "compute.min_deadline_ms": (5_000, 1_000, 86_400_000, "count"),
    "compute.max_deadline_ms": (600_000, 60_000, 2_592_000_000, "count"),
    "compute.max_open_jobs": (1000, 1, 100_000, "count"),
    "compute.model_registration": (1, 0, 1, "count"),
    "compute.model_deposit_base": (100 * UNIT, 0, 1_000_000 * UNIT, "btt"),
    "compute.model_deposit_per_kib": (UNIT, 0, 10_000 * UNIT, "btt"),
    "compute.max_model_bytes": (8 * 1024 * 1024, 1024, 8 * 1024 * 1024, "count"),
    "compute.max_open_jobs_per_requester": (32, 1, 10_000, "count"),
    "compute.max_assignments_per_block": (64, 1, 1024, "count"),
    "compute.hook_max_weight": (500_000, 10_000, 1_000_000, "count"),
    "compute.sample_size": (8, 1, 64, "count"),
    "compute.commit_window_slots": (4, 1, 600, "count"),
    "compute.sample_authors": (3, 1, 64, "count"),
    "compute.challenge_window_ms": (10_000, 1_000, 604_800_000, "count"),
    "compute.outputs_due_ms": (5_000, 1_000, 86_400_000, "count"),
    "compute.fraud_slash": (25 * UNIT, UNIT, 1_000_000 * UNIT, "btt"),
    "compute.withheld_slash": (25 * UNIT, UNIT, 1_000_000 * UNIT, "btt"),
    "compute.hold_per_price_bps": (1_000_000, 100_000, 10_000_000, "count"),
    "compute.min_assignment_hold": (UNIT, UNIT // 100, 25 * UNIT, "btt"),
    "compute.missed_deadline_fee_bps": (1_000, 0, 2_500, "bps"),
    "compute.max_missed_per_epoch": (UNIT // 2, 0, 25 * UNIT, "btt"),
    "compute.missed_pause_ms": (10_000, 0, 86_400_000, "count"),
    "compute.late_reveal_ms": (60_000, 10_000, 604_800_000, "count"),
    "compute.place_rent": (0, 0, UNIT, "btt"),
    "compute.place_rent_doubling_bps": (500, 100, 10_000, "bps"),
    "compute.unserved_wait_ms": (3_600_000, 60_000, 86_400_000, "count"),
    "compute.record_weight_bps": (0, 0, 10_000, "bps"),
    "compute.record_prior": (20, 1, 10_000, "count"),
    "compute.reveal_window_slots": (600, 1, 600, "count"),
    "compute.missed_assignment_fee": (UNIT // 20, 0, UNIT, "btt"),
    "compute.max_missed_pause_ms": (80_000, 0, 86_400_000, "count"),
    "compute.max_open_share_bps": (10_000, 100, 10_000, "bps"),
    "compute.max_owner_models_share_bps": (10_000, 500, 10_000, "bps"),
    "compute.credit_maturity_ms": (10_000, 0, 2_592_000_000, "count"),
    "compute.credit_per_btt_burned": (100_000_000, 1, 10**12, "count"),
    "compute.reward_cap_bps": (8000, 0, 8000, "bps"),
    "compute.region_factor_bps.standard": (10_000, 10_000, 10_000, "count"),
    "compute.region_factor_bps.underserved": (12_500, 10_000, 15_000, "count"),
    "compute.region_factor_bps.remote": (15_000, 10_000, 15_000, "count"),
    "compute.energy_factor_bps.a": (12_000, 8_000, 12_000, "count"),
    "compute.energy_factor_bps.b": (11_000, 8_000, 12_000, "count"),
    "compute.energy_factor_bps.c": (10_000, 8_000, 12_000, "count"),
    "compute.energy_factor_bps.d": (9_000, 8_000, 12_000, "count"),
    "compute.energy_factor_bps.e": (8_000, 8_000, 12_000, "count"),
    "consensus.work_window_epochs": (30, 1, 1000, "count"),
    "governance.min_deposit": (100 * UNIT, UNIT, 1_000_000 * UNIT, "btt"),
    "governance.emergency_deposit": (1_000 * UNIT, UNIT, 10_000_000 * UNIT, "btt"),
    "governance.voting_period_ms": (30_000, 10_000, 2_592_000_000, "count"),
    "governance.enactment_delay_ms": (5_000, 0, 2_592_000_000, "count"),
    "governance.threshold_bps": (5000, 5000, 9000, "bps"),
    "governance.emergency_threshold_bps": (6667, 6667, 9500, "bps"),
    "governance.quorum_bps": (100, 100, 5000, "bps"),
    "governance.spam_threshold_bps": (1000, 0, 5000, "bps"),
    "governance.min_houses_in_favour": (2, 2, 4, "count"),
    "governance.house_turnout_floor_bps": (100, 50, 5000, "bps"),
    "governance.house_min_aye_voters": (1, 1, 5, "count"),
    "governance.house_min_other_aye_bps": (50, 0, 5000, "bps"),
    "governance.compute_window_days": (30, 1, 365, "count"),
    "governance.max_open_referenda": (100, 1, 1000, "count"),
    "governance.house_bps.institutions": (3000, 1500, 4500, "bps"),
    "governance.house_bps.compute": (2500, 1250, 3750, "bps"),
    "governance.house_bps.holders": (3500, 1750, 4900, "bps"),
    "governance.house_bps.representatives": (1000, 500, 1500, "bps"),
}

DEFAULT_PARAMS.update({
    "assets.mint_fee_bps": (200, 100, 300, "bps"),
    "assets.mint_fee_burn_bps": (300, 200, 500, "bps"),
    "assets.trade_fee_bps": (75, 50, 100, "bps"),
    "assets.trade_fee_burn_bps": (300, 200, 500, "bps"),
    "assets.revalue_fee_bps": (25, 25, 50, "bps"),
    "assets.revalue_fee_burn_bps": (300, 200, 500, "bps"),
    "payments.fee_bps": (60, 50, 80, "bps"),
    "payments.fee_burn_bps": (75, 50, 100, "bps"),
    "incentives.redeem_rate": (UNIT // 100, 0, UNIT, "btt"),
    "incentives.redeem_cap_per_epoch": (100 * UNIT, 0, 100_000 * UNIT, "btt"),
    "incentives.redeem_cap_global_per_epoch": (250 * UNIT, UNIT, 100_000 * UNIT, "btt"),
    "incentives.oracle_points_per_epoch": (5_000, 100, 100_000_000, "count"),
    "incentives.points.preventive_visit": (100, 0, 10_000, "count"),
    "incentives.points.treatment_adherence": (50, 0, 10_000, "count"),
    "incentives.points.healthy_lifestyle": (20, 0, 10_000, "count"),
    "incentives.points.referral": (30, 0, 10_000, "count"),
})

def _emergency_params() -> frozenset[str]:
    """The parameters the presets put on the emergency track (the seed's figures): test chains follow them."""
    import json
    from pathlib import Path

    preset = json.loads((Path(__file__).parents[2] / "genesis" / "presets" / "dev.json").read_text())
    return frozenset(n for n, p in preset["parameters"].items() if p.get("track") == "emergency")


EMERGENCY_PARAMS = _emergency_params()

TEST_HASH_CHAIN_LENGTH = 4096
"""Hash chains of test validators are short: a test chain never authors more blocks than this per key."""
DEV_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")


def test_commitment(name: str) -> bytes:
    """The hash-chain commitment TestChain can reveal for dev key `name` (use it to register a validator)."""
    return hash_chain_for(dev_keypair(name).seed, TEST_HASH_CHAIN_LENGTH).commitment


test_commitment.__test__ = False  # type: ignore[attr-defined]



def acct(name: str) -> bytes:
    return dev_keypair(name).public


@dataclass
class GenesisBuilder:
    """Balances in whole BTT by dev name; alice validates with a 10 BTT bond unless told otherwise."""

    balances: dict[str, int] = field(default_factory=lambda: {"alice": 1_000, "bob": 1_000, "charlie": 100})
    locked: dict[str, int] = field(default_factory=dict)
    validators: dict[str, int] = field(default_factory=lambda: {"alice": 10})
    params: dict[str, int] = field(default_factory=dict)
    burned_at_genesis: int = 0
    module_balances: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Module account name -> (free, locked) in whole BTT, e.g. {"strategic_reserve": (210, 210)}."""
    vesting: dict[str, tuple[VestingSchedule, ...]] = field(default_factory=dict)
    """Dev name or module account name -> schedules (base units, absolute ms; genesis is at 1_000_000 ms)."""
    accounts: dict[bytes, int] = field(default_factory=dict)
    """Any account id (a multisig account, say) -> free balance in whole BTT."""
    epoch_slots: int = 0
    """Slots per epoch for the active-set rotation (a test chain's slot is its block number); 0: never."""
    mining_periods: tuple[tuple[int, int], ...] = ()
    """The mining pool's emission schedule as (duration ms, whole BTT); needs `module_balances["mining_pool"]`."""
    institutions: dict[str, int] = field(default_factory=dict)
    """The founding institutions house: dev name -> voting weight in whole BTT."""
    representatives: tuple[str, ...] = ()
    """The community representatives house at genesis, as dev names."""
    institution_share_bps: tuple[int, ...] = (7000, 5000, 4000, 2000)
    """The decentralisation schedule: the institutions' share by year (TOKENOMICS.md, seed 003)."""
    milestones: tuple[tuple[str, int, bool], ...] = ()
    """Milestone burns as (name, whole BTT, burned at genesis); they come from `module_balances["foundation"]`.
    A genesis milestone's amount must be counted in `burned_at_genesis` (base units) too."""

    def build(self, spec: int | None = None) -> TestChain:
        """The chain at genesis, under the newest spec's rules or under `spec`'s (its own genesis and types)."""
        balances = tuple(
            GenesisBalance(acct(n), amt * UNIT, self.locked.get(n, 0) * UNIT) for n, amt in self.balances.items()
        )
        balances += tuple(
            GenesisBalance(module_account(n), free * UNIT, locked * UNIT)
            for n, (free, locked) in self.module_balances.items()
        )
        balances += tuple(GenesisBalance(who, amt * UNIT, 0) for who, amt in self.accounts.items())
        supply = sum(b.free for b in balances) + self.burned_at_genesis
        params = []
        for name, (value, lo, hi, unit) in DEFAULT_PARAMS.items():
            track = "emergency" if name in EMERGENCY_PARAMS else "standard"
            params.append(GenesisParam(name, self.params.get(name, value), lo, hi, unit, track))
        config = GenesisConfig(
            supply=supply,
            burned_at_genesis=self.burned_at_genesis,
            genesis_time_ms=1_000_000,
            chain_spec_hash=bytes(32),
            balances=balances,
            validators=tuple(ValidatorInfo(acct(n), acct(n), b * UNIT, acct(n)) for n, b in self.validators.items()),
            params=tuple(params),
            vesting=tuple(
                GenesisVesting(_holder(n), sched) for n, scheds in self.vesting.items() for sched in scheds
            ),
            epoch_slots=self.epoch_slots,
            slot_ms=SLOT_MS,
            commitments=tuple((acct(n), test_commitment(n)) for n in self.validators),
            models=tuple(reference_spec(n) for n in reference_names()),
            mining_periods=tuple((ms, amount * UNIT) for ms, amount in self.mining_periods),
            milestones=tuple((name, amount * UNIT, done) for name, amount, done in self.milestones),
            institutions=tuple((acct(n), weight * UNIT) for n, weight in self.institutions.items()),
            representatives=tuple(acct(n) for n in self.representatives),
            institution_share_bps=self.institution_share_bps,
        )
        if spec is None:
            return TestChain(IndexedDictState(build_state(config)))
        spec_build = package_module(spec, "runtime.genesis").build_state
        return TestChain(IndexedDictState(spec_build(into_spec(config, spec))))


_DEV_KEYS = {dev_keypair(n).public: dev_keypair(n) for n in DEV_NAMES}


def _chain(session_key: bytes, generation: int = 0) -> HashChain:
    return hash_chain_for(_DEV_KEYS[session_key].seed, TEST_HASH_CHAIN_LENGTH, generation)


def test_rotation_commitment(name: str, generation: int) -> bytes:
    """The commitment of dev key `name`'s hash chain number `generation` (for consensus.rotate_hash_chain)."""
    return _chain(dev_keypair(name).public, generation).commitment


test_rotation_commitment.__test__ = False  # type: ignore[attr-defined]


def _holder(name: str) -> bytes:
    from btt_chain.primitives.accounts import MODULE_ACCOUNTS

    return module_account(name) if name in MODULE_ACCOUNTS else acct(name)


class TestChain:
    """A chain of blocks on a dict state (`IndexedDictState`), authored by alice, with invariants checked after every
    block."""

    __test__ = False

    def __init__(self, state: DictState) -> None:
        self.backend = state
        self._executives: dict[int, Executive] = {}
        self.runtime_override: Runtime | None = None
        """Run every block by this runtime (a test's own), not the one the chain's state chooses."""
        self.spec_runtimes: dict[int, Runtime] = {}
        """Spec -> the runtime to run that spec's blocks by (a test's own migrations), where the state chooses it."""
        self.number = 0
        self.slot = 0
        self.parent_hash = GENESIS_HASH
        self.last_result: BlockResult | None = None
        self.author = acct("alice")
        self._current: BlockExecution | None = None
        self.time_offset_ms = 0
        """Added to every later block's timestamp: `advance_time` jumps the clock without producing blocks."""
        self.offline: set[bytes] = set()
        """Session keys whose slots pass without a block (offline or withholding validators)."""
        self.broken_on_purpose: set[str] = set()
        """Invariant rules (by name, e.g. `compute.samples_waiting`) a test broke on purpose by writing state
        directly: their lines are left out of the check after each block."""
        self.burns_name_their_source = False
        """Check after each block that every burn is reported by the module that made it (the explorer's burns by
        source, `explorer_burns.attribute`): for tests that never call `balances.burn`, the one unreported burn."""

    @property
    def executive(self) -> Executive:
        """The executive of the next block: its spec's, as the chain's state chooses it (`runtime.specs`)."""
        if self.runtime_override is not None:
            return self._executives.setdefault(-1, Executive(self.runtime_override, GENESIS_HASH))
        spec = spec_for_block(self.backend, self.number + 1)
        own = self.spec_runtimes.get(spec)
        key = spec if own is None else -1000 - spec
        executive = self._executives.get(key)
        if executive is None:
            executive = self._executives[key] = Executive(own or runtime_of(spec), GENESIS_HASH)
        return executive

    @executive.setter
    def executive(self, executive: Executive) -> None:
        """Run every following block under `executive` whatever the state's spec (a test's own runtime)."""
        self.runtime_override = executive.runtime
        self._executives[-1] = executive

    @property
    def runtime(self) -> Runtime:
        return self.executive.runtime

    def fork(self) -> TestChain:
        """An independent copy of this chain at its last block (to see what another history would do)."""
        other = TestChain(IndexedDictState(self.backend.data))
        other.number, other.slot, other.parent_hash = self.number, self.slot, self.parent_hash
        other.author, other.time_offset_ms, other.offline = self.author, self.time_offset_ms, set(self.offline)
        other.broken_on_purpose = set(self.broken_on_purpose)
        other.runtime_override, other.spec_runtimes = self.runtime_override, dict(self.spec_runtimes)
        return other

    # blocks --------------------------------------------------------------------------------------
    def begin_block(self) -> BlockExecution:
        """Start the next block in the next slot a dev key leads (normally slot = number), by its leader, with
        the leader's next hash-chain reveal."""
        n = self.number + 1
        view = self.view()
        slot = self.slot + 1
        leader = consensus.leader_of_slot(view, slot)
        while leader is not None and (leader not in _DEV_KEYS or leader in self.offline):
            slot += 1
            leader = consensus.leader_of_slot(view, slot)
        self.author = leader or acct("alice")
        rs = consensus_storage.reveals.get(view, self.author)
        reveal = bytes(32) if rs is None else _chain(self.author, rs.generation).reveal(rs.count + 1)
        env = BlockEnv(n, self.parent_hash, slot, 1_000_000 + slot * SLOT_MS + self.time_offset_ms, self.author, reveal)
        self._current = self.executive.initialize_block(self.backend, env)
        for inherent in self.executive.inherents(env):  # as a block's author puts them first
            self.executive.apply_inherent(self._current, inherent)
        return self._current

    def end_block(self) -> BlockResult:
        assert self._current is not None
        result = self.executive.finalize_block(self._current)
        self.backend.apply(result.changes)
        self.number += 1
        self.slot = self._current.ctx.env.slot
        self.parent_hash = bytes([self.number % 256]) * 32
        self.last_result = result
        self._current = None
        view = self.view()
        check = package_module(running_spec(view), "runtime.invariants").check_invariants  # the spec's own books
        problems = [p for p in check(view) if p.split(":", 1)[0] not in self.broken_on_purpose]
        assert not problems, problems
        if self.burns_name_their_source:
            from btt_chain.rpc.explorer_burns import UNCLAIMED, attribute

            by_source = attribute([phase, *event.to_record()] for phase, event in result.events)
            assert UNCLAIMED not in by_source, (f"block {self.number}: a burn no module reported ({by_source}): "
                                                f"{[type(e).__name__ for _, e in result.events]}")
        return result

    def run_block(self, xts: Iterable[Extrinsic]) -> BlockResult:
        ex = self.begin_block()
        for xt in xts:
            self.executive.apply_extrinsic(ex, xt, len(xt.encode()))
        return self.end_block()

    # extrinsics ----------------------------------------------------------------------------------
    def sign(
        self, signer: str | Keypair, call_name: str, *args: Any, nonce: int | None = None, tip: int = 0
    ) -> Extrinsic:
        pair = dev_keypair(signer) if isinstance(signer, str) else signer
        if nonce is None:
            nonce = self.account(pair.public).nonce
        runtime = self.runtime
        return sign_extrinsic(pair, runtime.call(call_name, *args), nonce, GENESIS_HASH, runtime.spec_version, tip=tip)

    def fee_of(self, signer: str, call_name: str, *args: Any) -> int:
        """The inclusion fee the next block would charge for this call."""
        xt = self.sign(signer, call_name, *args)
        n = self.number + 1
        env = BlockEnv(n, self.parent_hash, n, 1_000_000 + (self.slot + 1) * SLOT_MS + self.time_offset_ms, self.author)
        return self.executive.validate_transaction(self.backend, env, xt, len(xt.encode())).fee

    def submit(self, signer: str | Keypair, call_name: str, *args: Any, tip: int = 0) -> ApplyOutcome:
        """Apply one signed extrinsic in its own block; return its outcome."""
        xt = self.sign(signer, call_name, *args, tip=tip)
        ex = self.begin_block()
        outcome = self.executive.apply_extrinsic(ex, xt, len(xt.encode()))
        self.end_block()
        return outcome

    def dispatch(self, origin: Origin, call_name: str, *args: Any) -> None:
        """Dispatch a call directly with any origin (governance, root) inside a block, in a snapshot."""
        runtime = self.runtime
        ex = self.begin_block()
        decoded = runtime.decode_call(runtime.call(call_name, *args))
        ctx: CallContext = ex.ctx
        ctx.phase = len(ex.outcomes)  # after the block's inherents, as an extrinsic of its own
        try:
            ctx.state.run_in_snapshot(lambda: runtime.dispatch(ctx, origin, decoded))
        finally:
            self.end_block()

    def advance_time(self, ms: int) -> None:
        """Make the next block's timestamp `ms` later than it would have been (long locks, no empty blocks)."""
        self.time_offset_ms += ms

    # views ---------------------------------------------------------------------------------------
    def view(self) -> Overlay:
        return Overlay(self.backend)

    def account(self, who: bytes | str) -> AccountInfo:
        return system.account.get(self.view(), acct(who) if isinstance(who, str) else who)

    def snapshot(self) -> dict[bytes, bytes]:
        return dict(self.backend.data)

    def events(self) -> list[Event]:
        """The last block's events, without its inherents' (the `ExtrinsicSuccess` of `timestamp.set`)."""
        assert self.last_result is not None
        inherents = {o.index for o in self.last_result.outcomes if o.index < INHERENTS}
        return [ev for phase, ev in self.last_result.events if phase not in inherents]

    def transaction_outcomes(self) -> tuple[ApplyOutcome, ...]:
        """The last block's signed extrinsics' outcomes (after its inherents)."""
        assert self.last_result is not None
        return self.last_result.outcomes[INHERENTS:]


# --- assertions -----------------------------------------------------------------------------------

def assert_ok(outcome: ApplyOutcome) -> None:
    assert outcome.success, f"call failed: {outcome.error}"


INHERENTS = 1
"""Inherents at the start of every block (`timestamp.set`)."""
STATE_EXEMPT_PREFIXES = tuple(
    storage_prefix(module, item) for module, item in (
        ("system", "number"), ("system", "slot"), ("system", "timestamp_ms"), ("system", "block_hash"),
        ("consensus", "randomness"), ("consensus", "reveals"), ("compute", "recent_authors"), ("timestamp", "now"),
    )
)


def assert_noop(chain: TestChain, signer: str, call_name: str, *args: Any, error: str) -> ApplyOutcome:
    """The call fails with `error` and storage is unchanged except the fee, the nonce and block bookkeeping."""
    who = acct(signer)
    before = chain.snapshot()
    acc_before = chain.account(who)
    outcome = chain.submit(signer, call_name, *args)
    assert not outcome.success, "call was expected to fail"
    assert outcome.error is not None and error in outcome.error, f"expected {error!r}, got {outcome.error!r}"
    acc_after = chain.account(who)
    assert acc_after.nonce == acc_before.nonce + 1
    payee = session_storage.reward_payee(chain.view(), chain.author) or chain.author  # the author's share's account
    refund = outcome.fee * DEFAULT_PARAMS["fees.author_bps"][0] // 10_000 if who == payee else 0
    assert acc_after.free == acc_before.free - outcome.fee + refund
    assert (acc_after.reserved, acc_after.frozen) == (acc_before.reserved, acc_before.frozen)
    after = chain.snapshot()
    fee_accounts = {
        system.account.key(k)
        for k in (who, chain.author, payee, *_fee_pots())
    }
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    unexpected = [k for k in changed if k not in fee_accounts and not k.startswith(STATE_EXEMPT_PREFIXES)]
    assert not unexpected, f"failed call changed storage: {unexpected}"
    return outcome


def assert_dispatch_noop(chain: TestChain, origin: Origin, call_name: str, *args: Any, error: str) -> None:
    """A directly dispatched call raises `error` and storage is unchanged except block bookkeeping."""
    before = chain.snapshot()
    try:
        chain.dispatch(origin, call_name, *args)
    except DispatchError as exc:
        assert error in str(exc), f"expected {error!r}, got {exc}"
    else:
        raise AssertionError("call was expected to fail")
    after = chain.snapshot()
    changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    assert all(k.startswith(STATE_EXEMPT_PREFIXES) for k in changed), f"failed call changed storage: {changed}"


def assert_last_event(chain: TestChain, expected: Event) -> None:
    user_events = [e for e in chain.events() if e.MODULE not in ("system", "fees", "transaction_payment")]
    assert user_events, "no module events in the last block"
    assert user_events[-1] == expected, f"last event {user_events[-1]} != {expected}"


def _fee_pots() -> tuple[bytes, ...]:
    from btt_chain.primitives.accounts import module_account

    return (module_account("staker_rewards"), module_account("development_fund"))
