"""The compute market against an attacker with a budget (issue 42, items 1 and 2): each attack is tried and fails.

1. The hog: a bonded provider with a big bond takes a clinic's jobs and never commits. Each job it holds goes back
   to the market when its commit window closes, in the same block (another provider takes it there and then), and
   the hog pays the fixed missed-assignment fee for every job it held, however many, however often: the epoch cap
   covers only the escrow-proportional part. Capacity it does not use is not capacity it holds.
2. The closed market: Sybil model owners register private models served only by their own hogs and fill the room
   with floor-price, longest-deadline jobs. One owner's models hold at most their share, all owners' models
   theirs, one provider its share; a clinic that pays more per unit of work takes the place of a job no provider
   committed to (its provider released, owing nothing), and the hogs' jobs move on at a fee per window.
3. Commit and sit: a hog that commits to its own jobs and never reveals holds each place only until its reveal
   window closes (the sample is fixed two epochs after the commit window: no sooner), then pays the fixed fee to
   open it late, or the withholding slash.
4. The week on `btt-21m`: the cheapest way left to hold a place is measured on a chain with the live preset's
   compute parameters, fees and epochs; the figures give the cost of keeping the market closed to a clinic for a
   week (docs/compute.md, "The rules").

Every block is checked against the runtime's invariants, compute's books included, by the test chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.hashing import ZERO_HASH
from genesis.loader import load_chain_spec
from runtime.compute import costs, events, market, providers, rent, storage
from runtime.compute.model import model_hash
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    JOB_DONE,
    JOB_EVICTED,
    JOB_EXPIRED,
    JOB_OPEN,
    LATE,
    MISSED,
    STALLED,
    VERIFIED,
    VOID,
)
from runtime.consensus import storage as consensus
from tests.runtime.test_compute import (
    BOND,
    MODEL,
    PRICE,
    Worker,
    issuance,
    job_of,
    ledger,
    make_chain,
    min_price,
    now,
    provider_of,
    register,
)
from tests.runtime.test_compute_outage import all_in_one_block, post_many, until
from tests.support.models import dense_model
from tests.support.runtime_builder import DEFAULT_PARAMS, UNIT, TestChain, acct, assert_noop, assert_ok

FIXED = DEFAULT_PARAMS["compute.missed_assignment_fee"][0]
CAP = DEFAULT_PARAMS["compute.max_missed_per_epoch"][0]
FEE_BPS = DEFAULT_PARAMS["compute.missed_deadline_fee_bps"][0]
LONGEST = DEFAULT_PARAMS["compute.max_deadline_ms"][0]


def stalls(chain: TestChain) -> list[events.AssignmentStalled]:
    return [e for e in chain.events() if isinstance(e, events.AssignmentStalled)]


def after_window(chain: TestChain, job_id: int) -> None:
    """Run to the first block after the commit window of the job's first assignment (the block that stalls it)."""
    commit_by = job_of(chain, job_id).assignments[0].commit_by_slot
    while chain.slot <= commit_by:
        chain.run_block([])


def private_model(chain: TestChain, owner: str, name: str) -> bytes:
    spec = dense_model(name, (16, 8, 3))
    assert_ok(chain.submit(owner, "compute.register_model", spec))
    return model_hash(spec)


def serve(chain: TestChain, hogs: Sequence[str], models: Sequence[bytes]) -> None:
    for hog in hogs:
        for m in models:
            assert_ok(chain.submit(hog, "compute.serve_model", m, True))


def run_noting_stalls(chain: TestChain, done: Callable[[], bool], blocks: int = 400) -> list[events.AssignmentStalled]:
    """Empty blocks until `done()`, and the stalls they made (a test chain keeps only its last block's events)."""
    seen: list[events.AssignmentStalled] = []
    for _ in range(blocks):
        if done():
            return seen
        chain.run_block([])
        seen += stalls(chain)
    raise AssertionError(f"not done after {blocks} blocks")


def floor_of(chain: TestChain, model: bytes, items: int = 1) -> int:
    reg = storage.models.get(chain.view(), model)
    assert reg is not None
    return costs.min_price(chain.view(), reg.spec, items, 1)


# --- 1. the hog --------------------------------------------------------------------------------------------


def test_a_hog_holds_a_clinics_jobs_for_one_commit_window_at_most_and_pays_for_every_one() -> None:
    chain = make_chain(balances={"alice": 1_000, "charlie": 100_000, "dave": 100_000, "eve": 1_000})
    eve_bond = 16 * DEFAULT_PARAMS["compute.fraud_slash"][0] + UNIT
    register(chain, "dave", capacity=16, bond=100 * eve_bond)  # the hog: a hundred times eve's bond
    register(chain, "eve", capacity=16, bond=eve_bond)
    jobs = post_many(chain, 16, price=PRICE)
    chain.run_block([])
    held = [j for j in jobs if job_of(chain, j).assignments[0].provider == acct("dave")]
    theirs = [j for j in jobs if j not in held]
    assert len(held) >= 12  # under the old rule it kept these to their deadline for a capped 0.5 BTT
    eve = Worker(chain, "eve")
    if theirs:
        all_in_one_block(chain, "eve", [("compute.commit_result", j, eve.commitment(j)) for j in theirs])
    bond0, issued0 = ledger(chain, "dave").total, issuance(chain)  # type: ignore[union-attr]
    after_window(chain, held[0])
    # the block after the hog's window: every job it held went back to the market and eve took it in that block
    assert sorted(e.job_id for e in stalls(chain)) == sorted(held)
    for j in held:
        a = job_of(chain, j).assignments[0]
        assert (a.provider, a.state) == (acct("eve"), ASSIGNED)
    # it paid the fixed fee for every one (never capped) and the escrow share up to the epoch's cap
    paid = sum(e.slashed for e in stalls(chain))
    assert paid == len(held) * FIXED + CAP
    assert ledger(chain, "dave").total == bond0 - paid  # type: ignore[union-attr]
    assert issuance(chain) == issued0 - paid  # burned: nobody earns from it
    hog = provider_of(chain, "dave")
    assert hog is not None and (hog.active, hog.at_risk, hog.stalled) == (0, 0, len(held))
    assert providers.is_paused(chain.view(), acct("dave"), now(chain))
    # eve serves all sixteen before their deadline
    all_in_one_block(chain, "eve", [("compute.commit_result", j, eve.commitment(j)) for j in held])
    until(chain, lambda: all(eve.sample(j) for j in jobs))
    all_in_one_block(chain, "eve", [("compute.reveal_result", *eve.reveal_args(j)) for j in jobs])
    assert all(job_of(chain, j).status == JOB_DONE for j in jobs)
    assert all(now(chain) < job_of(chain, j).deadline_ms for j in jobs)
    assert all(job_of(chain, j).assignments[0].state == VERIFIED for j in jobs)


def test_a_hog_that_may_be_drawn_again_at_once_pays_the_fixed_fee_for_every_window_it_holds_a_job() -> None:
    # governance set the pause to 0: two hogs take turns holding one clinic job, window after window, in one epoch
    chain = make_chain(epoch_slots=100, balances={"alice": 1_000, "charlie": 100_000, "dave": 100_000,
                                                    "ferdie": 100_000},
                       params={"compute.missed_pause_ms": 0})
    for hog in ("dave", "ferdie"):
        register(chain, hog, capacity=4, bond=BOND + 10 * UNIT)
    (job_id,) = post_many(chain, 1, price=PRICE, deadline_ms=LONGEST)
    chain.run_block([])
    fees = []
    for _ in range(6):
        holder = job_of(chain, job_id).assignments[0].provider
        after_window(chain, job_id)
        (stall,) = stalls(chain)
        assert stall.provider == holder
        fees.append(stall.slashed)
        assert job_of(chain, job_id).assignments[0].provider != holder  # the other hog took the place
    assert chain.slot < 100  # one epoch
    # the escrow share is capped per provider and epoch (each hog's first stall reaches it), the fixed fee never
    assert fees == [FIXED + CAP] * 2 + [FIXED] * 4
    record = storage.outages.get(chain.view(), acct("dave"))
    assert record is not None and record.charged <= CAP
    assert job_of(chain, job_id).status == JOB_OPEN and now(chain) < job_of(chain, job_id).deadline_ms


# --- 2. the closed market ----------------------------------------------------------------------------------


def closed_market_chain(**params: int) -> TestChain:
    owners = {f"owner{i}": 1_000 for i in range(3)}
    sybils = {f"sybil{i}": 100 for i in range(8)}
    hogs = {f"hog{i}": 10_000 for i in range(4)}
    return make_chain(balances={"alice": 1_000, "charlie": 100_000, "eve": 1_000, **owners, **sybils, **hogs},
                      params={"compute.max_open_jobs": 8, "compute.max_open_share_bps": 2_500,
                              "compute.max_owner_models_share_bps": 5_000, **params})


def test_one_owner_all_owners_and_one_provider_hold_only_their_shares_of_the_room() -> None:
    chain = closed_market_chain(**{"compute.commit_window_slots": 50})  # the hogs' places last the whole test
    assert market.share_cap(chain.view()) == 2 and market.owner_models_cap(chain.view()) == 4
    models = [private_model(chain, f"owner{i}", f"private-{i}") for i in range(3)]
    for hog in ("hog0", "hog1"):
        register(chain, hog, capacity=8, bond=8 * BOND)
    serve(chain, ("hog0", "hog1"), models)
    floor = floor_of(chain, models[0])
    sybil = iter(f"sybil{i}" for i in range(8))

    def post_on(model: bytes) -> int:
        job_id = storage.next_job_id.get(chain.view())
        assert_ok(chain.submit(next(sybil), "compute.post_job", model, ZERO_HASH, b"\x01" * 32, 1, floor, 1,
                               LONGEST))
        return job_id

    first = [post_on(models[0]), post_on(models[0])]
    chain.run_block([])  # assigned: the next block changes nothing but what the call would
    # the owner's third job is refused, from any requester, and nothing changes
    assert_noop(chain, "sybil7", "compute.post_job", models[0], ZERO_HASH, b"\x01" * 32, 1, floor, 1, LONGEST,
                error="the most one owner's models may")
    second = [post_on(models[1]), post_on(models[1])]
    chain.run_block([])
    # a third owner finds the owners' models' share taken: Sybil owners cannot fill the room
    assert_noop(chain, "sybil7", "compute.post_job", models[2], ZERO_HASH, b"\x01" * 32, 1, floor, 1, LONGEST,
                error="the most they may together")
    chain.run_block([])
    # two hogs with capacity 8 each hold two of the four at most: one provider, its share
    for hog in ("hog0", "hog1"):
        p = provider_of(chain, hog)
        assert p is not None and p.active == 2
    assert all(job_of(chain, j).assignments for j in first + second)
    # the rest of the room is for jobs on governance models, served by every provider
    clinic = [storage.next_job_id.get(chain.view()) + i for i in range(4)]
    post_many(chain, 4, price=PRICE, deadline_ms=LONGEST)
    assert storage.open_jobs.get(chain.view()) == 8 and all(job_of(chain, j).status == JOB_OPEN for j in clinic)


def test_a_full_market_lets_a_paying_clinic_evict_a_hogs_uncommitted_job_and_the_hogs_jobs_move_on() -> None:
    chain = closed_market_chain()
    models = [private_model(chain, f"owner{i}", f"private-{i}") for i in range(2)]
    hogs = [f"hog{i}" for i in range(4)]
    for hog in hogs:
        register(chain, hog, capacity=8, bond=8 * BOND)
    serve(chain, hogs, models)
    gov_floor = min_price(chain, items=1)
    assert floor_of(chain, models[0]) < gov_floor
    # the attacker fills every place: four jobs on its two owners' models, four on the reference model, all at the
    # reference model's floor (a job on a smaller model at its own floor would be taken by any job paying more in
    # all), all assigned at once to its hogs (no honest provider is registered yet)
    first = storage.next_job_id.get(chain.view())
    attack = list(range(first, first + 8))
    result = chain.run_block([chain.sign(f"sybil{i}", "compute.post_job", *((models[i % 2], ZERO_HASH) if i < 4 else
                                                                             (MODEL, ZERO_HASH)),
                                         bytes([i + 1]) * 32, 1, gov_floor, 1, LONGEST)
                              for i in range(8)])
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes]
    chain.run_block([])
    assert all(job_of(chain, j).assignments[0].provider in {acct(h) for h in hogs} for j in attack)
    assert storage.open_jobs.get(chain.view()) == 8
    # a clinic that pays no more in all is refused and nothing changes; one that pays more gets in
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, b"\x09" * 32, 1, gov_floor, 1, LONGEST,
                error="MarketFull")
    victims = [j for j in attack if job_of(chain, j).model == MODEL]
    sybil_before = {j: chain.account(job_of(chain, j).requester) for j in victims}
    hog_bonds = {h: ledger(chain, h).total for h in hogs}  # type: ignore[union-attr]
    clinic = storage.next_job_id.get(chain.view())
    assert_ok(chain.submit("charlie", "compute.post_job", MODEL, ZERO_HASH, b"\x09" * 32, 1, 10 * gov_floor, 1,
                           LONGEST))
    (evicted,) = [j for j in attack if job_of(chain, j).status == JOB_EVICTED]
    assert evicted == attack[-1] and evicted in victims  # of the cheapest in all, the newest
    job = job_of(chain, evicted)
    assert job.assignments[0].state == VOID
    assert events.AssignmentWithdrawn(evicted, job.assignments[0].provider, clinic) in chain.events()
    assert events.JobEvicted(evicted, clinic, gov_floor) in chain.events()
    requester = chain.account(job.requester)
    assert requester.free == sybil_before[evicted].free + gov_floor  # the whole price back, nothing more
    assert requester.reserved == sybil_before[evicted].reserved - gov_floor
    assert {h: ledger(chain, h).total for h in hogs} == hog_bonds  # type: ignore[union-attr]  # no fee: no fault
    # an honest provider arrives; the hogs never commit: at their windows every job they hold moves on
    eve_bond = 8 * DEFAULT_PARAMS["compute.fraud_slash"][0]
    result = chain.run_block([chain.sign("eve", "bonds.bond", eve_bond),
                              chain.sign("eve", "compute.register_provider", 8, 0, 0, nonce=1)])
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes]
    hog_accounts = {acct(h) for h in hogs}
    seen = stalls(chain)
    # the hogs never commit; eve serves whatever she is given at once. At each hog's window its jobs move on.
    eve = Worker(chain, "eve")
    gov_jobs = [j for j in [*attack, clinic] if job_of(chain, j).model == MODEL and job_of(chain, j).status == JOB_OPEN]
    assert clinic in gov_jobs
    for _ in range(200):
        held = [a for j in attack for a in job_of(chain, j).assignments if a.provider in hog_accounts]
        if all(job_of(chain, j).status == JOB_DONE for j in gov_jobs) and all(a.state != ASSIGNED for a in held):
            break
        calls: list[tuple[object, ...]] = []
        for j in gov_jobs:
            job = job_of(chain, j)
            mine = job.assignment_of(acct("eve"))
            a = None if mine is None or job.status != JOB_OPEN else job.assignments[mine]
            if a is not None and a.state == ASSIGNED:
                calls.append(("compute.commit_result", j, eve.commitment(j)))
            elif a is not None and a.state == COMMITTED and eve.sample(j):
                calls.append(("compute.reveal_result", *eve.reveal_args(j)))
        if calls:
            all_in_one_block(chain, "eve", calls)
        else:
            chain.run_block([])
        seen += stalls(chain)
    for hog in hogs:
        p = provider_of(chain, hog)
        mine = [e.slashed for e in seen if e.provider == acct(hog)]
        assert p is not None and p.active == 0 and p.stalled == len(mine) >= 1
        assert ledger(chain, hog).total == hog_bonds[hog] - sum(mine)  # type: ignore[union-attr]
        assert all(fee >= FIXED for fee in mine)
    # the reference-model jobs (the clinic's and the attacker's) went to eve, who served them: the attacker pays its
    # own jobs' price to the honest provider. Its private-model jobs wait: nobody else serves those models.
    assert all(job_of(chain, j).status == JOB_DONE for j in gov_jobs)
    assert all(job_of(chain, j).assignments[0].provider == acct("eve") for j in gov_jobs)
    for j in attack[:4]:
        job = job_of(chain, j)
        assert job.status == JOB_OPEN and job.assignments[0].state == STALLED and job.vacant() == [0]


# --- 3. commit and sit -------------------------------------------------------------------------------------


def test_a_hog_that_commits_to_its_own_jobs_and_sits_holds_each_place_only_to_its_reveal_window() -> None:
    chain = make_chain(balances={"alice": 1_000, "dave": 10_000, "mallory": 1_000},
                       params={"compute.reveal_window_slots": 4})
    model = private_model(chain, "mallory", "private-sit")
    register(chain, "dave", capacity=4, bond=BOND + UNIT)
    serve(chain, ("dave",), [model])
    price = floor_of(chain, model, 4)
    first = storage.next_job_id.get(chain.view())
    jobs = [first, first + 1]
    all_in_one_block(chain, "mallory", [("compute.post_job", model, ZERO_HASH, bytes([i + 1]) * 32, 4, price, 1,
                                         LONGEST) for i in range(2)])
    chain.run_block([])
    hog = Worker(chain, "dave")
    all_in_one_block(chain, "dave", [("compute.commit_result", j, hog.commitment(j)) for j in jobs])
    until(chain, lambda: all(hog.sample(j) for j in jobs))
    assert [job_of(chain, j).assignments[0].reveal_by_slot for j in jobs] == [chain.slot + 4] * 2
    until(chain, lambda: job_of(chain, jobs[0]).status != JOB_OPEN)
    assert chain.slot == job_of(chain, jobs[0]).assignments[0].reveal_by_slot + 1
    # the first block past the reveal window: late, the escrow back to its requester, the place free
    for j in jobs:
        job = job_of(chain, j)
        assert (job.status, job.assignments[0].state) == (JOB_EXPIRED, LATE)
        assert now(chain) < job.deadline_ms - 500_000  # long before the deadline of the longest job
        assert events.RevealMissed(j, acct("dave"), price) in chain.events()
    # each place's work is posted again at once for another provider (`reassign`); dave, who failed it, is never
    # drawn for it, and nobody else serves mallory's model: the reposts wait, then close as unserved
    reposts = [e.new_job for e in chain.events() if isinstance(e, events.JobReassigned)]
    assert len(reposts) == 2 and storage.open_jobs.get(chain.view()) == 2
    deposit = storage.models.get(chain.view(), model).deposit  # type: ignore[union-attr]
    assert chain.account("mallory").reserved == deposit + 2 * price
    # opening it late costs the fixed fee (and the escrow share); never opening it, the withholding slash
    bond0 = ledger(chain, "dave").total  # type: ignore[union-attr]
    opened = chain.fork()
    assert_ok(Worker(opened, "dave").reveal(jobs[0]))
    share = price * FEE_BPS // 10_000
    assert events.LateRevealVerified(jobs[0], acct("dave"), hog.root(jobs[0]), FIXED + share) in opened.events()
    assert job_of(opened, jobs[0]).assignments[0].state == MISSED
    assert ledger(opened, "dave").total == bond0 - FIXED - share  # type: ignore[union-attr]


# --- 4. the week on btt-21m --------------------------------------------------------------------------------

LIVE = {p.name: p.value for p in load_chain_spec("btt-21m").parameters}
LIVE_SLOT_MS = 6_000
CLINIC_PRICE = 50 * UNIT
"""The going rate: a clinic's 256-item, 50 BTT job (issue 52's eviction finding)."""
LIVE_EPOCH = 600
WEEK_SLOTS = 7 * 86_400_000 // LIVE_SLOT_MS


def live_chain() -> TestChain:
    """A chain with btt-21m's compute parameters and fees, and its 600-slot epochs (a test chain's slot is its
    block; the timetable below counts slots, so the cycle lengths are the live chain's)."""
    names = [n for n in DEFAULT_PARAMS if n.startswith(("compute.", "fees.")) and n in LIVE]
    return make_chain(epoch_slots=LIVE_EPOCH,
                      balances={"alice": 1_000, "hog": 100_000, "hog2": 100_000, "mallory": 10_000,
                                "sybil": 10_000},
                      params={n: LIVE[n] for n in names})


def test_closing_the_market_for_a_week_on_btt_21m_costs_what_this_attack_measures(capsys) -> None:  # type: ignore[no-untyped-def]
    chain = live_chain()
    model = private_model(chain, "mallory", "private-live")
    register(chain, "hog", capacity=4, bond=LIVE["compute.min_provider_bond"] + 100 * UNIT)
    serve(chain, ("hog",), [model])
    price = floor_of(chain, model)
    window = LIVE["compute.commit_window_slots"]

    # (a) hold by stalling: post, never commit; the place is the hog's for one commit window
    held = storage.next_job_id.get(chain.view())
    posted = chain.submit("sybil", "compute.post_job", model, ZERO_HASH, b"\x01" * 32, 1, price, 1,
                          LIVE["compute.max_deadline_ms"])
    assert_ok(posted)
    chain.run_block([])
    assigned_at = chain.slot
    after_window(chain, held)
    (stall,) = stalls(chain)
    assert chain.slot - assigned_at == window
    stall_cost = stall.slashed + posted.fee
    assert stall.slashed >= LIVE["compute.missed_assignment_fee"]
    assert_ok(chain.submit("sybil", "compute.cancel_job", held))  # to hold it again the attacker posts again

    # (b) hold by commit and sit: commit at once, never reveal in time, open late (else the withholding slash)
    register(chain, "hog2", capacity=4, bond=LIVE["compute.min_provider_bond"] + 100 * UNIT)  # "hog" is paused
    serve(chain, ("hog2",), [model])
    sit = storage.next_job_id.get(chain.view())
    posted = chain.submit("sybil", "compute.post_job", model, ZERO_HASH, b"\x02" * 32, 1, price, 1,
                          LIVE["compute.max_deadline_ms"])
    assert_ok(posted)
    chain.run_block([])
    start = chain.slot
    hog = Worker(chain, "hog2")
    assert job_of(chain, sit).assignments[0].provider == hog.account
    committed = hog.commit(sit)
    assert_ok(committed)
    until(chain, lambda: job_of(chain, sit).status != JOB_OPEN, blocks=4 * LIVE_EPOCH)
    held_slots = chain.slot - start
    (paid,) = [e for e in chain.events() if isinstance(e, events.PlaceRentPaid)]  # at its close, for every slot
    sit_rent = paid.burned
    assert job_of(chain, sit).assignments[0].state == LATE
    revealed = hog.reveal(sit)
    assert_ok(revealed)
    (late,) = [e for e in chain.events() if isinstance(e, events.LateRevealVerified)]
    sit_cost = posted.fee + committed.fee + revealed.fee + late.slashed
    honest_fees = posted.fee + committed.fee + revealed.fee  # the same timetable, opened on its last slot in time

    # a week of every place, each route. Rent: each place at the rate its occupancy sets, every slot of the week
    # (the chain's own rule, `rent.rate_at`); what it blocks: every place, a clinic's 50 BTT job in each for the
    # shortest cycle an honest job can have (one epoch: a commit on an epoch's last slot is sampled from the next
    # but one), so the most a week of the room can earn
    room = LIVE["compute.max_open_jobs"]
    rates = [rent.rate_at(chain.view(), i) for i in range(1, room + 1)]
    week_rent = sum(rates) * WEEK_SLOTS
    shortest = LIVE_EPOCH
    blocked = room * (WEEK_SLOTS // shortest) * CLINIC_PRICE
    floor_job = price + posted.fee
    per_place = {
        "capital-light: a hog takes every job and never commits": (WEEK_SLOTS // window) * stall_cost,
        "capital-heavy: own providers commit and sit, open late": (WEEK_SLOTS // held_slots) * sit_cost,
        "capital-heavy: own providers commit and open on the last slots": (WEEK_SLOTS // held_slots) * honest_fees,
        "floor jobs that honest providers compute": (WEEK_SLOTS // shortest) * floor_job,
    }
    routes = {name: week_rent + room * fees for name, fees in per_place.items()}
    owners = room * LIVE["compute.max_owner_models_share_bps"] // 10_000
    owners_cost = sum(rates[:owners]) * WEEK_SLOTS
    with capsys.disabled():
        print(f"\nbtt-21m: a place held by stalling costs {format_btt(stall_cost)} BTT per {window} slots in fees; "
              f"by commit and sit {format_btt(sit_cost)} BTT per {held_slots} slots (and {format_btt(sit_rent)} BTT "
              f"of rent in an empty room); rent of a slot {format_btt(rates[0])} BTT in an empty room, "
              f"{format_btt(rates[room // 2 - 1])} half full, {format_btt(rates[room * 3 // 4 - 1])} at 75%, "
              f"{format_btt(rates[-1])} full")
        print(f"  a week ({WEEK_SLOTS:,} slots) of all {room} places: rent {week_rent // UNIT:,} BTT; it blocks "
              f"{blocked // UNIT:,} BTT ({room} places of 50 BTT jobs every {shortest} slots)")
        for name, cost in routes.items():
            print(f"  {name}: {cost // UNIT:,} BTT")
        print(f"  the owners' share alone ({owners} places, never the whole room): {owners_cost // UNIT:,} BTT of rent")
    for name, cost in routes.items():
        assert cost >= blocked, name
    assert sit_rent == rates[0] * paid.slots  # the only open job: the empty room's rate, for every slot it held
    assert sit_cost >= LIVE["compute.missed_assignment_fee"]
    assert held_slots <= 3 * LIVE_EPOCH + LIVE["compute.reveal_window_slots"] + window + 1
    assert consensus.epoch_slots.get(chain.view()) == LIVE_EPOCH
    assert job_of(chain, sit).assignments[0].state == MISSED and job_of(chain, held).assignments[0].state == STALLED
