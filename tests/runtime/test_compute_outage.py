"""Outages (issue 25, item 5; issue 42, item 1): a provider that was down is charged a small fee per missed
assignment (a fixed part, and an escrow-proportional part capped per epoch), never a fraud's slash, and keeps most
of its bond; hiding a fraud behind an outage still costs the full slash (`runtime/compute/outage.py`).

- an honest provider offline through several commit windows pays the fixed fee for each, the proportional part
  within the epoch's cap, and is paused: its jobs go back to the market;
- one that committed, went down and came back within its late-reveal time opens its sample late, pays the capped
  fee, keeps its bond but for it, and takes work again after its pause;
- while paused it is not drawn: its jobs go to others; a commit or reveal shows it is back and ends the pause, and
  the leftovers of its outage do not pause it again;
- a miner killed and paused for minutes, serving a clinic's stream of jobs around the outages, keeps almost all of
  its bond (the `ci` testnet's scenario, longer);
- a fake commit followed by going quiet costs the full fraud or withholding slash, late or never;
- withholding demanded outputs after a reveal still costs the full withholding slash (issue 24);
- a requester cannot set a provider up to miss, and earns nothing from a miss;
- the four parameters refuse values outside their bounds.

Every block is checked against the issuance invariants by the test chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from genesis.loader import load_chain_spec
from runtime.compute import assignment, events, holds, providers, storage
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    FRAUD,
    JOB_EXPIRED,
    JOB_OPEN,
    LATE,
    MISSED,
    SETTLED,
    STALLED,
    VERIFIED,
    Provider,
)
from runtime.context import GOVERNANCE
from tests.runtime.test_compute import (
    BOND,
    FRAUD_SLASH,
    MODEL,
    PRICE,
    SEED,
    WITHHELD_SLASH,
    Worker,
    assigned_job,
    close_window,
    issuance,
    job_of,
    ledger,
    make_chain,
    min_price,
    now,
    param,
    post,
    provider_of,
    register,
    run_to_deadline,
    skip,
    until_sampled,
)
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    SLOT_MS,
    UNIT,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_noop,
    assert_ok,
)

FEE_BPS = DEFAULT_PARAMS["compute.missed_deadline_fee_bps"][0]
CAP = DEFAULT_PARAMS["compute.max_missed_per_epoch"][0]
PAUSE = DEFAULT_PARAMS["compute.missed_pause_ms"][0]
LATE_REVEAL = DEFAULT_PARAMS["compute.late_reveal_ms"][0]
FIXED = DEFAULT_PARAMS["compute.missed_assignment_fee"][0]
MAX_PAUSE = DEFAULT_PARAMS["compute.max_missed_pause_ms"][0]
EPOCH = 10
"""Slots per epoch of these chains (the cap is per epoch)."""
SMALL = 2 * UNIT
"""A job price whose 10% fee (0.2 BTT) is under the 0.5 BTT cap: three misses pass it."""
BALANCES = {"alice": 1_000, "bob": 20_000, "charlie": 100_000, "dave": 100_000, "eve": 1_000}


def outage_chain(**params: int) -> TestChain:
    return make_chain(epoch_slots=EPOCH, balances=dict(BALANCES), params=params)


def post_many(chain: TestChain, n: int, price: int = SMALL, items: int = 4, deadline_ms: int = 60_000,
              who: str = "charlie") -> list[int]:
    """`n` jobs posted in one block (so assigned in one block, their deadlines together)."""
    first = storage.next_job_id.get(chain.view())
    nonce = chain.account(who).nonce
    chain.run_block([
        chain.sign(who, "compute.post_job", MODEL, ZERO_HASH, bytes([i + 1]) * 32, items, price, 1, deadline_ms,
                   nonce=nonce + i)
        for i in range(n)
    ])
    return list(range(first, first + n))


def all_in_one_block(chain: TestChain, who: str, calls: Sequence[tuple[object, ...]]) -> None:
    nonce = chain.account(who).nonce
    xts: list[Extrinsic] = [chain.sign(who, *call, nonce=nonce + i) for i, call in enumerate(calls)]  # type: ignore[arg-type]
    result = chain.run_block(xts)
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes]


def fees_of(chain_events: Sequence[object]) -> list[int]:
    """The missed-deadline fees in a block's events, at the deadline or at a late reveal."""
    return [e.slashed for e in chain_events if isinstance(e, (events.DeadlineMissed, events.LateRevealVerified))]


def until(chain: TestChain, done: object, blocks: int = 400) -> None:
    for _ in range(blocks):
        if done():  # type: ignore[operator]
            return
        chain.run_block([])
    raise AssertionError(f"not done after {blocks} blocks")


# --- an honest provider that was down --------------------------------------------------------------------


def test_an_honest_provider_offline_through_its_commit_windows_pays_a_fixed_fee_each_and_a_capped_share() -> None:
    chain = outage_chain()
    register(chain, "bob", capacity=4, bond=BOND + UNIT)
    jobs = post_many(chain, 4)
    chain.run_block([])
    assert all(job_of(chain, j).assignments[0].provider == acct("bob") for j in jobs)
    charlie0, issued0 = chain.account("charlie"), issuance(chain)
    commit_by = job_of(chain, jobs[0]).assignments[0].commit_by_slot
    while chain.slot <= commit_by:  # bob is down: no commit
        chain.run_block([])
    fees = [e.slashed for e in chain.events() if isinstance(e, events.AssignmentStalled)]
    proportional = [SMALL * FEE_BPS // 10_000] * 2 + [CAP - 2 * SMALL * FEE_BPS // 10_000, 0]  # capped at 0.5 BTT
    assert fees == [FIXED + p for p in proportional]
    assert sum(fees) == 4 * FIXED + CAP
    assert ledger(chain, "bob").total == BOND + UNIT - sum(fees)  # type: ignore[union-attr]
    assert issuance(chain) == issued0 - sum(fees)  # burned: nobody earns from a miss
    assert provider_of(chain, "bob") == Provider(4, 0, 0, assigned=4, stalled=4)
    for j in jobs:  # each job is back in the market at once (no other provider here: it waits)
        job = job_of(chain, j)
        assert job.assignments[0].state == STALLED and job.vacant() == [0] and job.status == JOB_OPEN
    assert providers.is_paused(chain.view(), acct("bob"), now(chain))
    # the requester gets its escrow back, exactly, when the jobs expire unserved
    until(chain, lambda: all(job_of(chain, j).status == JOB_EXPIRED for j in jobs))
    assert chain.account("charlie").free == charlie0.free + 4 * SMALL and chain.account("charlie").reserved == 0
    record = storage.outages.get(chain.view(), acct("bob"))
    assert record is not None and record.charged == CAP  # the capped part; the fixed part is never capped


def test_a_provider_that_committed_went_down_and_came_back_opens_its_samples_late_and_keeps_its_bond() -> None:
    chain = outage_chain()
    register(chain, "bob", capacity=4, bond=BOND + UNIT)  # a unit over the minimum, as an operator keeps
    jobs = post_many(chain, 4)
    chain.run_block([])
    bob = Worker(chain, "bob")
    all_in_one_block(chain, "bob", [("compute.commit_result", j, bob.commitment(j)) for j in jobs])
    bond0, charlie0 = ledger(chain, "bob").total, chain.account("charlie")  # type: ignore[union-attr]
    deadline = job_of(chain, jobs[0]).deadline_ms
    until(chain, lambda: now(chain) >= deadline)  # killed after its commits: the samples are drawn meanwhile
    reveal_by = deadline + LATE_REVEAL
    for j in jobs:
        assert events.DeadlineMissed(j, acct("bob"), SMALL, 0) in chain.events()
        assert events.RevealOverdue(j, acct("bob"), reveal_by) in chain.events()
        assert job_of(chain, j).assignments[0].state == LATE and job_of(chain, j).status == JOB_EXPIRED
    assert chain.account("charlie").free == charlie0.free + 4 * SMALL  # refunded at the deadline, not later
    p = provider_of(chain, "bob")
    assert p is not None and (p.active, p.at_risk, p.failed) == (0, 4, 4)  # each still holds its slash
    assert ledger(chain, "bob").total == bond0  # type: ignore[union-attr]
    # unbonding cannot take the bond the late assignments hold
    assert_noop(chain, "bob", "bonds.unbond", bond0 - 3 * WITHHELD_SLASH, error="BelowMinimum")
    # back up minutes later, well within the late-reveal time: the kept results open their samples
    skip(chain, 40)
    assert now(chain) < reveal_by
    all_in_one_block(chain, "bob", [("compute.reveal_result", *bob.reveal_args(j)) for j in jobs])
    fees = fees_of(chain.events())
    assert sum(fees) == 4 * FIXED + CAP and len(fees) == 4
    assert [e.job_id for e in chain.events() if isinstance(e, events.LateRevealVerified)] == jobs
    assert all(job_of(chain, j).assignments[0].state == MISSED for j in jobs)
    assert ledger(chain, "bob").total == bond0 - 4 * FIXED - CAP  # type: ignore[union-attr]
    assert (bond0 - 4 * FIXED - CAP) * 10_000 // bond0 >= 9_900  # 99% of its bond kept
    assert provider_of(chain, "bob").at_risk == 0  # type: ignore[union-attr]
    assert chain.account("charlie").reserved == 0 and not [e for e in chain.events()
                                                           if isinstance(e, events.JobReceipt)]
    # its pause is long over: it takes work again, and is paid for it
    job_id = post(chain, price=PRICE)
    chain.run_block([])
    assert job_of(chain, job_id).assignments[0].provider == acct("bob")
    assert_ok(bob.work(job_id))
    assert job_of(chain, job_id).assignments[0].state == SETTLED


def test_a_late_reveal_is_taken_until_its_time_and_after_it_the_withholding_slash_stands() -> None:
    chain = outage_chain()
    job_id = assigned_job(chain, deadline_ms=60_000)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(job_id)
    run_to_deadline(chain, job_id)
    reveal_by = job_of(chain, job_id).assignments[0].matures_ms
    assert reveal_by == job_of(chain, job_id).deadline_ms + LATE_REVEAL
    while now(chain) + SLOT_MS < reveal_by - SLOT_MS:
        chain.run_block([])
    last = chain.fork()  # the next block is the last one before the late-reveal time
    assert_ok(Worker(last, "bob").reveal(job_id))
    assert events.LateRevealVerified(job_id, acct("bob"), bob.root(job_id), FIXED + CAP) in last.events()
    chain.run_block([])
    chain.run_block([])  # the block at the late-reveal time: the withholding slash
    assert now(chain) == reveal_by
    assert events.RevealWithheld(job_id, acct("bob"), WITHHELD_SLASH) in chain.events()
    assert ledger(chain, "bob").total == BOND - WITHHELD_SLASH  # type: ignore[union-attr]
    assert_noop(chain, "bob", "compute.reveal_result", *bob.reveal_args(job_id), error="JobNotOpen")


def test_a_paused_provider_is_not_drawn_and_its_jobs_go_to_others_until_the_pause_ends() -> None:
    chain = outage_chain()
    register(chain, "bob", capacity=4, bond=10 * BOND)  # ten times eve's bond: drawn first nine times in ten
    job_id = post(chain, price=SMALL, deadline_ms=60_000)
    chain.run_block([])
    assert job_of(chain, job_id).assignments[0].provider == acct("bob")
    until(chain, lambda: job_of(chain, job_id).assignments[0].state == STALLED)  # bob is down
    paused_until = now(chain) + PAUSE
    assert storage.outages.get(chain.view(), acct("bob")).paused_until_ms == paused_until  # type: ignore[union-attr]
    register(chain, "eve", capacity=4)
    chain.run_block([])
    assert now(chain) < paused_until
    assert job_of(chain, job_id).assignments[0].provider == acct("eve")  # bob's place went to eve
    waiting = post(chain, price=SMALL, deadline_ms=60_000)
    chain.run_block([])
    assert now(chain) < paused_until
    assert job_of(chain, waiting).assignments[0].provider == acct("eve")  # bob is paused, however big its bond
    while now(chain) < paused_until:
        chain.run_block([])
    # after the pause bob is drawn again
    later = post_many(chain, 4)
    chain.run_block([])
    drawn = {job_of(chain, j).assignments[0].provider for j in later if job_of(chain, j).assignments}
    assert acct("bob") in drawn


def test_pauses_in_a_row_double_up_to_the_longest_and_a_commit_makes_the_next_a_first_again() -> None:
    chain = outage_chain()
    register(chain, "bob", capacity=4, bond=BOND + 5 * UNIT)
    lengths: list[int] = []
    while len(lengths) < 5:  # bob stays down: each time its pause ends it is drawn again, and stalls again
        job_id = post(chain, price=SMALL, deadline_ms=600_000)
        until(chain, lambda j=job_id: bool(job_of(chain, j).assignments), blocks=200)  # type: ignore[misc]
        until(chain, lambda j=job_id: job_of(chain, j).assignments[0].state == STALLED)  # type: ignore[misc]
        record = storage.outages.get(chain.view(), acct("bob"))
        assert record is not None
        lengths.append(record.paused_until_ms - now(chain))
        assert_ok(chain.submit("charlie", "compute.cancel_job", job_id))  # a stalled job can be withdrawn
    assert lengths == [min(PAUSE * 2**k, MAX_PAUSE) for k in range(5)] and lengths[-1] == MAX_PAUSE
    # bob is back: a commit ends the pause, and the next miss is paused for the first length again
    until(chain, lambda: not providers.is_paused(chain.view(), acct("bob"), now(chain)), blocks=200)
    served, stalls = post(chain, price=SMALL, deadline_ms=600_000), post(chain, price=SMALL, deadline_ms=600_000)
    chain.run_block([])
    assert_ok(Worker(chain, "bob").commit(served))
    until(chain, lambda: job_of(chain, stalls).assignments[0].state == STALLED)
    record = storage.outages.get(chain.view(), acct("bob"))
    assert record is not None and record.paused_until_ms - now(chain) == PAUSE and record.strikes == 1


def test_a_provider_back_from_its_outage_is_unpaused_by_its_late_reveal() -> None:
    chain = outage_chain()
    register(chain, "bob", capacity=4, bond=BOND + UNIT)
    late = post(chain, price=SMALL, deadline_ms=40_000)
    chain.run_block([])
    bob = Worker(chain, "bob")
    assert_ok(bob.commit(late))  # then bob goes down
    until_sampled(chain, late)
    run_to_deadline(chain, late)
    assert job_of(chain, late).assignments[0].state == LATE
    assert providers.is_paused(chain.view(), acct("bob"), now(chain))
    skip(chain, 3)
    assert_ok(bob.reveal(late))  # back: the late reveal shows it, and ends the pause
    assert not providers.is_paused(chain.view(), acct("bob"), now(chain))
    job_id = post(chain, price=SMALL)
    chain.run_block([])
    assert job_of(chain, job_id).assignments[0].provider == acct("bob")


# --- the ci testnet's scenario, at the runtime level -----------------------------------------------------


def test_a_miner_killed_and_then_paused_for_minutes_keeps_almost_all_of_its_bond() -> None:
    """The `ci` testnet's validator miner (10,000 BTT bond, a clinic posting a 16-item job every 4 s at 1 BTT,
    5-slot epochs), but killed for 3 minutes and later paused for 2: it serves every job it can while up, reveals
    late what it committed before going down, and is charged only fees. Under the old rule each committed
    assignment whose sample was drawn while it was down cost the full withholding slash."""
    dev = {p.name: p.value for p in load_chain_spec("dev").parameters}
    outage_params = {n: dev[n] for n in ("compute.missed_deadline_fee_bps", "compute.max_missed_per_epoch",
                                         "compute.missed_pause_ms", "compute.late_reveal_ms")}
    chain = make_chain(epoch_slots=5, balances={"alice": 1_000, "bob": 20_000, "ferdie": 100_000},
                       params=outage_params)
    register(chain, "bob", capacity=4, bond=10_000 * UNIT)
    bond0 = ledger(chain, "bob").total  # type: ignore[union-attr]
    deadline = 2 * assignment.min_deadline_ms(chain.view())  # the CLI's default
    down = [(30, 210), (300, 420)]  # killed from 30 s to 3:30, paused from 5:00 to 7:00
    bob = Worker(chain, "bob")
    posted = late_revealed = 0
    for second in range(720):
        up = not any(a <= second < b for a, b in down)
        xts: list[Extrinsic] = []
        if second % 4 == 0:
            xts.append(chain.sign("ferdie", "compute.post_job", MODEL, ZERO_HASH, second.to_bytes(32, "big"), 16,
                                  UNIT, 1, deadline))
            posted += 1
        if up:
            nonce = chain.account("bob").nonce
            for _, job in storage.jobs.items(chain.view()):
                a = next((x for x in job.assignments if x.provider == acct("bob")), None)
                if a is None:
                    continue
                if a.state == ASSIGNED:
                    call: tuple[object, ...] = ("compute.commit_result", job.id, bob.commitment(job.id))
                elif (a.state == COMMITTED and bob.sample(job.id)) or a.state == LATE:
                    call = ("compute.reveal_result", *bob.reveal_args(job.id))
                    late_revealed += a.state == LATE
                else:
                    continue
                xts.append(chain.sign("bob", *call, nonce=nonce))  # type: ignore[arg-type]
                nonce += 1
        chain.run_block(xts)
    skip(chain, 60)  # the last windows close
    bond1 = ledger(chain, "bob").total  # type: ignore[union-attr]
    p = provider_of(chain, "bob")
    assert p is not None and p.failed > 0 and late_revealed > 0 and p.completed > 20
    assert p.frauds == 0 and not [e for e in chain.events() if isinstance(e, events.RevealWithheld)]
    lost = bond0 - bond1
    assert 0 < lost * 10_000 // bond0 <= 10, f"lost {lost / UNIT} BTT of {bond0 / UNIT}"  # at most 0.1%
    assert lost <= (720 // 5) * outage_params["compute.max_missed_per_epoch"]  # never more than the cap per epoch
    assert posted == 180


# --- hiding a fraud behind an outage ---------------------------------------------------------------------


def faked_and_quiet(chain: TestChain) -> tuple[int, Worker]:
    """bob commits a result with a faked item its sample then opens, and goes quiet past the deadline."""
    job_id = assigned_job(chain, deadline_ms=60_000)
    probe = Worker(chain.fork(), "bob")
    probe.commit_and_wait(job_id)
    cheat = Worker(chain, "bob", fake=frozenset({probe.sample(job_id)[0]}))
    cheat.commit_and_wait(job_id)
    run_to_deadline(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == LATE
    return job_id, cheat


def test_a_fake_commit_followed_by_going_offline_costs_the_full_slash_late_or_never() -> None:
    chain = outage_chain()
    job_id, cheat = faked_and_quiet(chain)
    issued0 = issuance(chain)
    assert ledger(chain, "bob").total == BOND  # type: ignore[union-attr]  # nothing taken at the deadline
    # the honest outputs do not open the faked commitment
    honest = Worker(chain, "bob")
    assert_noop(chain, "bob", "compute.reveal_result", *honest.reveal_args(job_id), error="CommitmentMismatch")
    # opening it late shows the faked item: the full fraud slash, the requester already refunded
    opened = chain.fork()
    assert_ok(Worker(opened, "bob", fake=cheat.fake).reveal(job_id))
    item = next(iter(cheat.fake))
    assert events.FraudDetected(job_id, acct("bob"), item, FRAUD_SLASH, 0) in opened.events()
    assert job_of(opened, job_id).assignments[0].state == FRAUD
    assert ledger(opened, "bob").total == BOND - FRAUD_SLASH  # type: ignore[union-attr]
    assert provider_of(opened, "bob") == Provider(4, 0, 0, assigned=1, frauds=1)  # counted once, as a fraud
    # never opening it: the full withholding slash when the late-reveal time ends
    quiet = chain.fork()
    until(quiet, lambda: job_of(quiet, job_id).assignments[0].state != LATE)
    assert events.RevealWithheld(job_id, acct("bob"), WITHHELD_SLASH) in quiet.events()
    assert ledger(quiet, "bob").total == BOND - WITHHELD_SLASH == BOND - FRAUD_SLASH  # type: ignore[union-attr]
    assert issuance(quiet) == issued0 - WITHHELD_SLASH
    for c in (opened, quiet):
        assert c.account("charlie").reserved == 0  # refunded once, at the deadline
        assert list(storage.late_reveals.items(c.view())) == []
        assert provider_of(c, "bob").at_risk == 0  # type: ignore[union-attr]


def test_withholding_demanded_outputs_after_a_commit_still_costs_the_full_withholding_slash() -> None:
    chain = outage_chain()
    job_id = assigned_job(chain, items=16, deadline_ms=60_000)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(job_id)
    assert_ok(bob.reveal(job_id))
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    bond0 = ledger(chain, "bob").total  # type: ignore[union-attr]
    close_window(chain, job_id)  # bob "went offline" instead of posting
    assert events.OutputsWithheld(job_id, acct("bob"), WITHHELD_SLASH, PRICE) in chain.events()
    assert ledger(chain, "bob").total == bond0 - WITHHELD_SLASH  # type: ignore[union-attr]
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert storage.outages.get(chain.view(), acct("bob")) is None  # not a missed deadline: no fee path
    assert not [e for e in chain.events() if isinstance(e, events.DeadlineMissed)]


def test_the_fee_never_takes_the_bond_that_covers_other_assignments_holds() -> None:
    chain = outage_chain(**{"compute.max_missed_per_epoch": 30 * UNIT, "compute.missed_deadline_fee_bps": 2_500,
                            "compute.challenge_window_ms": 120_000})
    register(chain, "bob", capacity=4)  # 100 BTT: exactly four holds of 25 (200 BTT x 100 is far above the cap)
    jobs = post_many(chain, 4, price=200 * UNIT)  # a 25% fee would be 50 BTT, the epoch's cap 30
    chain.run_block([])
    hold = holds.hold_of(chain.view(), jobs[0], acct("bob"))
    assert hold == DEFAULT_PARAMS["compute.withheld_slash"][0] and holds.held(chain.view(), acct("bob")) == 4 * hold
    bob = Worker(chain, "bob")
    # three are committed and will be revealed; the fourth is never committed
    all_in_one_block(chain, "bob", [("compute.commit_result", j, bob.commitment(j)) for j in jobs[1:]])
    until(chain, lambda: job_of(chain, jobs[0]).assignments[0].state == STALLED)
    (fee,) = [e.slashed for e in chain.events() if isinstance(e, events.AssignmentStalled)]
    assert fee == BOND - 3 * hold == 25 * UNIT  # only what the three open holds leave: not 50, not the cap's 30
    assert ledger(chain, "bob").total == 3 * hold  # type: ignore[union-attr]
    # each of the three can still cost its full hold; they are revealed and paid
    until(chain, lambda: all(bob.sample(j) for j in jobs[1:]))
    all_in_one_block(chain, "bob", [("compute.reveal_result", *bob.reveal_args(j)) for j in jobs[1:]])
    assert all(job_of(chain, j).assignments[0].state == VERIFIED for j in jobs[1:])
    close_window(chain, jobs[1])
    assert all(job_of(chain, j).assignments[0].state == SETTLED for j in jobs[1:])


# --- no griefing through deadlines -----------------------------------------------------------------------


def test_a_requester_cannot_set_a_provider_up_to_miss() -> None:
    chain = outage_chain()
    shortest = assignment.min_deadline_ms(chain.view())
    assert_noop(chain, "charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, SMALL, 1, shortest - 1,
                error="BadJob")
    # a job left waiting until too little time is left is never assigned: it expires with nobody charged
    job_id = post(chain, price=SMALL, deadline_ms=shortest)
    skip(chain, param(chain, "compute.commit_window_slots") + 1)  # no provider while it could still be assigned
    register(chain, "bob", capacity=4)
    run_to_deadline(chain, job_id)
    assert job_of(chain, job_id).assignments == () and job_of(chain, job_id).status == JOB_EXPIRED
    assert not [e for e in chain.events() if isinstance(e, events.DeadlineMissed)]
    assert ledger(chain, "bob").total == BOND and storage.outages.get(chain.view(), acct("bob")) is None  # type: ignore[union-attr]
    # a job posted with the shortest deadline and assigned at once leaves its provider the whole timetable
    job_id = post(chain, price=SMALL, deadline_ms=shortest)
    chain.run_block([])
    assert_ok(Worker(chain, "bob").work(job_id))
    assert job_of(chain, job_id).assignments[0].state == SETTLED


# --- the parameters -------------------------------------------------------------------------------------


def test_the_outage_parameters_refuse_values_outside_their_bounds() -> None:
    chain = outage_chain()
    for name in ("compute.missed_deadline_fee_bps", "compute.max_missed_per_epoch", "compute.missed_pause_ms",
                 "compute.late_reveal_ms"):
        _, lo, hi, _ = DEFAULT_PARAMS[name]
        assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", name, hi + 1, error="ParameterOutOfRange")
        if lo:
            assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", name, lo - 1,
                                 error="ParameterOutOfRange")
        chain.dispatch(GOVERNANCE, "params.set_parameter", name, hi)
    # the presets: small fees, a cap far below the fraud slash, a late-reveal time of minutes at least
    for preset in ("dev", "btt-21m", "btt-210m"):
        spec = {p.name: p for p in load_chain_spec(preset).parameters}
        assert spec["compute.missed_deadline_fee_bps"].max <= 2_500
        assert spec["compute.max_missed_per_epoch"].value * 50 <= spec["compute.withheld_slash"].value
        assert spec["compute.late_reveal_ms"].min >= 10_000
    live = {p.name: p for p in load_chain_spec("btt-21m").parameters}
    assert live["compute.late_reveal_ms"].min >= 3_600_000  # an hour at least on a live chain
    assert min_price(chain) > 0
