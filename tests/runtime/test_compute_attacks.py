"""Attacks on proof of useful work, each asserting that it fails (issue 11).

- A provider whose accomplice validator authors the blocks after its commit predicts the sample and fakes
  every other item: the sample waits for blocks by k distinct validators, so the prediction is wrong and
  the faker is caught.
- A coalition that authors every block after a commit (the honest validators offline) never gets a sample:
  the job runs into its deadline, the requester is refunded, nobody is paid.
- A faked item outside the sample is shown by a challenge: slashed, the challenger rewarded, the requester
  refunded, no credit. A challenge of an honest item fails and changes nothing but the fee.
- A provider that will not show its outputs is slashed; posted outputs are checked against its root.
- Two redundant providers disagree: the chain re-executes the first differing item and slashes the liar.

Invariants (issuance = balances = supply - burns) are checked after every block by the test chain.
"""

from __future__ import annotations

from btt_chain.primitives.hash_chain import hash_chain_for, mix_seed
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from runtime.compute import events, sample_fix, storage
from runtime.compute.sampling import sample_indices
from runtime.compute.types import COMMITTED, FRAUD, JOB_EXPIRED, JOB_OPEN, SETTLED, VERIFIED
from runtime.consensus import storage as consensus
from tests.runtime.test_compute import (
    BALANCES,
    FRAUD_SLASH,
    OUTPUTS_DUE,
    PRICE,
    WINDOW,
    WITHHELD_SLASH,
    Worker,
    assigned_job,
    close_window,
    issuance,
    job_of,
    ledger,
    make_chain,
    now,
    param,
    post,
    provider_of,
    register,
    until_sampled,
)
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    TEST_HASH_CHAIN_LENGTH,
    GenesisBuilder,
    TestChain,
    acct,
    assert_noop,
    assert_ok,
)

BPS = 10_000
REPORTER_BPS = DEFAULT_PARAMS["slashing.reporter_bps"][0]
THREE = {"alice": 10, "bob": 10, "charlie": 10}
SLASHED = FRAUD_SLASH
REWARD = SLASHED * REPORTER_BPS // BPS


LONG = 150_000
"""A deadline with room for 30-slot commit windows."""


def three_validators(**params: int) -> TestChain:
    """Three validators; with some offline, slots pass without blocks, so commit windows are 30 slots here."""
    params = {"compute.commit_window_slots": 30, **params}
    return GenesisBuilder(balances=dict(BALANCES), validators=THREE, params=params).build()


def predicted_sample(chain: TestChain, job_id: int, provider: str, accomplice: str, blocks: int) -> tuple[int, ...]:
    """The sample a provider could compute before committing if the randomness that fixes it were the chain's
    after the next `blocks` blocks, all authored by its accomplice (whose hash chain it knows)."""
    view = chain.view()
    randomness = consensus.randomness.get(view)
    rs = consensus.reveals.get(view, acct(accomplice))
    reveals = hash_chain_for(dev_keypair(accomplice).seed, TEST_HASH_CHAIN_LENGTH, rs.generation)
    for n in range(blocks):
        randomness = mix_seed(randomness, reveals.reveal(rs.count + 1 + n))
    job = job_of(chain, job_id)
    return sample_indices(sample_fix.sample_seed(randomness, job_id, acct(provider)), job.items,
                          param(chain, "compute.sample_size"))


def item_outside_sample(chain: TestChain, job_id: int, provider: str) -> int:
    """An item the provider's sample will not open. The sample does not depend on the commitment, so an honest
    run of the same blocks on a copy of the chain shows it."""
    probe = Worker(chain.fork(), provider)
    probe.commit_and_wait(job_id)
    sample = probe.sample(job_id)
    return next(i for i in range(job_of(chain, job_id).items) if i not in sample)


def challenge_args(worker: Worker, job_id: int, item: int) -> tuple[object, ...]:
    inputs, outputs = worker.items(job_id)
    li, lo = merkle_levels(inputs), merkle_levels(outputs)
    return (job_id, worker.account, item, inputs[item], outputs[item], merkle_proof(li, item), merkle_proof(lo, item))


# --- the sample cannot be known by a coalition lacking an honest validator ---------------------------


def test_an_accomplice_validator_cannot_make_the_sample_predictable() -> None:
    chain = three_validators()
    register(chain, "eve")  # the cheating provider; bob is her accomplice validator
    job_id = post(chain, "dave", items=64, deadline_ms=LONG)  # charlie validates: dave is the clinic
    chain.run_block([])
    chain.offline = {acct("alice"), acct("charlie")}  # bob authors the commit block and every block after it
    predicted = predicted_sample(chain, job_id, "eve", "bob", blocks=2)
    cheat = Worker(chain, "eve", fake=frozenset(set(range(64)) - set(predicted)))  # 56 of 64 items faked
    assert_ok(cheat.commit(job_id))
    assert chain.author == acct("bob")
    for _ in range(6):
        chain.run_block([])
        assert chain.author == acct("bob")
        assert cheat.sample(job_id) == ()  # the coalition alone never fixes it
    chain.offline = set()
    authors = []
    while not cheat.sample(job_id):
        chain.run_block([])
        authors.append(chain.author)
    assert {acct("alice"), acct("charlie")} <= set(authors)  # honest reveals went into the seed
    assert cheat.sample(job_id) != predicted
    bond0 = ledger(chain, "eve")
    assert bond0 is not None
    out = cheat.reveal(job_id)
    assert_ok(out)
    fraud = [e for e in chain.events() if isinstance(e, events.FraudDetected)]
    assert [(e.provider, e.slashed, e.refunded) for e in fraud] == [(acct("eve"), SLASHED, PRICE)]
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert ledger(chain, "eve").total == bond0.total - SLASHED  # type: ignore[union-attr]
    assert chain.account("dave").reserved == 0
    assert list(storage.pending_credit.items(chain.view())) == []
    assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]


def test_a_coalition_alone_never_fixes_a_sample_and_the_job_expires_unpaid() -> None:
    chain = three_validators()
    register(chain, "eve")
    job_id = post(chain, "dave", items=64, deadline_ms=LONG)
    chain.run_block([])
    chain.offline = {acct("alice"), acct("charlie")}
    cheat = Worker(chain, "eve", fake=frozenset(range(60)))
    assert_ok(cheat.commit(job_id))
    issued0, bond0 = issuance(chain), ledger(chain, "eve")
    while job_of(chain, job_id).status == JOB_OPEN:
        chain.run_block([])
        assert chain.author == acct("bob")
    a = job_of(chain, job_id).assignments[0]
    assert a.sample_seed == bytes(32) and job_of(chain, job_id).status == JOB_EXPIRED
    # no sample was ever drawn: not paid, not slashed, the requester refunded; no fallback seed the coalition knew
    assert events.DeadlineMissed(job_id, acct("eve"), PRICE, 0) in chain.events()
    assert ledger(chain, "eve") == bond0 and issuance(chain) == issued0
    assert chain.account("dave").reserved == 0
    assert list(storage.pending_credit.items(chain.view())) == []
    # the waiting commit is cleared once enough distinct validators author again
    assert storage.samples_waiting.get(chain.view()) == 1
    chain.offline = set()
    while storage.samples_waiting.get(chain.view()):
        chain.run_block([])
    assert list(storage.sample_waiting.items(chain.view())) == []


def test_the_sample_needs_k_distinct_authors_or_every_scheduled_validator() -> None:
    two = GenesisBuilder(balances=dict(BALANCES), validators={"alice": 10, "bob": 10}).build()
    assert sample_fix.required_authors(two.view(), 3) == 2  # fewer validators than k: all of them
    three = three_validators(**{"compute.sample_authors": 2})
    assert sample_fix.required_authors(three.view(), 2) == 2
    register(three, "eve")
    job_id = post(three, items=16, deadline_ms=LONG)
    three.run_block([])
    three.offline = {acct("charlie"), acct("alice")}
    worker = Worker(three, "eve")
    assert_ok(worker.commit(job_id))
    start = job_of(three, job_id).assignments[0].sample_from_slot
    while three.slot < start:
        three.run_block([])
    assert three.author == acct("bob") and worker.sample(job_id) == ()  # one author (bob) from the sample start
    three.offline = {acct("bob"), acct("charlie")}
    three.run_block([])  # alice: the second distinct author fixes it
    assert three.author == acct("alice") and worker.sample(job_id)


def test_too_many_waiting_commits_are_refused_without_changing_anything() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    chain.backend.data[storage.samples_waiting.key] = storage.samples_waiting.codec.encode(4096)  # a full queue
    chain.broken_on_purpose.add("compute.samples_waiting")  # the count, not 4,096 real commits
    assert_noop(chain, "bob", "compute.commit_result", job_id, b"\x01" * 32, error="too many commits")
    assert job_of(chain, job_id).assignments[0].state != COMMITTED


# --- challenges: faked items outside the sample ---------------------------------------------------


def test_a_faked_item_outside_the_sample_is_caught_by_a_challenge() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=64)
    x = item_outside_sample(chain, job_id, "bob")
    cheat = Worker(chain, "bob", fake=frozenset({x}))
    cheat.commit_and_wait(job_id)
    assert x not in cheat.sample(job_id)
    assert_ok(cheat.reveal(job_id))  # the sample alone does not see it
    assert job_of(chain, job_id).assignments[0].state == VERIFIED
    issued0, charlie0, bob0 = issuance(chain), chain.account("charlie"), ledger(chain, "bob")
    out = chain.submit("charlie", "compute.challenge", *challenge_args(cheat, job_id, x))
    assert_ok(out)
    assert events.ChallengeUpheld(job_id, acct("bob"), x, acct("charlie"), SLASHED, REWARD, PRICE) in chain.events()
    # the refunded escrow went straight into the same work posted again for another provider (`reassign`)
    new_id = storage.next_job_id.get(chain.view()) - 1
    assert events.JobReassigned(job_id, acct("bob"), new_id) in chain.events()
    assert chain.account("charlie").free == charlie0.free - out.fee + REWARD
    assert chain.account("charlie").reserved == PRICE == job_of(chain, new_id).price
    assert ledger(chain, "bob").total == bob0.total - SLASHED  # type: ignore[union-attr]
    assert issuance(chain) == issued0 - (SLASHED - REWARD)
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert provider_of(chain, "bob").frauds == 1  # type: ignore[union-attr]
    assert list(storage.maturing.items(chain.view())) == []
    # the window passes: nothing is paid, no credit
    for _ in range(WINDOW // 1000 + 2):
        chain.run_block([])
        assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]
    assert list(storage.pending_credit.items(chain.view())) == []


def test_challenges_that_show_no_fault_fail_and_change_nothing() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=16)
    honest = Worker(chain, "bob")
    args = challenge_args(honest, job_id, 3)
    assert_noop(chain, "charlie", "compute.challenge", *args, error="WrongState")  # nothing verified yet
    honest.commit_and_wait(job_id)
    assert_noop(chain, "charlie", "compute.challenge", *args, error="WrongState")  # committed only
    assert_ok(honest.reveal(job_id))
    j, who, item, inp, outp, ip, op = args
    assert_noop(chain, "charlie", "compute.challenge", *args, error="ChallengeFailed")
    assert_noop(chain, "charlie", "compute.challenge", 99, who, item, inp, outp, ip, op, error="UnknownJob")
    assert_noop(chain, "charlie", "compute.challenge", j, acct("eve"), item, inp, outp, ip, op, error="NotAssigned")
    assert_noop(chain, "charlie", "compute.challenge", j, who, 16, inp, outp, ip, op, error="BadChallenge")
    assert_noop(chain, "charlie", "compute.challenge", j, who, item, inp[:-1], outp, ip, op, error="BadChallenge")
    wrong_out = bytes([(outp[0] + 1) % 256]) + outp[1:]  # type: ignore[index]
    assert_noop(chain, "charlie", "compute.challenge", j, who, item, inp, wrong_out, ip, op, error="BadChallenge")
    other = honest.items(job_id)[0][4]
    assert_noop(chain, "charlie", "compute.challenge", j, who, item, other, outp, ip, op, error="BadChallenge")
    assert_noop(chain, "charlie", "compute.challenge", j, who, 4, inp, outp, ip, op, error="BadChallenge")
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED
    assert_noop(chain, "charlie", "compute.challenge", *args, error="WrongState")  # the window has closed


# --- outputs that must be shown ----------------------------------------------------------------------


def test_a_provider_that_withholds_demanded_outputs_is_slashed_and_unpaid() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, items=16)
    Worker(chain, "bob").commit_and_wait(job_id)
    assert_ok(Worker(chain, "bob").reveal(job_id))
    assert_noop(chain, "eve", "compute.demand_outputs", job_id, acct("bob"), error="NotRequester")
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    a = job_of(chain, job_id).assignments[0]
    assert a.outputs_due_ms == now(chain) + OUTPUTS_DUE and a.matures_ms >= a.outputs_due_ms
    deposit = a.posting_deposit
    assert deposit > 0 and chain.account("charlie").reserved == PRICE + deposit  # the posting fees, reserved
    assert events.OutputsDemanded(job_id, acct("bob"), a.outputs_due_ms, deposit) in chain.events()
    assert_noop(chain, "charlie", "compute.demand_outputs", job_id, acct("bob"), error="already demanded")
    issued0, bond0 = issuance(chain), ledger(chain, "bob")
    close_window(chain, job_id)
    withheld = WITHHELD_SLASH
    assert events.OutputsWithheld(job_id, acct("bob"), withheld, PRICE) in chain.events()
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert ledger(chain, "bob").total == bond0.total - withheld  # type: ignore[union-attr]
    assert issuance(chain) == issued0 - withheld and chain.account("charlie").reserved == 0
    assert not [e for e in chain.events() if isinstance(e, events.JobReceipt)]


def test_posted_outputs_are_checked_and_let_anyone_challenge() -> None:
    chain = make_chain(params={"compute.outputs_due_ms": 30_000})
    job_id = assigned_job(chain, items=16)
    x = item_outside_sample(chain, job_id, "bob")
    cheat = Worker(chain, "bob", fake=frozenset({x}))
    cheat.commit_and_wait(job_id)
    assert_ok(cheat.reveal(job_id))
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    ((first, outputs, proof),) = cheat.chunks(job_id)  # 16 items: one chunk
    ((_, honest_outputs, honest_proof),) = Worker(chain, "bob").chunks(job_id)
    assert_noop(chain, "eve", "compute.post_outputs", job_id, first, outputs, proof, error="NotAssigned")
    assert_noop(chain, "bob", "compute.post_outputs", job_id, first, outputs[:-1], proof, error="BadOutputs")
    assert_noop(chain, "bob", "compute.post_outputs", job_id, first, (outputs[0][:-1], *outputs[1:]), proof,
                error="BadOutputs")
    # the honest outputs are not its root
    assert_noop(chain, "bob", "compute.post_outputs", job_id, first, honest_outputs, honest_proof, error="BadOutputs")
    assert_ok(chain.submit("bob", "compute.post_outputs", job_id, first, outputs, proof))
    assert tuple(storage.posted_outputs(chain.view(), job_id, acct("bob"))) == outputs
    assert_noop(chain, "bob", "compute.post_outputs", job_id, first, outputs, proof, error="already on chain")
    # eve, a stranger, reads the posted outputs, re-executes them and shows the faked one
    out = chain.submit("eve", "compute.challenge", *challenge_args(cheat, job_id, x))
    assert_ok(out)
    assert events.ChallengeUpheld(job_id, acct("bob"), x, acct("eve"), SLASHED, REWARD, PRICE) in chain.events()
    assert tuple(storage.posted_outputs(chain.view(), job_id, acct("bob"))) == ()


# --- redundant providers that disagree --------------------------------------------------------------


def commit_both(chain: TestChain, job_id: int, a: Worker, b: Worker) -> None:
    """Both commit in one block; then blocks until both samples are fixed."""
    chain.run_block([chain.sign(w.name, "compute.commit_result", job_id, w.commitment(job_id)) for w in (a, b)])
    assert all(o.success for o in chain.last_result.outcomes)  # type: ignore[union-attr]
    until_sampled(chain, job_id)


def disputed_job(chain: TestChain) -> tuple[int, Worker, Worker, int]:
    register(chain, "bob")
    register(chain, "eve")
    job_id = post(chain, items=32, redundancy=2)
    chain.run_block([])
    assert {a.provider for a in job_of(chain, job_id).assignments} == {acct("bob"), acct("eve")}
    # the sample does not depend on the commitment: an honest run of the same blocks on a copy shows eve's
    probe = chain.fork()
    commit_both(probe, job_id, Worker(probe, "bob"), Worker(probe, "eve"))
    x = next(i for i in range(32) if i not in Worker(probe, "eve").sample(job_id))
    honest, liar = Worker(chain, "bob"), Worker(chain, "eve", fake=frozenset({x}))
    commit_both(chain, job_id, honest, liar)
    assert x not in liar.sample(job_id)
    assert_ok(honest.reveal(job_id))
    assert_ok(liar.reveal(job_id))  # both samples pass; the roots differ
    assert events.ResultsDiffer(job_id, acct("bob"), acct("eve")) in chain.events()
    due = {a.provider: (a.outputs_due_ms, a.matures_ms) for a in job_of(chain, job_id).assignments}
    assert all(d for d, _ in due.values()) and len({m for _, m in due.values()}) == 1  # one closing time
    return job_id, honest, liar, x


def test_two_redundant_providers_disagree_and_the_chain_slashes_the_liar() -> None:
    chain = make_chain()
    job_id, honest, liar, x = disputed_job(chain)
    eve_bond = ledger(chain, "eve")
    assert_ok(liar.post_all(job_id))
    assert job_of(chain, job_id).assignments[1].state == VERIFIED  # waits for the other side
    assert_ok(honest.post_all(job_id))
    # the chain re-executed item x, the first where they differ: eve's output is wrong
    upheld = [e for e in chain.events() if isinstance(e, events.ChallengeUpheld)]
    portion = job_of(chain, job_id).assignments[1].portion
    assert upheld == [events.ChallengeUpheld(job_id, acct("eve"), x, acct("bob"), SLASHED, REWARD, portion)]
    assert ledger(chain, "eve").total == eve_bond.total - SLASHED  # type: ignore[union-attr]
    states = {a.provider: a.state for a in job_of(chain, job_id).assignments}
    assert states == {acct("bob"): VERIFIED, acct("eve"): FRAUD}
    close_window(chain, job_id)
    receipts = [e for e in chain.events() if isinstance(e, events.JobReceipt)]
    assert [r.provider for r in receipts] == [acct("bob")]
    assert chain.account("charlie").reserved == 0


def test_a_liar_that_hides_its_outputs_in_a_dispute_is_slashed_and_the_honest_side_paid() -> None:
    chain = make_chain()
    job_id, honest, _liar, _x = disputed_job(chain)
    assert_ok(honest.post_all(job_id))
    close_window(chain, job_id)
    withheld = WITHHELD_SLASH
    portion = job_of(chain, job_id).assignments[1].portion
    assert events.OutputsWithheld(job_id, acct("eve"), withheld, portion) in chain.events()
    receipts = [e for e in chain.events() if isinstance(e, events.JobReceipt)]
    assert [r.provider for r in receipts] == [acct("bob")]
    assert {a.provider: a.state for a in job_of(chain, job_id).assignments} == {
        acct("bob"): SETTLED, acct("eve"): FRAUD,
    }
