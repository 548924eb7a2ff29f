"""compute: providers, jobs (post, cancel, assignment, expiry), commit and reveal with re-executed samples,
the payment split and burn, fraud slashing, work credit and its maturity, and the mining pool's epoch
rewards. Every failing call is checked to leave storage unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, ZERO_HASH, blake2b_256, merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof, merkle_range_proof
from runtime.bonds import events as bond_events
from runtime.bonds import storage as bonds
from runtime.bonds.types import BondLedger
from runtime.compute import assignment, costs, credit, events, sample_fix, settlement, storage, verify
from runtime.compute.inference import infer, input_bytes
from runtime.compute.inputs import input_root, output_root, synthetic_inputs
from runtime.compute.model import DENSE, FLATTEN, LayerSpec, macs_per_item, model_hash
from runtime.compute.models import built
from runtime.compute.reference import reference_spec
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    FRAUD,
    JOB_CANCELLED,
    JOB_DONE,
    JOB_EXPIRED,
    JOB_OPEN,
    LATE,
    MISSED,
    SETTLED,
    STALLED,
    VERIFIED,
    Assignment,
    CreditBucket,
    Job,
    Opening,
    PendingCredit,
    Provider,
    RegisteredModel,
)
from runtime.consensus import storage as consensus
from runtime.context import GOVERNANCE
from runtime.executive import ApplyOutcome
from runtime.params.storage import get_param
from runtime.system import storage as system
from tests.support.job_inputs import post_inputs
from tests.support.models import dense_model
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
    assert_ok,
)

MODEL = model_hash(reference_spec("breast-cancer-v1"))
MACS = macs_per_item(reference_spec("breast-cancer-v1"))
"""Multiply-accumulates per item of the reference model: 64*32 + 32*16 + 16*5."""
SEED = b"\x5a" * 32
SALT = b"\x3c" * 32
BOND = DEFAULT_PARAMS["compute.min_provider_bond"][0]
FRAUD_SLASH = DEFAULT_PARAMS["compute.fraud_slash"][0]
WITHHELD_SLASH = DEFAULT_PARAMS["compute.withheld_slash"][0]
MATURITY = DEFAULT_PARAMS["compute.credit_maturity_ms"][0]
CAP_BPS = DEFAULT_PARAMS["compute.reward_cap_bps"][0]
WINDOW = DEFAULT_PARAMS["compute.challenge_window_ms"][0]
OUTPUTS_DUE = DEFAULT_PARAMS["compute.outputs_due_ms"][0]
MISSED_CAP = DEFAULT_PARAMS["compute.max_missed_per_epoch"][0]
"""The most missed-deadline fees take from a provider in one epoch: with PRICE's 10% fee above it, one miss costs
this much."""
LATE_REVEAL = DEFAULT_PARAMS["compute.late_reveal_ms"][0]
FIXED_FEE = DEFAULT_PARAMS["compute.missed_assignment_fee"][0]
"""The fixed part of a missed assignment's fee (never capped)."""
STALL_FEE = FIXED_FEE + MISSED_CAP
"""What one missed assignment of PRICE costs a provider with no other miss in the epoch: the fixed fee, and 10% of
the escrow capped at the epoch's cap."""
DEADLINE = 60_000
SHORT = 20_000
"""The shortest deadline a test chain accepts: its commit window (4 slots) for waiting in the queue, and the
assignment's worst case: the window again and three times it for the sample (a chain without epochs)."""
BPS = 10_000
DEV = module_account("development_fund")
FOUNDATION = module_account("foundation")
RESERVE = module_account("operational_reserve")
POOL = module_account("mining_pool")

# An uneven price: 2% burned, then 70/15/10/5 of the rest with 2 base units of rounding dust to the reserve.
PRICE = 12_345_678_901_234_567_891
BURNED = 246_913_578_024_691_357
TO_PROVIDER = 8_469_135_726_246_913_573
TO_DEVELOPMENT = 1_814_814_798_481_481_480
TO_FOUNDATION = 1_209_876_532_320_987_653
TO_RESERVE = 604_938_266_160_493_828


BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 100_000, "dave": 100_000, "eve": 1_000}


def min_price(chain: TestChain, items: int = 4, redundancy: int = 1, model: bytes = MODEL) -> int:
    reg = storage.models.get(chain.view(), model)
    assert reg is not None
    return costs.min_price(chain.view(), reg.spec, items, redundancy)


def make_chain(**kwargs: object) -> TestChain:
    kwargs.setdefault("balances", dict(BALANCES))
    return GenesisBuilder(**kwargs).build()  # type: ignore[arg-type]


# --- views and block helpers -------------------------------------------------------------------------


def job_of(chain: TestChain, job_id: int) -> Job:
    job = storage.jobs.get(chain.view(), job_id)
    assert job is not None
    return job


def provider_of(chain: TestChain, name: str) -> Provider | None:
    return storage.providers.get(chain.view(), acct(name))


def issuance(chain: TestChain) -> int:
    return system.total_issuance.get(chain.view())


def now(chain: TestChain) -> int:
    """The timestamp of the last block."""
    return system.timestamp_ms.get(chain.view())


def param(chain: TestChain, name: str) -> int:
    return get_param(chain.view(), name)


def skip(chain: TestChain, n: int) -> None:
    for _ in range(n):
        chain.run_block([])


def until_sampled(chain: TestChain, job_id: int) -> None:
    """Empty blocks until every committed assignment of the job has its sample."""
    for _ in range(64):
        if all(a.sample_seed != ZERO_HASH for a in job_of(chain, job_id).assignments if a.state == COMMITTED):
            return
        chain.run_block([])
    raise AssertionError("no sample within 64 blocks")


def close_window(chain: TestChain, job_id: int) -> None:
    """Run empty blocks until the last challenge window of the job's verified assignments has closed (the last
    block is the one that paid)."""
    ends = [a.matures_ms for a in job_of(chain, job_id).assignments if a.state == VERIFIED]
    assert ends, "no verified assignment"
    while now(chain) < max(ends):
        chain.run_block([])
    assert all(a.state != VERIFIED for a in job_of(chain, job_id).assignments)


def run_to_epoch_start(chain: TestChain, epoch_slots: int = 10) -> int:
    """Empty blocks up to and including the first block of the next epoch; returns that epoch."""
    epoch = chain.number // epoch_slots + 1
    run_to(chain, epoch * epoch_slots)
    return epoch


def run_to(chain: TestChain, number: int) -> None:
    """Empty blocks until the last block has `number` (test chains lead every slot: slot == number)."""
    assert chain.number <= number
    skip(chain, number - chain.number)


def free(chain: TestChain, who: bytes | str) -> int:
    return chain.account(who).free


def ledger(chain: TestChain, name: str) -> BondLedger | None:
    return bonds.ledger.get(chain.view(), acct(name))


def register(
    chain: TestChain, name: str, capacity: int = 4, region: int = 0, energy: int = 0, bond: int = BOND
) -> None:
    """Bond `bond` (on top of a validator's bond) and register as a provider."""
    bonded = ledger(chain, name) is not None
    assert_ok(chain.submit(name, "bonds.bond_extra" if bonded else "bonds.bond", bond))
    assert_ok(chain.submit(name, "compute.register_provider", capacity, region, energy))


def post(
    chain: TestChain,
    who: str = "charlie",
    items: int = 4,
    price: int = PRICE,
    redundancy: int = 1,
    deadline_ms: int = DEADLINE,
    seed: bytes = SEED,
    root: bytes = ZERO_HASH,
    model: bytes = MODEL,
    inputs: Sequence[bytes] | None = None,
) -> int:
    """Post a job (synthetic from `seed`; or of the requester's own `inputs`, posted on chain right after, as spec 17
    needs before it is drawn; or by `root` alone, its inputs never given)."""
    job_id = storage.next_job_id.get(chain.view())
    if inputs is not None:
        root, seed = input_root(inputs), ZERO_HASH
    assert_ok(chain.submit(who, "compute.post_job", model, root, seed, items, price, redundancy, deadline_ms))
    if inputs is not None:
        assert_ok(post_inputs(chain, who, job_id, inputs))
    return job_id


def post_xt(
    chain: TestChain, who: str, items: int = 4, price: int = PRICE, redundancy: int = 1, nonce: int | None = None
) -> Extrinsic:
    return chain.sign(who, "compute.post_job", MODEL, ZERO_HASH, SEED, items, price, redundancy, DEADLINE, nonce=nonce)


def faked(output: bytes) -> bytes:
    """A wrong output item: another class byte, same logits."""
    return bytes([(output[0] + 1) % 256]) + output[1:]


@dataclass
class Worker:
    """Plays a provider off chain: regenerates a synthetic job's inputs, runs the model, fakes the items in
    `fake`, commits H(output root, salt) and reveals the sampled items with their Merkle paths."""

    chain: TestChain
    name: str
    fake: frozenset[int] = field(default_factory=frozenset)
    salt: bytes = SALT

    @property
    def account(self) -> bytes:
        return acct(self.name)

    def items(self, job_id: int) -> tuple[list[bytes], list[bytes]]:
        job = job_of(self.chain, job_id)
        reg = storage.models.get(self.chain.view(), job.model)
        assert reg is not None
        inputs = synthetic_inputs(job.input_seed, job.items, input_bytes(reg.spec))
        outputs = infer(built(reg.spec), inputs)
        return inputs, [faked(o) if i in self.fake else o for i, o in enumerate(outputs)]

    def root(self, job_id: int) -> bytes:
        return output_root(self.items(job_id)[1])

    def commitment(self, job_id: int) -> bytes:
        return verify.result_commitment(self.root(job_id), self.salt)

    def commit(self, job_id: int) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.commit_result", job_id, self.commitment(job_id))

    def sample(self, job_id: int) -> tuple[int, ...]:
        job = job_of(self.chain, job_id)
        idx = job.assignment_of(self.account)
        assert idx is not None
        return verify.sample_of(job, job.assignments[idx], param(self.chain, "compute.sample_size"))

    def openings(self, job_id: int) -> tuple[Opening, ...]:
        inputs, outputs = self.items(job_id)
        li, lo = merkle_levels(inputs), merkle_levels(outputs)
        return tuple(
            Opening(i, inputs[i], outputs[i], merkle_proof(li, i), merkle_proof(lo, i)) for i in self.sample(job_id)
        )

    def reveal_args(self, job_id: int) -> tuple[int, bytes, bytes, tuple[Opening, ...]]:
        return job_id, self.root(job_id), self.salt, self.openings(job_id)

    def reveal(self, job_id: int) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.reveal_result", *self.reveal_args(job_id))

    def chunks(self, job_id: int) -> list[tuple[int, tuple[bytes, ...], tuple[bytes, ...]]]:
        """The job's outputs as `compute.post_outputs` takes them: (first item, items, range proof) per chunk."""
        job = job_of(self.chain, job_id)
        reg = storage.models.get(self.chain.view(), job.model)
        assert reg is not None
        outputs = self.items(job_id)[1]
        levels = merkle_levels(outputs)
        return [(first, tuple(outputs[first:first + n]), merkle_range_proof(levels, first, n))
                for first, n in costs.chunk_plan(reg.spec, job.items)]

    def post_all(self, job_id: int) -> ApplyOutcome:
        """Post every chunk of the outputs, one block each; the first failure or the last outcome."""
        out = None
        for first, items, proof in self.chunks(job_id):
            out = self.chain.submit(self.name, "compute.post_outputs", job_id, first, items, proof)
            if not out.success:
                return out
        assert out is not None
        return out

    def commit_and_wait(self, job_id: int) -> None:
        """Commit, then let the blocks pass until the sample is fixed (the next block may reveal). A provider that
        also validates waits longer when its own key authored the block meant to fix its sample."""
        assert_ok(self.commit(job_id))
        for _ in range(64):
            if self.sample(job_id):
                break
            skip(self.chain, 1)
        assert self.sample(job_id)

    def work(self, job_id: int) -> ApplyOutcome:
        """A whole round: commit, wait for the sample, reveal; if the sample verified, let the challenge window
        close so that the assignment is paid (or voided)."""
        self.commit_and_wait(job_id)
        out = self.reveal(job_id)
        if out.success and any(a.state == VERIFIED for a in job_of(self.chain, job_id).assignments):
            close_window(self.chain, job_id)
        return out


def assigned_job(chain: TestChain, provider: str = "bob", **post_kwargs: object) -> int:
    """`provider` registered (if not yet), a job posted by charlie and assigned to it."""
    if provider_of(chain, provider) is None:
        register(chain, provider)
    job_id = post(chain, **post_kwargs)  # type: ignore[arg-type]
    chain.run_block([])
    assert [a.provider for a in job_of(chain, job_id).assignments] == [acct(provider)]
    return job_id


# --- providers ---------------------------------------------------------------------------------------


def test_register_provider_needs_the_minimum_active_bond() -> None:
    chain = make_chain()
    assert_noop(chain, "bob", "compute.register_provider", 4, 0, 0, error="BondTooLow")
    assert_ok(chain.submit("bob", "bonds.bond", BOND - 1))
    assert_noop(chain, "bob", "compute.register_provider", 4, 0, 0, error="BondTooLow")
    assert_ok(chain.submit("bob", "bonds.bond_extra", 1))
    assert_ok(chain.submit("bob", "compute.register_provider", 4, 1, 2))
    assert_last_event(chain, events.ProviderRegistered(acct("bob"), 4, 1, 2))
    assert provider_of(chain, "bob") == Provider(4, 1, 2)
    assert_noop(chain, "bob", "compute.register_provider", 4, 1, 2, error="AlreadyProvider")


def test_unbonding_counts_only_the_active_bond() -> None:
    chain = make_chain()
    assert_ok(chain.submit("bob", "bonds.bond", BOND + UNIT))
    assert_ok(chain.submit("bob", "bonds.unbond", 2 * UNIT))
    assert_noop(chain, "bob", "compute.register_provider", 4, 0, 0, error="BondTooLow")


def test_register_provider_refuses_bad_capacity_region_or_energy() -> None:
    chain = make_chain(balances={**BALANCES, "bob": 10_000})
    assert_ok(chain.submit("bob", "bonds.bond", 64 * FRAUD_SLASH))
    for capacity, region, energy in ((0, 0, 0), (65, 0, 0), (4, 3, 0), (4, 0, 5), (4, 255, 255)):
        assert_noop(chain, "bob", "compute.register_provider", capacity, region, energy, error="BadProviderClass")
    assert_ok(chain.submit("bob", "compute.register_provider", 64, 2, 4))  # the upper bounds are fine
    assert provider_of(chain, "bob") == Provider(64, 2, 4)


def test_deregister_refused_while_an_assignment_is_open_then_allowed() -> None:
    chain = make_chain()
    assert_noop(chain, "bob", "compute.deregister_provider", error="NotProvider")
    job_id = assigned_job(chain)
    assert_noop(chain, "bob", "compute.deregister_provider", error="ProviderBusy")
    assert_ok(Worker(chain, "bob").work(job_id))
    assert_ok(chain.submit("bob", "compute.deregister_provider"))
    assert_last_event(chain, events.ProviderDeregistered(acct("bob")))
    # the record stays, without capacity, so the provider's history is kept
    assert provider_of(chain, "bob") == Provider(0, 0, 0, assigned=1, completed=1)
    # the bond stays with the bonds module
    assert ledger(chain, "bob") == BondLedger(BOND, ())
    assert_noop(chain, "bob", "compute.deregister_provider", error="NotProvider")
    job_id = post(chain)
    chain.run_block([])
    assert job_of(chain, job_id).assignments == ()  # a provider that left is never assigned


def test_leaving_and_coming_back_does_not_wipe_the_missed_deadlines() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    run_to_deadline(chain, job_id)
    assert provider_of(chain, "bob") == Provider(4, 0, 0, assigned=1, stalled=1)
    assert_ok(chain.submit("bob", "compute.deregister_provider"))
    assert_ok(chain.submit("bob", "bonds.bond_extra", STALL_FEE))  # the missed-assignment fee took it below
    assert_ok(chain.submit("bob", "compute.register_provider", 2, 1, 3))
    assert_last_event(chain, events.ProviderRegistered(acct("bob"), 2, 1, 3))
    assert provider_of(chain, "bob") == Provider(2, 1, 3, assigned=1, stalled=1)
    assert provider_of(chain, "bob").on_time_bps() == 0  # type: ignore[union-attr]
    assert_noop(chain, "bob", "compute.register_provider", 2, 1, 3, error="AlreadyProvider")


# --- posting and cancelling jobs ------------------------------------------------------------------


def test_post_job_refuses_bad_figures_and_changes_nothing() -> None:
    chain = make_chain()
    def bad(*args: object, error: str, who: str = "charlie") -> None:
        assert_noop(chain, who, "compute.post_job", *args, error=error)

    floor = min_price(chain)
    bad(b"\x01" * 32, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE, error="UnknownModel")
    bad(MODEL, ZERO_HASH, SEED, 0, PRICE, 1, DEADLINE, error="BadJob")
    bad(MODEL, ZERO_HASH, SEED, 1025, PRICE, 1, DEADLINE, error="BadJob")
    bad(MODEL, ZERO_HASH, SEED, 4, PRICE, 0, DEADLINE, error="BadJob")
    bad(MODEL, ZERO_HASH, SEED, 4, PRICE, 4, DEADLINE, error="BadJob")
    bad(MODEL, ZERO_HASH, SEED, 4, PRICE, 1, SHORT - 1, error="BadJob")  # no room for the commit and the sample
    bad(MODEL, ZERO_HASH, SEED, 4, PRICE, 1, 600_001, error="BadJob")
    bad(MODEL, ZERO_HASH, SEED, 4, 0, 1, DEADLINE, error="PriceTooLow")
    bad(MODEL, ZERO_HASH, SEED, 4, floor - 1, 1, DEADLINE, error="PriceTooLow")  # the providers' fees at least
    bad(MODEL, ZERO_HASH, SEED, 4, 3 * floor - 1, 3, DEADLINE, error="PriceTooLow")  # for each of them
    bad(MODEL, ZERO_HASH, ZERO_HASH, 4, PRICE, 1, DEADLINE, error="BadJob")  # neither root nor seed
    other_root = input_root(synthetic_inputs(SEED, 5, 64))
    bad(MODEL, other_root, SEED, 4, PRICE, 1, DEADLINE, error="BadJob")  # the root is not the seed's
    bad(MODEL, ZERO_HASH, SEED, 4, 1_000 * UNIT, 1, DEADLINE, who="eve", error="InsufficientBalance")
    # the bounds themselves are accepted
    top = min_price(chain, 1024, 3)
    assert_ok(chain.submit("charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 1024, top, 3, 600_000))
    assert_ok(chain.submit("charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, floor, 1, SHORT))
    assert storage.open_jobs.get(chain.view()) == 2


def test_the_price_floor_follows_the_fee_parameters_and_the_job_size() -> None:
    chain = make_chain()
    spec = reference_spec("breast-cancer-v1")
    view = chain.view()
    per_provider = costs.provider_costs(view, spec, 4)
    assert min_price(chain, 4, 3) == 3 * per_provider
    parts = costs.commit_cost(view), costs.reveal_cost(view, spec, 4), costs.posting_cost(view, spec, 4)
    assert per_provider == sum(parts)
    assert min_price(chain, 1024) > min_price(chain, 4)  # more to post
    # every fee an honest provider pays to serve the job is below what its price covers
    job_id = assigned_job(chain, price=min_price(chain))
    bob = Worker(chain, "bob")
    bob0 = chain.account("bob").free
    bob.commit_and_wait(job_id)
    assert_ok(bob.reveal(job_id))
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    assert_ok(bob.post_all(job_id))
    spent = bob0 - chain.account("bob").free
    assert 0 < spent <= per_provider  # its posting fees were paid back from charlie's deposit besides
    chain.dispatch(GOVERNANCE, "params.set_parameter", "fees.per_byte", 2 * UNIT // 100_000)
    assert min_price(chain) > per_provider


def test_cancel_before_assignment_releases_the_price() -> None:
    chain = make_chain()
    job_id = post(chain)
    assert_noop(chain, "dave", "compute.cancel_job", job_id, error="NotRequester")
    assert_noop(chain, "charlie", "compute.cancel_job", 7, error="UnknownJob")
    before = chain.account("charlie")
    out = chain.submit("charlie", "compute.cancel_job", job_id)
    assert_ok(out)
    assert_last_event(chain, events.JobClosed(job_id, JOB_CANCELLED, PRICE))
    after = chain.account("charlie")
    assert after.reserved == before.reserved - PRICE == 0
    assert after.free == before.free + PRICE - out.fee
    assert job_of(chain, job_id).status == JOB_CANCELLED
    assert storage.open_jobs.get(chain.view()) == 0
    assert list(storage.queue.items(chain.view())) == []
    assert list(storage.deadlines.items(chain.view())) == []
    assert_noop(chain, "charlie", "compute.cancel_job", job_id, error="JobNotOpen")


def test_cancel_after_assignment_is_refused() -> None:
    chain = make_chain()
    register(chain, "bob")
    # posted and cancelled in one block: the posting block never assigns, so the cancel goes through
    nonce = chain.account("charlie").nonce
    chain.run_block([post_xt(chain, "charlie"), chain.sign("charlie", "compute.cancel_job", 0, nonce=nonce + 1)])
    assert all(o.success for o in chain.last_result.outcomes)  # type: ignore[union-attr]
    assert job_of(chain, 0).status == JOB_CANCELLED
    assert provider_of(chain, "bob") == Provider(4, 0, 0)
    job_id = assigned_job(chain)
    assert_noop(chain, "charlie", "compute.cancel_job", job_id, error="AlreadyAssigned")
    assert chain.account("charlie").reserved == PRICE


# --- assignment ------------------------------------------------------------------------------------


def test_assignment_happens_in_the_block_after_posting() -> None:
    chain = make_chain()
    register(chain, "bob")
    job_id = post(chain)
    posted = chain.number
    assert job_of(chain, job_id).assignments == ()
    assert not [e for e in chain.events() if isinstance(e, events.JobAssigned)]
    chain.run_block([])
    window = param(chain, "compute.commit_window_slots")
    commit_by = chain.slot + window - 1
    assert job_of(chain, job_id).assignments == (
        Assignment(acct("bob"), PRICE, ASSIGNED, posted + 1, commit_by, commit_by + 1),  # no epochs: the next slot
    )
    assert events.JobAssigned(job_id, acct("bob"), PRICE, commit_by, commit_by + 1) in chain.events()
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=1, assigned=1, at_risk=1)
    assert list(storage.queue.items(chain.view())) == []  # fully assigned: out of the queue


def test_a_job_never_gets_the_same_provider_twice_and_waits_for_more() -> None:
    chain = make_chain(params={"compute.commit_window_slots": 20})  # bob and eve stay within their windows
    register(chain, "bob")
    register(chain, "eve")
    price = 10**17  # three portions of 1/3 of it, to the base unit
    job_id = post(chain, price=price, redundancy=3, deadline_ms=200_000)
    chain.run_block([])
    job = job_of(chain, job_id)
    third = 33_333_333_333_333_333
    assert sorted(a.provider for a in job.assignments) == sorted([acct("bob"), acct("eve")])
    assert [a.portion for a in job.assignments] == [third, third]
    assert [k for k, _ in storage.queue.items(chain.view())] == [storage.queue_key(False, job.rank, job_id)]
    skip(chain, 2)
    assert len(job_of(chain, job_id).assignments) == 2  # nobody else is eligible
    register(chain, "alice")
    chain.run_block([])
    assert [a.provider for a in job_of(chain, job_id).assignments][2] == acct("alice")
    assert [a.portion for a in job_of(chain, job_id).assignments] == [third, third, third + 1]  # the price exactly
    assert list(storage.queue.items(chain.view())) == []


def test_assignment_respects_capacity() -> None:
    chain = make_chain()
    register(chain, "bob", capacity=1)
    first, second = post(chain), post(chain)
    chain.run_block([])
    assert [a.provider for a in job_of(chain, first).assignments] == [acct("bob")]
    assert job_of(chain, second).assignments == ()
    assert provider_of(chain, "bob") == Provider(1, 0, 0, active=1, assigned=1, at_risk=1)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(first)
    assert_ok(bob.reveal(first))
    assert job_of(chain, second).assignments == ()  # capacity came back inside the reveal's block
    chain.run_block([])
    assert [a.provider for a in job_of(chain, second).assignments] == [acct("bob")]


def test_assignment_per_block_limit() -> None:
    chain = make_chain(params={"compute.max_assignments_per_block": 2})
    register(chain, "bob", capacity=8, bond=8 * FRAUD_SLASH)
    nonce = chain.account("charlie").nonce
    chain.run_block([post_xt(chain, "charlie", nonce=nonce + i) for i in range(3)])
    chain.run_block([])
    assert [len(job_of(chain, i).assignments) for i in range(3)] == [1, 1, 0]
    chain.run_block([])
    assert [len(job_of(chain, i).assignments) for i in range(3)] == [1, 1, 1]


def test_a_90_day_stakers_job_is_assigned_first_when_capacity_is_scarce() -> None:
    chain = make_chain()
    assert_ok(chain.submit("dave", "staking.stake", "90d", 5_000 * UNIT))
    register(chain, "bob", capacity=1)
    charlie_nonce, dave_nonce = chain.account("charlie").nonce, chain.account("dave").nonce
    # charlie's job comes first by id, dave's by priority
    chain.run_block([post_xt(chain, "charlie", nonce=charlie_nonce), post_xt(chain, "dave", nonce=dave_nonce)])
    plain, staker = job_of(chain, 0), job_of(chain, 1)
    assert (plain.requester, plain.priority) == (acct("charlie"), False)
    assert (staker.requester, staker.priority) == (acct("dave"), True)
    queue = [k for k, _ in storage.queue.items(chain.view())]
    assert queue == [storage.queue_key(True, staker.rank, 1), storage.queue_key(False, plain.rank, 0)]
    chain.run_block([])
    assert [a.provider for a in job_of(chain, 1).assignments] == [acct("bob")]
    assert job_of(chain, 0).assignments == ()


def test_assignment_is_weighted_by_bond_and_skips_providers_below_the_minimum() -> None:
    chain = make_chain(balances={"alice": 1_000, "bob": 10_000, "charlie": 100_000, "dave": 10_000, "eve": 10_000},
                       params={"compute.max_open_jobs_per_requester": 64})
    full = 64 * FRAUD_SLASH  # a bond for 64 open assignments
    register(chain, "bob", capacity=64, bond=full)
    register(chain, "dave", capacity=64, bond=3 * full)
    register(chain, "eve", capacity=64, bond=full)
    assert_ok(chain.submit("eve", "bonds.unbond", full - BOND + 1))  # eve's active bond falls below the minimum
    nonce = chain.account("charlie").nonce
    first = storage.next_job_id.get(chain.view())
    price = min_price(chain)
    chain.run_block([post_xt(chain, "charlie", price=price, nonce=nonce + i) for i in range(64)])
    chain.run_block([])
    randomness = consensus.randomness.get(chain.view())
    weights = sorted([(acct("bob"), full), (acct("dave"), 3 * full)])
    chosen = []
    for job_id in range(first, first + 64):
        (a,) = job_of(chain, job_id).assignments
        # the draw: blake2b("btt-assign" || randomness || job id || k) mod the total bond, walked in account order
        draw = blake2b_256(b"btt-assign" + randomness + job_id.to_bytes(8, "big") + bytes([0]))
        point = int.from_bytes(draw, "big") % (4 * full)
        expected = weights[0][0] if point < weights[0][1] else weights[1][0]
        assert a.provider == expected
        chosen.append(a.provider)
    bob, dave = chosen.count(acct("bob")), chosen.count(acct("dave"))
    assert bob + dave == 64 and acct("eve") not in chosen
    assert 40 <= dave <= 56  # a bond three times bob's is drawn about three times as often (48 expected)


# --- an honest provider is paid -------------------------------------------------------------------


def test_honest_provider_is_paid_and_the_payment_split_and_burned_to_the_base_unit() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    bob = Worker(chain, "bob")
    commit_block = chain.number + 1
    out = bob.commit(job_id)
    assert_ok(out)
    sample_from = job_of(chain, job_id).assignments[0].sample_from_slot
    assert_last_event(chain, events.ResultCommitted(job_id, acct("bob"), sample_from))
    a = job_of(chain, job_id).assignments[0]
    assert (a.state, a.commitment, a.commit_block, a.sample_seed) == (COMMITTED, bob.commitment(job_id), commit_block,
                                                                       ZERO_HASH)
    assert chain.last_result is not None and chain.last_result.receipts_root == EMPTY_MERKLE_ROOT
    while chain.slot < sample_from:
        assert bob.sample(job_id) == ()
        chain.run_block([])
    assert bob.sample(job_id) == (0, 1, 2, 3)  # 4 items, a sample of 8: all of them

    charlie0, bob0, issued0 = chain.account("charlie"), chain.account("bob"), issuance(chain)
    pots0 = {who: free(chain, who) for who in (DEV, FOUNDATION, RESERVE)}
    out = bob.reveal(job_id)
    assert_ok(out)
    # verified, not yet paid: the challenge window runs first
    a = job_of(chain, job_id).assignments[0]
    assert (a.state, a.output_root, a.matures_ms) == (VERIFIED, bob.root(job_id), now(chain) + WINDOW)
    assert events.SampleVerified(job_id, acct("bob"), bob.root(job_id), now(chain) + WINDOW) in chain.events()
    assert_last_event(chain, events.JobClosed(job_id, JOB_DONE, 0))
    assert chain.account("charlie").reserved == PRICE and chain.account("bob").free == bob0.free - out.fee
    assert chain.last_result is not None and chain.last_result.receipts == []
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=0, assigned=1, completed=0, at_risk=1)
    fee_to_development = out.fee - out.fee * 5_000 // BPS - out.fee * 3_000 // BPS
    close_window(chain, job_id)
    assert chain.account("charlie").reserved == charlie0.reserved - PRICE == 0
    assert chain.account("charlie").free == charlie0.free
    assert chain.account("bob").free == bob0.free + TO_PROVIDER - out.fee
    assert free(chain, DEV) == pots0[DEV] + TO_DEVELOPMENT + fee_to_development
    assert free(chain, FOUNDATION) == pots0[FOUNDATION] + TO_FOUNDATION
    assert free(chain, RESERVE) == pots0[RESERVE] + TO_RESERVE
    assert issuance(chain) == issued0 - BURNED
    assert BURNED + TO_PROVIDER + TO_DEVELOPMENT + TO_FOUNDATION + TO_RESERVE == PRICE
    assert TO_RESERVE == (PRICE - BURNED) * 500 // BPS + 2  # the rounding dust
    receipt = events.JobReceipt(job_id, acct("bob"), MODEL, 4, bob.root(job_id), PRICE, BURNED, TO_PROVIDER, 4 * MACS)
    assert receipt in chain.events()
    job = job_of(chain, job_id)
    assert job.status == JOB_DONE
    assert (job.assignments[0].state, job.assignments[0].output_root) == (SETTLED, bob.root(job_id))
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=0, assigned=1, completed=1)
    assert storage.open_jobs.get(chain.view()) == 0
    assert list(storage.maturing.items(chain.view())) == []
    # the receipt is the block's only work proof; its root goes into the header
    assert chain.last_result is not None
    assert chain.last_result.receipts == [receipt]
    assert chain.last_result.receipts_root == merkle_root([receipt.encode()]) != EMPTY_MERKLE_ROOT
    chain.run_block([])
    assert chain.last_result.receipts_root == EMPTY_MERKLE_ROOT


def test_split_of_the_default_rates() -> None:
    chain = make_chain()
    ex = chain.begin_block()
    assert settlement.split(ex.ctx, PRICE) == (BURNED, TO_PROVIDER, TO_DEVELOPMENT, TO_FOUNDATION, TO_RESERVE)
    assert settlement.split(ex.ctx, 1) == (0, 0, 0, 0, 1)
    assert settlement.split(ex.ctx, 0) == (0, 0, 0, 0, 0)
    chain.end_block()


def test_two_receipts_in_one_block_make_the_receipts_root() -> None:
    chain = make_chain()
    register(chain, "bob")
    register(chain, "eve")
    job_id = post(chain, price=1_000 * UNIT + 1, redundancy=2)
    chain.run_block([])
    workers = [Worker(chain, "bob"), Worker(chain, "eve")]
    nonces = [chain.account(w.name).nonce for w in workers]
    chain.run_block([chain.sign(w.name, "compute.commit_result", job_id, w.commitment(job_id)) for w in workers])
    until_sampled(chain, job_id)
    chain.run_block([
        chain.sign(w.name, "compute.reveal_result", *w.reveal_args(job_id), nonce=n + 1)
        for w, n in zip(workers, nonces, strict=True)
    ])
    assert job_of(chain, job_id).status == JOB_DONE
    close_window(chain, job_id)
    assert chain.last_result is not None
    receipts = chain.last_result.receipts
    paid = {r.provider: r.payment for r in receipts}  # type: ignore[attr-defined]
    assert paid == {acct("bob"): 500 * UNIT, acct("eve"): 500 * UNIT + 1}
    assert chain.last_result.receipts_root == merkle_root([r.encode() for r in receipts])
    assert job_of(chain, job_id).status == JOB_DONE


# --- fraud ------------------------------------------------------------------------------------------


def test_a_faked_sampled_item_is_fraud_the_bond_is_slashed_and_the_requester_refunded() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    cheat = Worker(chain, "bob", fake=frozenset({2}))
    cheat.commit_and_wait(job_id)
    assert 2 in cheat.sample(job_id)
    charlie0, bob0, issued0 = chain.account("charlie"), chain.account("bob"), issuance(chain)
    out = cheat.reveal(job_id)
    assert_ok(out)  # the verdict is a successful call: the fraud proof is on chain
    slashed = FRAUD_SLASH
    assert slashed == 25 * UNIT
    assert events.FraudDetected(job_id, acct("bob"), 2, slashed, PRICE) in chain.events()
    assert bond_events.BondSlashed(acct("bob"), slashed, 0) in chain.events()
    assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]
    assert ledger(chain, "bob") == BondLedger(BOND - slashed, ())
    assert chain.account("bob").reserved == bob0.reserved - slashed
    assert chain.account("bob").free == bob0.free - out.fee
    # the escrow came back and went straight into the same work posted again for another provider (`reassign`)
    new_id = storage.next_job_id.get(chain.view()) - 1
    assert events.JobReassigned(job_id, acct("bob"), new_id) in chain.events()
    assert job_of(chain, new_id).price == PRICE and job_of(chain, new_id).status == JOB_OPEN
    assert chain.account("charlie").reserved == charlie0.reserved == PRICE
    assert chain.account("charlie").free == charlie0.free
    assert issuance(chain) == issued0 - slashed
    assert chain.last_result is not None and chain.last_result.receipts_root == EMPTY_MERKLE_ROOT
    job = job_of(chain, job_id)
    assert (job.status, job.assignments[0].state) == (JOB_DONE, FRAUD)
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=0, assigned=1, frauds=1)
    assert list(storage.pending_credit.items(chain.view())) == []


def test_fraud_slash_is_fixed_and_an_assignment_holds_it_in_the_bond() -> None:
    chain = make_chain(params={"compute.commit_window_slots": 10})
    job_id = assigned_job(chain)
    # bob sees the job and tries to unbond everything before he fakes: the slash his assignment may cost stays
    assert_noop(chain, "bob", "bonds.unbond", BOND, error="BelowMinimum")
    assert_noop(chain, "bob", "bonds.unbond", BOND - FRAUD_SLASH + 1, error="BelowMinimum")
    assert_ok(chain.submit("bob", "bonds.unbond", BOND - FRAUD_SLASH))
    cheat = Worker(chain, "bob", fake=frozenset({0, 1, 2, 3}))
    cheat.commit_and_wait(job_id)
    issued0 = issuance(chain)
    assert_ok(cheat.reveal(job_id))
    assert events.FraudDetected(job_id, acct("bob"), 0, FRAUD_SLASH, PRICE) in chain.events()
    assert issuance(chain) == issued0 - FRAUD_SLASH  # the whole fixed slash, not a share of what is left
    led = ledger(chain, "bob")
    assert led is not None and (led.active, led.unlocking_total) == (0, BOND - FRAUD_SLASH)
    assert provider_of(chain, "bob").at_risk == 0  # type: ignore[union-attr]


# --- commit and reveal refusals --------------------------------------------------------------------


def test_commit_refusals_change_nothing() -> None:
    chain = make_chain(params={"compute.commit_window_slots": 10})
    register(chain, "eve")
    register(chain, "bob", capacity=1)
    # eve holds one job; bob is not assigned to it
    job_id = post(chain)
    chain.run_block([])
    holder = job_of(chain, job_id).assignments[0].provider
    other = "bob" if holder == acct("eve") else "eve"
    worker = Worker(chain, "eve" if holder == acct("eve") else "bob")
    c = worker.commitment(job_id)
    assert_noop(chain, "charlie", "compute.commit_result", job_id, c, error="NotAssigned")
    assert_noop(chain, other, "compute.commit_result", job_id, c, error="NotAssigned")
    assert_noop(chain, worker.name, "compute.commit_result", 99, c, error="UnknownJob")
    stub = (job_id, b"\x01" * 32, SALT, ())
    assert_noop(chain, worker.name, "compute.reveal_result", *stub, error="WrongState")  # nothing committed yet
    worker.commit_and_wait(job_id)
    assert_noop(chain, worker.name, "compute.commit_result", job_id, c, error="WrongState")


def test_commit_after_the_deadline_is_refused() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    job = job_of(chain, job_id)
    bob = Worker(chain, "bob")
    while 1_000_000 + (chain.number + 1) * SLOT_MS < job.deadline_ms:
        chain.run_block([])
    # the block at the deadline expires the job before any extrinsic runs
    out = chain.submit("bob", "compute.commit_result", job_id, bob.commitment(job_id))
    assert not out.success and "JobNotOpen" in (out.error or "")
    assert now(chain) == job.deadline_ms and job_of(chain, job_id).status == JOB_EXPIRED
    assert_noop(chain, "bob", "compute.commit_result", job_id, bob.commitment(job_id), error="JobNotOpen")


def test_reveal_refusals_change_nothing() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=12)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(job_id)
    good = bob.reveal_args(job_id)
    _, root, salt, openings = good
    sample = bob.sample(job_id)
    assert len(sample) == 8 and len(openings) == 8

    def refused(*args: object, error: str, who: str = "bob") -> None:
        assert_noop(chain, who, "compute.reveal_result", *args, error=error)

    refused(*good, who="charlie", error="NotAssigned")
    refused(99, root, salt, openings, error="UnknownJob")
    refused(job_id, root, b"\x00" * 32, openings, error="CommitmentMismatch")
    refused(job_id, b"\x01" * 32, salt, openings, error="CommitmentMismatch")
    refused(job_id, root, salt, openings[:-1], error="BadOpenings")  # one item short
    refused(job_id, root, salt, openings + openings[:1], error="BadOpenings")  # one too many
    refused(job_id, root, salt, tuple(reversed(openings)), error="BadOpenings")  # out of order
    inputs, outputs = bob.items(job_id)
    unsampled = next(i for i in range(12) if i not in sample)
    li, lo = merkle_levels(inputs), merkle_levels(outputs)
    swapped = Opening(unsampled, inputs[unsampled], outputs[unsampled], merkle_proof(li, unsampled),
                      merkle_proof(lo, unsampled))
    refused(job_id, root, salt, (swapped, *openings[1:]), error="BadOpenings")  # a valid opening, wrong index
    first = openings[0]
    bad_path = (blake2b_256(b"x"), *first.input_proof[1:])
    refused(job_id, root, salt, (first.replace(input_proof=bad_path), *openings[1:]), error="BadOpenings")
    bad_path = (blake2b_256(b"x"), *first.output_proof[1:])
    refused(job_id, root, salt, (first.replace(output_proof=bad_path), *openings[1:]), error="BadOpenings")
    refused(job_id, root, salt, (first.replace(input_proof=first.input_proof[:-1]), *openings[1:]),
            error="BadOpenings")
    other = inputs[unsampled]
    refused(job_id, root, salt, (first.replace(input=other), *openings[1:]), error="BadOpenings")
    refused(job_id, root, salt, (first.replace(input=first.input[:-1]), *openings[1:]), error="BadOpenings")
    # after all of that the honest reveal still settles
    assert job_of(chain, job_id).assignments[0].state == COMMITTED
    assert_ok(bob.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == VERIFIED


def test_reveal_before_the_sample_is_fixed() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    bob = Worker(chain, "bob")
    assert_ok(bob.commit(job_id))
    a = job_of(chain, job_id).assignments[0]
    assert a.sample_from_slot == a.commit_by_slot + 1 > chain.slot + 1  # a chain without epochs: after the window
    assert_last_event(chain, events.ResultCommitted(job_id, acct("bob"), a.sample_from_slot))
    args = (job_id, bob.root(job_id), SALT, ())
    while chain.slot + 1 < a.sample_from_slot:
        assert_noop(chain, "bob", "compute.reveal_result", *args, error="SampleNotFixed")
        assert job_of(chain, job_id).assignments[0].sample_seed == ZERO_HASH
    chain.run_block([])  # the first block at the sample start fixes it
    assert bob.sample(job_id) == (0, 1, 2, 3)
    assert_ok(bob.reveal(job_id))


def test_a_commit_after_its_window_is_refused_and_the_job_goes_back_to_the_market() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    bob = Worker(chain, "bob")
    a = job_of(chain, job_id).assignments[0]
    run_to(chain, a.commit_by_slot)
    chain.run_block([])  # the first block after the window starts with the stall
    assert events.AssignmentStalled(job_id, acct("bob"), STALL_FEE) in chain.events()
    assert_noop(chain, "bob", "compute.commit_result", job_id, bob.commitment(job_id), error="CommitWindowClosed")
    job = job_of(chain, job_id)
    assert job.assignments[0].state == STALLED and job.vacant() == [0] and job.status == JOB_OPEN
    assert [k for k, _ in storage.queue.items(chain.view())] == [storage.queue_key(False, job.rank, job_id)]


def test_a_commit_in_the_last_slot_of_its_window_is_accepted() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    a = job_of(chain, job_id).assignments[0]
    run_to(chain, a.commit_by_slot - 1)
    assert_ok(Worker(chain, "bob").commit(job_id))
    assert chain.slot == a.commit_by_slot


def test_commit_and_reveal_in_one_block_is_refused() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    bob = Worker(chain, "bob")
    nonce = chain.account("bob").nonce
    chain.run_block([
        chain.sign("bob", "compute.commit_result", job_id, bob.commitment(job_id), nonce=nonce),
        chain.sign("bob", "compute.reveal_result", job_id, bob.root(job_id), SALT, (), nonce=nonce + 1),
    ])
    assert chain.last_result is not None
    commit, reveal = chain.transaction_outcomes()
    assert commit.success and not reveal.success and "SampleNotFixed" in (reveal.error or "")


def test_on_a_one_validator_chain_the_sample_comes_from_the_randomness_of_the_first_block_at_its_start() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=100)
    assert_ok(Worker(chain, "bob").commit(job_id))
    start = job_of(chain, job_id).assignments[0].sample_from_slot
    run_to(chain, start - 1)
    assert job_of(chain, job_id).assignments[0].sample_seed == ZERO_HASH
    chain.run_block([])
    randomness = consensus.randomness.get(chain.view())
    a = job_of(chain, job_id).assignments[0]
    assert a.sample_seed == sample_fix.sample_seed(randomness, job_id, acct("bob"))
    assert list(storage.sample_waiting.items(chain.view())) == []
    assert storage.samples_waiting.get(chain.view()) == 0


# --- deadlines -----------------------------------------------------------------------------------------


def run_to_deadline(chain: TestChain, job_id: int) -> None:
    """Run empty blocks up to the first one whose timestamp reaches the job's deadline."""
    deadline = job_of(chain, job_id).deadline_ms
    while 1_000_000 + (chain.number + 2) * SLOT_MS <= deadline:
        chain.run_block([])
    assert job_of(chain, job_id).status == JOB_OPEN
    chain.run_block([])
    assert now(chain) == deadline


def test_a_provider_that_never_commits_stalls_pays_its_fee_and_the_requester_is_refunded() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    charlie0, issued0 = chain.account("charlie"), issuance(chain)
    run_to(chain, job_of(chain, job_id).assignments[0].commit_by_slot + 1)
    assert events.AssignmentStalled(job_id, acct("bob"), STALL_FEE) in chain.events()
    run_to_deadline(chain, job_id)  # bob alone serves: nobody else can take its place
    assert_last_event(chain, events.JobClosed(job_id, JOB_EXPIRED, PRICE))
    assert chain.account("charlie").reserved == charlie0.reserved - PRICE == 0
    assert chain.account("charlie").free == charlie0.free + PRICE
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=0, assigned=1, stalled=1)
    assert provider_of(chain, "bob").on_time_bps() == 0  # type: ignore[union-attr]
    assert ledger(chain, "bob") == BondLedger(BOND - STALL_FEE, ())  # the fee, burned
    assert issuance(chain) == issued0 - STALL_FEE
    job = job_of(chain, job_id)
    assert (job.status, job.assignments[0].state) == (JOB_EXPIRED, STALLED)
    assert storage.open_jobs.get(chain.view()) == 0
    assert list(storage.deadlines.items(chain.view())) == []


def test_a_provider_that_withholds_its_reveal_is_slashed() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    cheat = Worker(chain, "bob", fake=frozenset({1}))
    cheat.commit_and_wait(job_id)
    assert 1 in cheat.sample(job_id)  # caught if it reveals: it keeps quiet instead
    charlie0, issued0 = chain.account("charlie"), issuance(chain)
    run_to_deadline(chain, job_id)
    # at the deadline: the requester's refund, and a late-reveal time the cheat cannot use
    reveal_by = job_of(chain, job_id).deadline_ms + LATE_REVEAL
    assert events.DeadlineMissed(job_id, acct("bob"), PRICE, 0) in chain.events()
    assert events.RevealOverdue(job_id, acct("bob"), reveal_by) in chain.events()
    assert_last_event(chain, events.JobClosed(job_id, JOB_EXPIRED, PRICE))
    assert job_of(chain, job_id).assignments[0].state == LATE
    assert chain.account("charlie").free == charlie0.free + PRICE
    while now(chain) < reveal_by:
        chain.run_block([])
    slashed = WITHHELD_SLASH
    assert slashed == 25 * UNIT
    assert events.RevealWithheld(job_id, acct("bob"), slashed) in chain.events()
    assert ledger(chain, "bob") == BondLedger(BOND - slashed, ())
    assert issuance(chain) == issued0 - slashed
    assert chain.account("charlie").free == charlie0.free + PRICE
    assert provider_of(chain, "bob") == Provider(4, 0, 0, active=0, assigned=1, failed=1)
    assert job_of(chain, job_id).assignments[0].state == MISSED
    assert_noop(chain, "bob", "compute.reveal_result", *cheat.reveal_args(job_id), error="JobNotOpen")


def test_an_unassigned_job_expires_with_a_full_refund_and_a_partial_one_with_the_rest() -> None:
    chain = make_chain(params={"compute.challenge_window_ms": 30_000})
    lonely = post(chain, deadline_ms=SHORT)
    run_to_deadline(chain, lonely)
    assert_last_event(chain, events.JobClosed(lonely, JOB_EXPIRED, PRICE))
    assert chain.account("charlie").reserved == 0
    # redundancy 2 with one provider: bob's half settles, the unassigned half comes back at the deadline
    price = 10**17 + 1
    job_id = assigned_job(chain, price=price, redundancy=2, deadline_ms=SHORT)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(job_id)
    assert_ok(bob.reveal(job_id))
    assert job_of(chain, job_id).status == JOB_OPEN
    assert chain.account("charlie").reserved == price
    half = price // 2
    # a redundant job's verified half is paid no earlier than the deadline, in the block that closes the job
    a = job_of(chain, job_id).assignments[0]
    assert a.matures_ms == max(now(chain) + 30_000, job_of(chain, job_id).deadline_ms)
    run_to_deadline(chain, job_id)
    assert_last_event(chain, events.JobClosed(job_id, JOB_EXPIRED, half + 1))
    assert not [e for e in chain.events() if isinstance(e, events.DeadlineMissed)]
    assert chain.account("charlie").reserved == half  # bob's half waits for its challenge window
    close_window(chain, job_id)
    assert [e.payment for e in chain.events() if isinstance(e, events.JobReceipt)] == [half]
    assert chain.account("charlie").reserved == 0


# --- work credit -----------------------------------------------------------------------------------


def test_credit_is_the_work_done_capped_by_the_burn() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=4)
    assert_ok(Worker(chain, "bob").work(job_id))
    mature = now(chain) + MATURITY
    assert list(storage.pending_credit.items(chain.view())) == [
        (storage.pending_credit_key(mature, job_id, acct("bob")), PendingCredit(4 * MACS, BURNED))
    ]
    # a cheap job at the price floor, with one burned BTT backing 10^6 multiply-accumulates: its 2% burn backs
    # fewer than the 2,112 done
    chain.dispatch(GOVERNANCE, "params.set_parameter", "compute.credit_per_btt_burned", 10**6)
    price = min_price(chain)
    burned = price * 200 // BPS
    cap = burned * 10**6 // UNIT
    assert 0 < cap < 4 * MACS
    cheap = assigned_job(chain, items=4, price=price)
    assert_ok(Worker(chain, "bob").work(cheap))
    receipt = next(e for e in chain.events() if isinstance(e, events.JobReceipt))
    assert (receipt.payment, receipt.burned, receipt.credit) == (price, burned, cap)
    assert storage.pending_credit.get(
        chain.view(), storage.pending_credit_key(now(chain) + MATURITY, cheap, acct("bob"))
    ) == PendingCredit(cap, burned)
    # a price too small to burn anything cannot be posted at all: it would not cover the providers' fees
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, 49, 1, DEADLINE, error="PriceTooLow")


def mining_chain(**params: int) -> TestChain:
    """10-slot epochs (10 s), a pool of 1,000 BTT emitted over 10 epochs: 100 BTT each. The challenge window is
    the shortest allowed (1 s: paid in the block after the reveal), so these tests follow credit and rewards."""
    return make_chain(
        epoch_slots=10,
        mining_periods=((100_000, 1_000),),
        module_balances={"mining_pool": (1_000, 0)},
        params={"compute.challenge_window_ms": 1_000, **params},
    )


def first_epoch_at(ms: int, epoch_slots: int = 10) -> int:
    """The first epoch whose first slot's time is at or after `ms` (test chains: slot n at 1,000,000 + n s)."""
    return -(-(ms - 1_000_000) // (epoch_slots * SLOT_MS))


def test_credit_matures_after_the_window_at_an_epoch_boundary() -> None:
    chain = mining_chain()
    job_id = assigned_job(chain)
    assert_ok(Worker(chain, "bob").work(job_id))
    epoch = first_epoch_at(now(chain) + MATURITY)  # the first boundary after the credit matured
    assert epoch * 10 > chain.number + 1
    run_to(chain, epoch * 10 - 10)  # an earlier epoch starts: not matured yet
    assert storage.credit_history.get(chain.view(), acct("bob")) is None
    assert len(list(storage.pending_credit.items(chain.view()))) == 1
    run_to(chain, epoch * 10 - 1)
    assert storage.credit_history.get(chain.view(), acct("bob")) is None
    chain.run_block([])  # this block starts the epoch: the credit matured during the one before
    assert list(storage.pending_credit.items(chain.view())) == []
    e = epoch - 1
    assert storage.credit_history.get(chain.view(), acct("bob")) == (CreditBucket(e, 4 * MACS),)
    window = param(chain, "consensus.work_window_epochs")
    assert credit.recent_credit(chain.view(), acct("bob"), e, window) == 4 * MACS
    assert credit.recent_credit(chain.view(), acct("bob"), e - 1, window) == 0
    assert credit.recent_credit(chain.view(), acct("bob"), e + window, window) == 0  # out of the window
    assert credit.recent_credit(chain.view(), acct("eve"), 1, window) == 0
    rewarded = [e for e in chain.events() if isinstance(e, events.MiningRewarded)]
    assert rewarded and rewarded[0].credit == 4 * MACS


def test_credit_history_keeps_only_the_work_window() -> None:
    chain = mining_chain(**{"consensus.work_window_epochs": 1, "compute.credit_maturity_ms": 0})
    register(chain, "bob")
    epochs = []
    for _ in range(2):
        job_id = post(chain, price=1_000 * UNIT)
        chain.run_block([])
        assert_ok(Worker(chain, "bob").work(job_id))
        epochs.append(run_to_epoch_start(chain))
        # the older bucket left the 1-epoch window
        assert storage.credit_history.get(chain.view(), acct("bob")) == (CreditBucket(epochs[-1] - 1, 4 * MACS),)
    assert epochs[1] > epochs[0]


# --- mining rewards --------------------------------------------------------------------------------


def epoch_events(chain: TestChain) -> list[events.MiningEpoch]:
    return [e for e in chain.events() if isinstance(e, events.MiningEpoch)]


def score(credit_: int, on_time: int, region: int, energy: int) -> int:
    return credit_ * on_time * region * energy


def test_mining_rewards_follow_region_energy_and_on_time_and_stay_within_the_emission() -> None:
    chain = mining_chain(**{"compute.missed_pause_ms": 0})  # dave is drawn again right after his miss
    # dave: remote (1.5x), energy class A (1.2x), but he lets one job run out first (on time 50%)
    register(chain, "dave", capacity=4, region=2, energy=0, bond=BOND + UNIT)  # the miss's fee leaves it above
    shortest = assignment.min_deadline_ms(chain.view())
    missed = post(chain, price=UNIT, deadline_ms=shortest)
    run_to_deadline(chain, missed)
    assert provider_of(chain, "dave") == Provider(4, 2, 0, active=0, assigned=1, stalled=1)
    # bob: standard region, energy class C (1.0x)
    register(chain, "bob", capacity=4, region=0, energy=2)
    job_id = post(chain, price=80_000 * UNIT, redundancy=2, deadline_ms=shortest)  # paid at the deadline
    chain.run_block([])
    nonces = {n: chain.account(n).nonce for n in ("bob", "dave")}
    workers = [Worker(chain, "bob"), Worker(chain, "dave")]
    chain.run_block([chain.sign(w.name, "compute.commit_result", job_id, w.commitment(job_id)) for w in workers])
    until_sampled(chain, job_id)
    chain.run_block([
        chain.sign(w.name, "compute.reveal_result", *w.reveal_args(job_id), nonce=nonces[w.name] + 1) for w in workers
    ])
    assert job_of(chain, job_id).status == JOB_DONE
    close_window(chain, job_id)
    assert provider_of(chain, "dave").on_time_bps() == 5_000  # type: ignore[union-attr]
    assert provider_of(chain, "bob").on_time_bps() == 10_000  # type: ignore[union-attr]
    burned_each = 40_000 * UNIT * 200 // BPS  # 800 BTT each: caps of 640 BTT do not bind
    # credit matures at the first epoch boundary at least 10 s after the payment
    boundary = first_epoch_at(now(chain) + MATURITY) * 10
    run_to(chain, boundary - 1)
    assert storage.held_back.get(chain.view()) == (boundary // 10 - 1) * 100 * UNIT  # no claims before
    pool0, bob0, dave0, issued0 = free(chain, POOL), free(chain, "bob"), free(chain, "dave"), issuance(chain)
    chain.run_block([])
    epoch = boundary // 10
    budget = epoch * 100 * UNIT  # everything emitted so far: nothing was paid before
    scores = {
        "bob": score(4 * MACS, 10_000, 10_000, 10_000),
        "dave": score(4 * MACS, 5_000, 15_000, 12_000),  # 0.9x bob
    }
    total = sum(scores.values())
    pay = {n: budget * s // total for n, s in scores.items()}
    assert abs(pay["dave"] * 10 - pay["bob"] * 9) <= 10  # 0.9x, to the floor-rounding of each share
    assert all(p <= burned_each * CAP_BPS // BPS for p in pay.values())
    paid = pay["bob"] + pay["dave"]
    assert_last_event(chain, events.MiningEpoch(epoch, budget, paid, budget - paid))
    assert events.MiningRewarded(acct("bob"), pay["bob"], 4 * MACS) in chain.events()
    assert events.MiningRewarded(acct("dave"), pay["dave"], 4 * MACS) in chain.events()
    assert free(chain, "bob") == bob0 + pay["bob"]
    assert free(chain, "dave") == dave0 + pay["dave"]
    assert free(chain, POOL) == pool0 - paid
    assert issuance(chain) == issued0  # moved, never minted
    assert storage.held_back.get(chain.view()) == budget - paid
    assert storage.total_rewarded.get(chain.view()) == paid
    assert storage.rewarded_epochs.get(chain.view()) == epoch
    assert list(storage.epoch_credit.items(chain.view())) == []
    # the next epoch: the rounding dust held back and one more epoch of emission, no claims
    run_to(chain, boundary + 10)
    more = 100 * UNIT if epoch + 1 <= 10 else 0  # the schedule emits over 10 epochs
    assert epoch_events(chain) == [events.MiningEpoch(epoch + 1, budget - paid + more, 0, budget - paid + more)]
    emitted = min(epoch + 1, 10) * 100 * UNIT
    assert storage.total_rewarded.get(chain.view()) + storage.held_back.get(chain.view()) == emitted


def test_the_reward_cap_holds_back_and_rolls_forward() -> None:
    chain = mining_chain(**{"compute.credit_maturity_ms": 0})
    job_id = assigned_job(chain, price=1_000 * UNIT)  # burns 20 BTT: the reward is capped at 16 BTT
    assert_ok(Worker(chain, "bob").work(job_id))
    epoch = first_epoch_at(now(chain) + 1)
    run_to(chain, epoch * 10 - 1)
    bob0, pool0, held0 = free(chain, "bob"), free(chain, POOL), storage.held_back.get(chain.view())
    assert held0 == (epoch - 1) * 100 * UNIT  # every earlier epoch's emission, unclaimed
    chain.run_block([])  # this block starts the epoch: the credit is claimed
    cap = 20 * UNIT * CAP_BPS // BPS
    assert cap == 16 * UNIT
    budget = held0 + 100 * UNIT
    assert_last_event(chain, events.MiningEpoch(epoch, budget, cap, budget - cap))
    assert free(chain, "bob") == bob0 + cap
    assert free(chain, POOL) == pool0 - cap
    assert storage.held_back.get(chain.view()) == budget - cap
    run_to(chain, epoch * 10 + 10)
    assert epoch_events(chain) == [events.MiningEpoch(epoch + 1, budget - cap + 100 * UNIT, 0,
                                                      budget - cap + 100 * UNIT)]
    assert free(chain, POOL) == pool0 - cap


def test_nothing_is_paid_beyond_the_emission_schedule() -> None:
    # two epochs of 1 BTT each; a job burning 20 BTT could earn 16 BTT: the schedule is the limit
    chain = make_chain(
        epoch_slots=10,
        mining_periods=((20_000, 2),),
        module_balances={"mining_pool": (2, 0)},
        params={"compute.credit_maturity_ms": 0, "compute.challenge_window_ms": 1_000},
    )
    job_id = assigned_job(chain, price=1_000 * UNIT)
    assert_ok(Worker(chain, "bob").work(job_id))
    epoch = run_to_epoch_start(chain)
    assert epoch > 2  # both epochs of emission are out, and unclaimed until now
    assert_last_event(chain, events.MiningEpoch(epoch, 2 * UNIT, 2 * UNIT, 0))
    job_id = post(chain, price=1_000 * UNIT)
    chain.run_block([])
    assert_ok(Worker(chain, "bob").work(job_id))
    epoch = run_to_epoch_start(chain)
    assert_last_event(chain, events.MiningEpoch(epoch, 0, 0, 0))
    assert free(chain, POOL) == 0
    assert storage.total_rewarded.get(chain.view()) == 2 * UNIT


def test_self_dealing_never_earns_back_what_it_burned() -> None:
    chain = mining_chain(**{"compute.credit_maturity_ms": 0})
    register(chain, "dave", capacity=8, bond=8 * FRAUD_SLASH)
    total_burned = total_paid_out = 0
    for price in (1_000 * UNIT, 10 * UNIT + 7):
        job_id = post(chain, "dave", price=price)  # dave is the only provider: his jobs go to himself
        chain.run_block([])
        assert job_of(chain, job_id).assignments[0].provider == acct("dave")
        assert_ok(Worker(chain, "dave").work(job_id))
        receipt = next(e for e in chain.events() if isinstance(e, events.JobReceipt))
        total_burned += receipt.burned
        total_paid_out += price - receipt.burned - receipt.provider_paid  # to the funds
    run_to_epoch_start(chain)
    assert not list(storage.pending_credit.items(chain.view()))
    reward = storage.total_rewarded.get(chain.view())  # dave is the only one with credit
    assert reward == total_burned * CAP_BPS // BPS < total_burned  # both rewards hit the cap
    # round trip: what dave paid minus what came back to him is the burn and the funds' shares, less the reward
    assert total_burned + total_paid_out - reward > 0


# --- models: registration by governance or by an owner with a deposit ------------------------------

SMALL = dense_model("tiny-triage-v1", (16, 8, 3))


def test_governance_registers_a_model_that_jobs_can_then_use() -> None:
    chain = make_chain()
    chain.dispatch(GOVERNANCE, "compute.register_model", SMALL)
    h = model_hash(SMALL)
    assert_last_event(chain, events.ModelRegistered(h, "tiny-triage-v1", SMALL.weights_hash, SMALL.weights_size,
                                                    ZERO_HASH, 0))
    assert storage.models.get(chain.view(), h) == RegisteredModel(SMALL, macs_per_item(SMALL))
    assert macs_per_item(SMALL) == 16 * 8 + 8 + 8 * 3
    job_id = assigned_job(chain, model=h, items=3)
    assert job_of(chain, job_id).input_root == input_root(synthetic_inputs(SEED, 3, 16))
    assert_ok(Worker(chain, "bob").work(job_id))
    receipt = next(e for e in chain.events() if isinstance(e, events.JobReceipt))
    assert (receipt.model, receipt.credit) == (h, 3 * macs_per_item(SMALL))


def test_an_owner_registers_a_model_reserving_a_deposit_by_size() -> None:
    chain = make_chain()
    base, per_kib = (get_param(chain.view(), f"compute.model_deposit_{n}") for n in ("base", "per_kib"))
    deposit = base + (SMALL.weights_size + 1023) // 1024 * per_kib
    before = chain.account("dave")
    assert_ok(chain.submit("dave", "compute.register_model", SMALL))
    after = chain.account("dave")
    assert after.reserved - before.reserved == deposit
    h = model_hash(SMALL)
    assert storage.models.get(chain.view(), h) == RegisteredModel(SMALL, macs_per_item(SMALL), acct("dave"), deposit)
    assert any(e == events.ModelRegistered(h, SMALL.name, SMALL.weights_hash, SMALL.weights_size, acct("dave"),
                                           deposit) for e in chain.events())


def test_owner_registration_refused_where_governance_only_or_unfunded() -> None:
    chain = make_chain(params={"compute.model_registration": 0})
    assert_noop(chain, "dave", "compute.register_model", SMALL, error="RegistrationClosed")
    chain = make_chain(params={"compute.model_deposit_base": 10**30})
    assert_noop(chain, "dave", "compute.register_model", SMALL, error="InsufficientBalance")


def test_duplicate_invalid_or_oversized_models_are_refused() -> None:
    chain = make_chain()
    assert_dispatch_noop(chain, GOVERNANCE, "compute.register_model", reference_spec("breast-cancer-v1"),
                         error="ModelExists")
    bad_layers = (
        SMALL.replace(name=""),  # no name
        SMALL.replace(input_shape=(16, 2)),  # neither (features,) nor (c, h, w)
        SMALL.replace(input_shape=(2000,)),  # an input item over 1,024 values
        SMALL.replace(layers=(LayerSpec(DENSE, 0),)),  # zero width
        SMALL.replace(labels=("a", "b")),  # 2 labels for 3 classes
        SMALL.replace(weights_size=3),  # shorter than its tensors
        SMALL.replace(layers=(LayerSpec(FLATTEN), LayerSpec(DENSE, 3))),  # flatten of a vector is allowed ...
    )
    for spec in bad_layers[:-1]:
        assert_dispatch_noop(chain, GOVERNANCE, "compute.register_model", spec, error="BadModel")
    too_big = make_chain(params={"compute.max_model_bytes": 1024})
    big = dense_model("over-a-kib", (64, 32, 3))
    assert big.weights_size > 1024
    assert_dispatch_noop(too_big, GOVERNANCE, "compute.register_model", big, error="BadModel")
    assert_noop(too_big, "dave", "compute.register_model", big, error="BadModel")
