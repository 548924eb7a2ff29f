"""Attacks on the work proof, round 2 (issue 24), each asserting that it fails, with state unchanged where a call
is refused:

1. outputs posted too late to challenge: refused after their due time (they count as withheld), and outputs
   posted in the last block before it still give challengers a full window; in a dispute on a job with the
   requester's own inputs, a liar posting late is slashed and the honest side paid;
2. a commit timed to a friendly schedule: the chain fixes the commit window at assignment, and the sample comes
   from authors nobody knows while a commit is still possible (the bound itself is simulated in
   `test_sample_capture_bound.py`);
3. outputs too big to post: any valid job's outputs go on chain in chunks with range proofs, and the requester
   who demanded them pays their fees;
4. market griefing: a price floor, a bound per requester, and eviction of the cheapest waiting job;
5. weights that ignore the model: reveal, challenge and posting weigh by the model's work;
6. concurrent frauds: each costs its whole hold (here the cap, `compute.fraud_slash`: the price x 100 passes it),
   which every open assignment keeps in the bond.

The test chain checks the invariants (issuance = balances = supply - burns) after every block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from btt_chain.primitives.extrinsic import MAX_EXTRINSIC_SIZE
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.merkle import merkle_levels, merkle_proof, merkle_range_proof
from runtime.compute import assignment, costs, events, holds, storage, weights
from runtime.compute.inference import infer
from runtime.compute.model import ModelSpec, macs_per_item, model_hash
from runtime.compute.models import built
from runtime.compute.types import (
    COMMITTED,
    FRAUD,
    JOB_EVICTED,
    MAX_CHUNK_BYTES,
    SETTLED,
    VERIFIED,
    VOID,
)
from runtime.consensus import logic as consensus_logic
from runtime.consensus import storage as consensus
from runtime.context import GOVERNANCE
from runtime.modules import RUNTIME
from tests.runtime.test_compute import (
    BALANCES,
    BOND,
    FRAUD_SLASH,
    MODEL,
    PRICE,
    SEED,
    WINDOW,
    WITHHELD_SLASH,
    Worker,
    assigned_job,
    close_window,
    faked,
    issuance,
    job_of,
    ledger,
    make_chain,
    min_price,
    now,
    post,
    provider_of,
    register,
    until_sampled,
)
from tests.support.models import dense_model
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_noop,
    assert_ok,
)

OUTPUTS_DUE = 20_000
"""Long enough for the refusals these tests try before the outputs are due."""
REPORTER_BPS = DEFAULT_PARAMS["slashing.reporter_bps"][0]


def chain_with(**params: int) -> TestChain:
    return make_chain(params={"compute.outputs_due_ms": OUTPUTS_DUE, **params})


def verified(chain: TestChain, worker: Worker, job_id: int) -> None:
    worker.commit_and_wait(job_id)
    assert_ok(worker.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == VERIFIED


def outside_sample(chain: TestChain, job_id: int, provider: str) -> int:
    """An item the provider's sample will not open (the sample does not depend on the commitment)."""
    probe = Worker(chain.fork(), provider)
    probe.commit_and_wait(job_id)
    return next(i for i in range(job_of(chain, job_id).items) if i not in probe.sample(job_id))


def challenge_args(worker: Worker, job_id: int, item: int) -> tuple[object, ...]:
    inputs, outputs = worker.items(job_id)
    li, lo = merkle_levels(inputs), merkle_levels(outputs)
    return (job_id, worker.account, item, inputs[item], outputs[item], merkle_proof(li, item), merkle_proof(lo, item))


def run_until_time(chain: TestChain, ms: int) -> None:
    """Empty blocks until the next block's timestamp would reach `ms` (the next block is the first at or past it)."""
    while 1_000_000 + (chain.slot + 1) * 1000 < ms:
        chain.run_block([])


# --- 1. outputs posted too late to challenge ------------------------------------------------------------


def test_outputs_posted_after_their_due_time_are_refused_and_count_as_withheld() -> None:
    chain = chain_with(**{"compute.challenge_window_ms": 60_000})  # the window outlasts the due time
    job_id = assigned_job(chain, items=16)
    bob = Worker(chain, "bob")
    verified(chain, bob, job_id)
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    a = job_of(chain, job_id).assignments[0]
    deposit = a.posting_deposit
    run_until_time(chain, a.outputs_due_ms)  # the next block is at the due time
    ((first, items, proof),) = bob.chunks(job_id)
    assert_noop(chain, "bob", "compute.post_outputs", job_id, first, items, proof, error="OutputsLate")
    assert job_of(chain, job_id).assignments[0].posted_items == 0
    bond0, charlie0, issued0 = ledger(chain, "bob"), chain.account("charlie"), issuance(chain)
    close_window(chain, job_id)
    assert events.OutputsWithheld(job_id, acct("bob"), WITHHELD_SLASH, PRICE) in chain.events()
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert ledger(chain, "bob").total == bond0.total - WITHHELD_SLASH  # type: ignore[union-attr]
    assert issuance(chain) == issued0 - WITHHELD_SLASH
    assert chain.account("charlie").reserved == 0  # escrow and the unspent posting deposit back
    assert chain.account("charlie").free == charlie0.free + PRICE + deposit
    assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]


def test_outputs_posted_in_the_last_block_before_they_are_due_leave_a_full_challenge_window() -> None:
    chain = chain_with()
    job_id = assigned_job(chain, items=64)
    x = outside_sample(chain, job_id, "bob")
    cheat = Worker(chain, "bob", fake=frozenset({x}))
    verified(chain, cheat, job_id)
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    due = job_of(chain, job_id).assignments[0].outputs_due_ms
    run_until_time(chain, due - 1000)  # the next block is the last before the due time
    ((first, items, proof),) = cheat.chunks(job_id)
    assert_ok(chain.submit("bob", "compute.post_outputs", job_id, first, items, proof))
    posted_at = now(chain)
    assert posted_at == due - 1000
    a = job_of(chain, job_id).assignments[0]
    assert a.outputs_posted and a.matures_ms >= posted_at + WINDOW  # a full window from the posting
    assert events.OutputsComplete(job_id, acct("bob"), 64, a.matures_ms) in chain.events()
    # the old attack: the window closes at block start before anyone can challenge; now it stays open
    run_until_time(chain, posted_at + WINDOW - 1000)
    assert job_of(chain, job_id).assignments[0].state == VERIFIED
    assert_ok(chain.submit("charlie", "compute.challenge", *challenge_args(cheat, job_id, x)))
    reward = FRAUD_SLASH * REPORTER_BPS // 10_000
    assert events.ChallengeUpheld(job_id, acct("bob"), x, acct("charlie"), FRAUD_SLASH, reward, PRICE) in \
        chain.events()
    assert job_of(chain, job_id).assignments[0].state == FRAUD


@dataclass
class RequesterInputs(Worker):
    """A provider of a job whose inputs the requester handed over (no seed): the chain cannot re-execute a
    dispute by itself; a challenge settles it."""

    inputs: tuple[bytes, ...] = field(default_factory=tuple)

    def items(self, job_id: int) -> tuple[list[bytes], list[bytes]]:
        reg = storage.models.get(self.chain.view(), MODEL)
        assert reg is not None
        outputs = infer(built(reg.spec), list(self.inputs))
        return list(self.inputs), [faked(o) if i in self.fake else o for i, o in enumerate(outputs)]


def requester_input_dispute(chain: TestChain) -> tuple[int, RequesterInputs, RequesterInputs, int]:
    register(chain, "bob")
    register(chain, "eve")
    inputs = tuple(blake2b_256(bytes([i]))[:30] for i in range(32))  # 30-byte items: the model's 30 features
    job_id = post(chain, items=32, redundancy=2, inputs=inputs)
    chain.run_block([])
    probe = chain.fork()
    sides = [RequesterInputs(probe, n, inputs=inputs) for n in ("bob", "eve")]
    probe.run_block([probe.sign(w.name, "compute.commit_result", job_id, w.commitment(job_id)) for w in sides])
    until_sampled(probe, job_id)
    x = next(i for i in range(32) if i not in sides[1].sample(job_id))
    honest = RequesterInputs(chain, "bob", inputs=inputs)
    liar = RequesterInputs(chain, "eve", fake=frozenset({x}), inputs=inputs)
    chain.run_block([chain.sign(w.name, "compute.commit_result", job_id, w.commitment(job_id))
                     for w in (honest, liar)])
    until_sampled(chain, job_id)
    assert_ok(honest.reveal(job_id))
    assert_ok(liar.reveal(job_id))
    assert events.ResultsDiffer(job_id, acct("bob"), acct("eve")) in chain.events()
    return job_id, honest, liar, x


def test_in_a_dispute_a_liar_that_posts_too_late_is_slashed_and_the_honest_side_paid() -> None:
    chain = chain_with()
    job_id, honest, liar, _x = requester_input_dispute(chain)
    assert_ok(honest.post_all(job_id))
    due = job_of(chain, job_id).assignments[1].outputs_due_ms
    run_until_time(chain, due)
    (chunk,) = liar.chunks(job_id)
    assert_noop(chain, "eve", "compute.post_outputs", job_id, *chunk, error="OutputsLate")
    eve0 = ledger(chain, "eve")
    close_window(chain, job_id)
    portion = job_of(chain, job_id).assignments[1].portion
    assert events.OutputsWithheld(job_id, acct("eve"), WITHHELD_SLASH, portion) in chain.events()
    assert ledger(chain, "eve").total == eve0.total - WITHHELD_SLASH  # type: ignore[union-attr]
    states = {a.provider: a.state for a in job_of(chain, job_id).assignments}
    assert states == {acct("bob"): SETTLED, acct("eve"): FRAUD}  # not voided: the honest result is paid
    assert [r.provider for r in chain.events() if isinstance(r, events.JobReceipt)] == [acct("bob")]


def test_in_a_dispute_a_liar_that_posts_at_the_last_moment_is_still_challenged_in_time() -> None:
    chain = chain_with()
    job_id, honest, liar, x = requester_input_dispute(chain)
    assert_ok(honest.post_all(job_id))
    due = job_of(chain, job_id).assignments[1].outputs_due_ms
    run_until_time(chain, due - 1000)
    assert_ok(liar.post_all(job_id))
    posted_at = now(chain)
    ends = {a.provider: a.matures_ms for a in job_of(chain, job_id).assignments}
    assert ends[acct("eve")] == ends[acct("bob")] >= posted_at + WINDOW  # one closing time, a full window
    run_until_time(chain, posted_at + WINDOW - 1000)
    assert_ok(chain.submit("bob", "compute.challenge", *challenge_args(liar, job_id, x)))
    assert job_of(chain, job_id).assignments[1].state == FRAUD
    close_window(chain, job_id)
    states = {a.provider: a.state for a in job_of(chain, job_id).assignments}
    assert states == {acct("bob"): SETTLED, acct("eve"): FRAUD}


# --- 2. a commit timed to a friendly schedule --------------------------------------------------------------


def epoch_chain(**params: int) -> TestChain:
    return make_chain(epoch_slots=10, params=params)


def test_the_sample_start_lies_beyond_every_schedule_known_while_a_commit_is_possible() -> None:
    chain = epoch_chain(**{"compute.missed_pause_ms": 0})  # bob never commits: drawn again for the next job
    register(chain, "bob", capacity=4, bond=BOND + 5 * UNIT)  # above the minimum after its stall fees
    for _ in range(4):
        job_id = post(chain, deadline_ms=assignment.min_deadline_ms(chain.view()))
        chain.run_block([])
        a = job_of(chain, job_id).assignments[0]
        per = consensus.epoch_slots.get(chain.view())
        assert a.commit_by_slot == chain.slot + DEFAULT_PARAMS["compute.commit_window_slots"][0] - 1
        assert a.sample_from_slot == (a.commit_by_slot // per + 2) * per
        # walk to the last slot a commit may take: the schedules known then end before the sample start's epoch
        while chain.slot < a.commit_by_slot:
            chain.run_block([])
            known = max(consensus.current.get(chain.view()).epoch,  # type: ignore[union-attr]
                        consensus.following.get(chain.view()).epoch)  # type: ignore[union-attr]
            assert known < consensus_logic.epoch_of(chain.view(), a.sample_from_slot)
        # the provider's commit slot does not move its sample start: the chain fixed it at assignment
        assert job_of(chain, job_id).assignments[0].sample_from_slot == a.sample_from_slot
        skip_epoch = a.commit_by_slot + 7
        while chain.slot < skip_epoch:
            chain.run_block([])


def test_a_coalition_that_times_its_commit_to_its_own_leaders_is_caught() -> None:
    # five validators, three of them (bob, charlie, dave) eve's accomplices; k = 3. Under the old rule eve
    # committed in a slot after which the next three distinct leaders were all accomplices and knew her sample.
    five = {"alice": 10, "bob": 10, "charlie": 10, "dave": 10, "ferdie": 10}
    balances = {**BALANCES, "ferdie": 1_000}
    chain = GenesisBuilder(balances=balances, validators=five, epoch_slots=10).build()
    register(chain, "eve")
    job_id = post(chain, "charlie", items=64, deadline_ms=120_000)
    chain.run_block([])
    a = job_of(chain, job_id).assignments[0]
    coalition = {acct(n) for n in ("bob", "charlie", "dave")}
    # the best she can do: find, in the schedules public now, a commit slot in her window after which the next
    # three distinct leaders are accomplices, commit there, and fake every item outside the sample those three
    # would fix. Her window's slots change nothing: the sample is fixed from the start slot on.
    view = chain.view()
    friendly = []
    for c in range(chain.slot + 1, a.commit_by_slot + 1):
        leaders: list[bytes] = []
        s = c + 1
        while len(set(leaders)) < 3 and s < c + 40:
            leader = consensus_logic.leader_of_slot(view, s)
            if leader is not None and leader not in leaders:
                leaders.append(leader)
            s += 1
        if set(leaders) <= coalition:
            friendly.append(c)
    # whichever slot she commits in, the sample start is beyond what those schedules show
    assert a.sample_from_slot > a.commit_by_slot + 10
    cheat = Worker(chain, "eve", fake=frozenset(range(8, 64)))  # 56 of 64 faked, as in the report
    target = friendly[0] if friendly else a.commit_by_slot
    while chain.slot + 1 < target:
        chain.run_block([])
    assert_ok(cheat.commit(job_id))
    until_sampled(chain, job_id)
    sample = cheat.sample(job_id)
    assert any(i >= 8 for i in sample)  # not the items she kept honest
    assert_ok(cheat.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]


# --- 3. outputs too big to post ---------------------------------------------------------------------------


WIDE = dense_model("wide-64-classes", (64, 64))
"""64 classes: an output item is 65 bytes, 1,024 of them 66,560 bytes, more than one extrinsic may carry."""
NARROW_4096 = dense_model("fourteen-classes", (64, 14))


def with_model(spec: ModelSpec, **params: int) -> tuple[TestChain, bytes]:
    chain = chain_with(**{"compute.max_job_items": 4096, **params})
    chain.dispatch(GOVERNANCE, "compute.register_model", spec)
    return chain, model_hash(spec)


def test_outputs_bigger_than_one_extrinsic_are_posted_in_chunks_and_paid_by_the_demand() -> None:
    for spec, items in ((WIDE, 1024), (NARROW_4096, 4096)):
        chain, mh = with_model(spec)
        job_id = assigned_job(chain, items=items, model=mh, price=min_price(chain, items, model=mh))
        bob = Worker(chain, "bob")
        verified(chain, bob, job_id)
        outputs = bob.items(job_id)[1]
        whole = chain.sign("bob", "compute.post_outputs", job_id, 0, tuple(outputs), ())
        assert len(whole.encode()) > MAX_EXTRINSIC_SIZE  # one extrinsic could never carry them
        charlie0 = chain.account("charlie")
        demanded = chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob"))
        assert_ok(demanded)
        deposit = job_of(chain, job_id).assignments[0].posting_deposit
        assert deposit == costs.posting_cost(chain.view(), spec, items)
        chunks = bob.chunks(job_id)
        assert len(chunks) > 1
        for first, part, proof in chunks:
            xt = chain.sign("bob", "compute.post_outputs", job_id, first, part, proof)
            assert len(xt.encode()) <= MAX_EXTRINSIC_SIZE and sum(len(o) for o in part) <= MAX_CHUNK_BYTES
        bob0 = chain.account("bob").free
        assert_ok(bob.post_all(job_id))
        assert chain.account("bob").free == bob0  # every chunk's fee came back from the requester's deposit
        assert tuple(storage.posted_outputs(chain.view(), job_id, acct("bob"))) == tuple(outputs)
        close_window(chain, job_id)
        assert job_of(chain, job_id).assignments[0].state == SETTLED
        assert list(storage.posted_chunks.items(chain.view())) == []  # final: the chunks leave the state
        assert chain.account("charlie").reserved == 0
        # charlie paid the demand's fee and, from the deposit, bob's posting fees; the rest of it came back
        after = chain.account("charlie").free
        assert charlie0.free - demanded.fee - deposit <= after < charlie0.free - demanded.fee


def demanded_wide_job() -> tuple[TestChain, int, Worker]:
    """A 1,024-item job of the wide model, verified for bob, whose outputs charlie has demanded."""
    chain, mh = with_model(WIDE)
    job_id = assigned_job(chain, items=1024, model=mh, price=min_price(chain, 1024, model=mh))
    bob = Worker(chain, "bob")
    verified(chain, bob, job_id)
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    return chain, job_id, bob


def test_chunks_out_of_order_or_shape_or_proof_are_refused_and_change_nothing() -> None:
    chain, job_id, bob = demanded_wide_job()
    (f0, p0, r0), (f1, p1, r1), *_ = bob.chunks(job_id)

    def refused(*args: object, error: str) -> None:
        assert_noop(chain, "bob", "compute.post_outputs", job_id, *args, error=error)

    refused(f1, p1, r1, error="chunks go in order")  # the second before the first
    refused(f0, p0[:-1], merkle_range_proof(merkle_levels(bob.items(job_id)[1]), 0, len(p0) - 1),
            error="holds")  # a short chunk
    refused(f0, (p0[0][:-1], *p0[1:]), r0, error="bytes")  # a malformed item
    refused(f0, p0, r1, error="range proof")  # another chunk's proof
    refused(f0, (faked(p0[0]), *p0[1:]), r0, error="range proof")  # not the revealed outputs
    assert_noop(chain, "eve", "compute.post_outputs", job_id, f0, p0, r0, error="NotAssigned")
    assert_ok(chain.submit("bob", "compute.post_outputs", job_id, f0, p0, r0))
    refused(f0, p0, r0, error="chunks go in order")  # the same chunk twice
    assert job_of(chain, job_id).assignments[0].posted_items == len(p0)
    assert not job_of(chain, job_id).assignments[0].outputs_posted


def test_partly_posted_outputs_at_their_due_time_count_as_withheld() -> None:
    chain, job_id, bob = demanded_wide_job()
    (first, part, proof), *rest = bob.chunks(job_id)
    assert_ok(chain.submit("bob", "compute.post_outputs", job_id, first, part, proof))
    due = job_of(chain, job_id).assignments[0].outputs_due_ms
    run_until_time(chain, due)
    chain.run_block([])  # the window ends at the due time: the block at it finds the outputs withheld
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert_noop(chain, "bob", "compute.post_outputs", job_id, *rest[0], error="OutputsLate")
    assert list(storage.posted_chunks.items(chain.view())) == []  # the partial chunks left with the verdict


def test_a_demand_the_requester_cannot_fund_is_refused() -> None:
    chain, mh = with_model(WIDE)
    job_id = assigned_job(chain, "bob", items=1024, model=mh, price=min_price(chain, 1024, model=mh))
    verified(chain, Worker(chain, "bob"), job_id)
    spendable = chain.account("charlie").free - DEFAULT_PARAMS["balances.existential_deposit"][0]
    assert_ok(chain.submit("charlie", "balances.transfer_allow_death", acct("dave"), spendable - UNIT // 100))
    assert_noop(chain, "charlie", "compute.demand_outputs", job_id, acct("bob"), error="InsufficientBalance")


# --- 4. market griefing ------------------------------------------------------------------------------------


def test_one_requester_cannot_hold_more_than_its_share_of_open_jobs() -> None:
    chain = make_chain(params={"compute.max_open_jobs_per_requester": 3})
    for _ in range(3):
        post(chain)
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, 60_000,
                error="TooManyOpenJobs")
    post(chain, "dave")  # another requester is unaffected
    assert_ok(chain.submit("charlie", "compute.cancel_job", 0))
    post(chain)  # a closed job frees its place
    assert storage.open_by_requester.get(chain.view(), acct("charlie")) == 3


def test_a_full_market_lets_a_better_paying_job_evict_the_cheapest_waiting_one() -> None:
    # the reported attack: one account filled every open slot with jobs at the least price, shutting clinics out
    chain = make_chain(params={"compute.max_open_jobs": 4})
    floor = min_price(chain)
    spam = [post(chain, "dave", price=floor + i) for i in range(4)]
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, floor, 1, 60_000, error="MarketFull")
    dave0 = chain.account("dave")
    clinic = post(chain, "charlie", price=10 * floor)  # pays more in all: it takes the cheapest's place
    assert job_of(chain, spam[0]).status == JOB_EVICTED  # the cheapest in all makes way
    assert events.JobEvicted(spam[0], clinic, floor) in chain.events()
    assert chain.account("dave").reserved == dave0.reserved - floor  # the evicted price released in full
    assert storage.open_jobs.get(chain.view()) == 4
    # a job paying no more in all than the cheapest waiting one is refused
    assert_noop(chain, "dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, floor + 1, 1, 60_000,
                error="MarketFull")
    # evict-then-withdraw would make eviction cost only fees: a job that took another's place cannot be cancelled
    assert job_of(chain, clinic).took_place
    assert_noop(chain, "charlie", "compute.cancel_job", clinic, error="CannotCancel")
    register(chain, "bob", capacity=1)
    chain.run_block([])
    assert [a.provider for a in job_of(chain, clinic).assignments] == [acct("bob")]  # the best paid goes first


def test_a_stakers_waiting_job_is_evicted_only_by_another_stakers() -> None:
    chain = make_chain(params={"compute.max_open_jobs": 1})
    assert_ok(chain.submit("dave", "staking.stake", "90d", 5_000 * UNIT))
    floor = min_price(chain)
    staked = post(chain, "dave", price=floor)
    assert job_of(chain, staked).priority
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, 100 * floor, 1, 60_000,
                error="staker's")


def test_a_committed_job_is_never_evicted_and_an_assigned_one_only_until_its_provider_commits() -> None:
    chain = make_chain(params={"compute.max_open_jobs": 1})
    job_id = assigned_job(chain, price=min_price(chain))
    evicts = chain.fork()  # assigned, not committed: a better-paying job takes its place, its provider released
    clinic = post(evicts, "dave", price=PRICE)
    assert job_of(evicts, job_id).status == JOB_EVICTED and job_of(evicts, job_id).assignments[0].state == VOID
    assert events.AssignmentWithdrawn(job_id, acct("bob"), clinic) in evicts.events()
    assert_ok(Worker(chain, "bob").commit(job_id))  # committed: it stays, whatever a new job offers
    assert_noop(chain, "dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, 60_000,
                error="every one of them has a provider's commit")
    assert job_of(chain, job_id).assignments[0].state == COMMITTED


# --- 5. weights that ignore the model ----------------------------------------------------------------------


BIG = dense_model("largest-dense", (1024,) * 7 + (256,))
"""Near the largest dense model a spec may describe: six 1,024 x 1,024 layers and 256 classes, 6.6 M
multiply-accumulates an item (the limit is 8.4 M)."""


def test_challenge_reveal_and_posting_weigh_by_the_models_work() -> None:
    small = dense_model("tiny", (1, 1))
    assert macs_per_item(BIG) > 6 * 1024 * 1024
    # one item's multiply-accumulates at the measured rate of a one-row batch (0.65 ns each), and the blob's load
    assert weights.challenge_weight(BIG, 1024) >= macs_per_item(BIG) * weights.MAC_FEW_ROWS_PS // 10**6 + \
        weights.weights_load_weight(BIG) > 100 * weights.challenge_weight(small, 1024) // 10
    # eight sampled items re-executed as one batch: dearer than one item, cheaper than eight apart (the blob's load
    # is charged once in each)
    load = weights.weights_load_weight(BIG)
    one, eight = weights.challenge_weight(BIG, 1024) - load, weights.reveal_weight(BIG, 1024, 8) - load
    assert 3 * one < eight < 8 * one
    assert weights.chunk_weight(BIG, 1024, 40) > weights.chunk_weight(small, 1024, 40)
    # on chain: a challenge of a job of the big model pays for its re-execution, and a block holds few of them
    chain, mh = with_model(BIG, **{"compute.min_provider_bond": UNIT})
    register(chain, "bob")
    job_id = post(chain, items=16, model=mh, price=min_price(chain, 16, model=mh))
    chain.run_block([])
    view = chain.view()
    args = (job_id, acct("bob"), 0, bytes(1024), bytes(1025), (), ())
    weight = RUNTIME.weight(view, RUNTIME.decode_call(RUNTIME.call("compute.challenge", *args)))
    assert weight == weights.challenge_weight(BIG, 16)
    per_weight = DEFAULT_PARAMS["fees.per_weight"][0]
    assert chain.fee_of("eve", "compute.challenge", *args) >= weight * per_weight
    # a full block of them: each re-executes 7.6 M multiply-accumulates (about 3.5 ms) and may load a 7.6 MB blob
    assert DEFAULT_PARAMS["block.max_weight"][0] // weight < 250
    # a call naming no job weighs its base: it fails at once
    missing = (99, acct("bob"), 0, bytes(1024), bytes(1025), (), ())
    assert RUNTIME.weight(view, RUNTIME.decode_call(RUNTIME.call("compute.challenge", *missing))) == \
        weights.CHALLENGE


# --- 6. concurrent frauds --------------------------------------------------------------------------------


def test_four_frauds_caught_together_cost_four_fixed_slashes() -> None:
    # the reported gap: half of what was left, four times over, took 0.94 of a bond instead of two bonds' worth
    chain = make_chain(params={"compute.commit_window_slots": 8})
    register(chain, "bob", capacity=4, bond=4 * FRAUD_SLASH)
    nonce = chain.account("charlie").nonce
    chain.run_block([chain.sign("charlie", "compute.post_job", MODEL, ZERO_HASH, bytes([i + 1]) * 32, 4, PRICE, 1,
                                60_000, nonce=nonce + i) for i in range(4)])
    chain.run_block([])
    jobs = list(range(4))
    assert all(job_of(chain, j).assignments[0].provider == acct("bob") for j in jobs)
    assert provider_of(chain, "bob").at_risk == 4  # type: ignore[union-attr]
    cheat = Worker(chain, "bob", fake=frozenset(range(4)))
    bob_nonce = chain.account("bob").nonce
    chain.run_block([chain.sign("bob", "compute.commit_result", j, cheat.commitment(j), nonce=bob_nonce + i)
                     for i, j in enumerate(jobs)])
    for j in jobs:
        until_sampled(chain, j)
    issued0 = issuance(chain)
    chain.run_block([chain.sign("bob", "compute.reveal_result", *cheat.reveal_args(j), nonce=bob_nonce + 4 + i)
                     for i, j in enumerate(jobs)])
    frauds = [e for e in chain.events() if isinstance(e, events.FraudDetected)]
    assert [e.slashed for e in frauds] == [FRAUD_SLASH] * 4  # each the whole hold, the cap
    assert issuance(chain) == issued0 - 4 * FRAUD_SLASH
    led = ledger(chain, "bob")
    assert led is None or led.total == 0  # four slashes took all four slashes' worth


def test_a_bond_must_cover_the_smallest_hold_for_every_place_and_what_its_assignments_hold() -> None:
    chain = make_chain(params={"compute.min_assignment_hold": 25 * UNIT})
    assert_ok(chain.submit("bob", "bonds.bond", BOND))
    assert_noop(chain, "bob", "compute.register_provider", 5, 0, 0, error="BondTooLow")  # 5 x 25 > 100
    assert_ok(chain.submit("bob", "compute.register_provider", 4, 0, 0))
    # holds that leave less (a validator slash, or anything else): unbonding and assignments stop at what they hold
    chain.backend.data[holds.by_provider.key(acct("bob"))] = holds.by_provider.codec.encode(3 * FRAUD_SLASH)
    assert_noop(chain, "bob", "bonds.unbond", BOND - 3 * FRAUD_SLASH + 1, error="BelowMinimum")
    assert_ok(chain.submit("bob", "bonds.unbond", BOND - 3 * FRAUD_SLASH))
    job_id = post(chain)
    chain.run_block([])
    assert job_of(chain, job_id).assignments == ()  # 3 held and no bond for a fourth
