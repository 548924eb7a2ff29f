"""Private jobs under random schedules (issue 51): clinics and providers each behave one of several ways per job,
honest or not, and every rule is checked against what each side did. After every block the test chain checks the
whole-state invariants (compute's books among them, a private job's reveal deposit counted as compute holds it).

Clinic: honest; never seals; gives its sealed root and withholds the items (spec 17); never reveals its decoys; reveals
wrong decoys first (refused) then the right ones; seals one real case as garbage. Provider: honest; skips random items
(computes a made-up output); flags a random item that opens; stalls (never commits); dozes (never reveals); reveals late
(after its job closed, within its late-reveal time; honest or skipping items). The rules:
- an honest provider is never slashed, whatever the clinic does;
- a provider that skipped a decoy, or flagged a decoy that opens, is slashed; one that skipped only real cases is not
  caught by the chain (the clinic may still open a case);
- a clinic that never seals, or gives its root and withholds the sealed items, is refunded less the missed-assignment
  fee and the provider's record is unchanged (it cannot commit to items that are not on chain);
- a clinic that never reveals loses its deposit and the provider is paid without work credit;
- a late reveal lands after the job closed (spec 16): honest work ends with the missed-deadline fee, a skipped decoy
  is a fraud; the decoy cases stay in the state exactly until the late assignment resolves;
- each requester's reserved balance is exactly what compute holds of it.
"""

from __future__ import annotations

import random

import pytest

from runtime.compute import events, storage
from runtime.compute.inputs import output_root
from runtime.compute.invariants import held_by_compute
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    FRAUD,
    JOB_CANCELLED,
    JOB_EXPIRED,
    JOB_OPEN,
    LATE,
    MISSED,
    PRIVATE_CHECKED,
    PRIVATE_UNREVEALED,
    PRIVATE_UNSEALED,
    SETTLED,
    VERIFIED,
    DecoyOpening,
)
from tests.runtime.test_compute import BOND, MODEL, PRICE, register, until_sampled
from tests.support.private_jobs import Clinic, Provider, job_of, record_of
from tests.support.runtime_builder import GenesisBuilder, TestChain, acct

CLINIC_WAYS = ("honest", "never_seals", "withholds_items", "never_reveals", "wrong_then_right", "garbage_case")
PROVIDER_WAYS = ("honest", "skips", "flags_a_good_item", "stalls", "dozes", "reveals_late")
JOBS = 20
DEADLINE = 60_000
"""Near the shortest a private job takes here (8-slot windows): a stalled job runs into it soon."""


def settle(chain: TestChain, job_id: int, limit: int = 400) -> None:
    """Empty blocks until the job's assignment is final (or the job closed without one)."""
    for _ in range(limit):
        job = job_of(chain, job_id)
        if job.assignments and job.assignments[0].state in (SETTLED, FRAUD) or job.status == JOB_CANCELLED:
            return
        if job.assignments and job.assignments[0].state == LATE:
            return
        chain.run_block([])
    raise AssertionError(f"job {job_id} did not end: {job_of(chain, job_id)}")


def one_job(chain: TestChain, rng: random.Random, n: int, clinic_way: str, provider_way: str) -> None:
    items, decoys = rng.choice(((6, 2), (9, 3), (12, 4)))
    clinic = Clinic(chain, "charlie", MODEL, rng=random.Random(rng.random()))
    worker = Provider(chain, "bob")
    assert clinic.post(items, decoys, PRICE, DEADLINE).success
    job_id = clinic.job_id
    for _ in range(120):  # a provider paused after a miss is drawn once its pause ends, if time is left
        chain.run_block([])
        if job_of(chain, job_id).assignments or job_of(chain, job_id).status != JOB_OPEN:
            break
    if not job_of(chain, job_id).assignments:  # nobody took it before its deadline: expired, refunded in full
        assert job_of(chain, job_id).status == JOB_EXPIRED and record_of(chain, job_id).deposit == 0
        return
    a = job_of(chain, job_id).assignments[0]
    assert a.state == ASSIGNED
    before = storage.providers.get(chain.view(), acct("bob"))
    burned_before = chain.account("charlie").reserved
    if clinic_way == "withholds_items":
        clinic.seal()
        assert clinic.submit_sealed(items=False).success
        assert not worker.commit(job_id, clinic.sealed).success  # it holds them off chain: not enough
    if clinic_way in ("never_seals", "withholds_items"):
        settle(chain, job_id)
        job = job_of(chain, job_id)
        assert job.status == JOB_CANCELLED and record_of(chain, job_id).outcome == PRIVATE_UNSEALED
        after = storage.providers.get(chain.view(), acct("bob"))
        assert before is not None and after is not None
        assert (after.failed, after.frauds, after.stalled) == (before.failed, before.frauds, before.stalled)
        return
    clinic.seal()
    garbage = None
    if clinic_way == "garbage_case":
        garbage = rng.choice(clinic.real)
        clinic.sealed[garbage] = bytes(len(clinic.sealed[garbage]))
    assert clinic.submit_sealed().success
    lied_about = None
    if provider_way == "skips" or provider_way == "reveals_late" and rng.random() < 0.5:
        worker.skip = frozenset(rng.sample(range(items), rng.randint(1, 2)))
    if provider_way == "flags_a_good_item":
        lied_about = rng.choice([i for i in range(items) if i != garbage])
        assert chain.submit("bob", "compute.flag_items", job_id, (lied_about,)).success
        worker.skip = frozenset({lied_about})
    if garbage is not None and lied_about != garbage:
        assert chain.submit("bob", "compute.flag_items", job_id, (garbage,)).success  # it truly does not open
    if provider_way == "stalls":
        for _ in range(40):
            chain.run_block([])
            if job_of(chain, job_id).assignments[0].provider != acct("bob") or \
                    job_of(chain, job_id).assignments[0].state != ASSIGNED:
                break
        job = job_of(chain, job_id)
        assert job.assignments[0].state != COMMITTED or job.assignments[0].provider != acct("bob")
        chain.run_block([])
        cancel = chain.submit("charlie", "compute.cancel_job", job_id)
        if not cancel.success:  # bob was drawn again (he is the only provider): let the deadline end it
            for _ in range(120):
                if job_of(chain, job_id).status != 0:
                    break
                chain.run_block([])
        return
    assert worker.commit(job_id, clinic.sealed).success
    if clinic_way == "never_reveals":
        until_sampled(chain, job_id)
        assert record_of(chain, job_id).outcome == PRIVATE_UNREVEALED
    else:
        if clinic_way == "wrong_then_right":
            good = clinic.decoy_openings()
            wrong = (DecoyOpening(good[0].index, bytes(len(good[0].case)), good[0].secret, good[0].proof), *good[1:])
            assert not clinic.reveal(wrong).success
            assert record_of(chain, job_id).outcome != PRIVATE_CHECKED
        out = clinic.reveal()
        assert out.success, out.error
    state = job_of(chain, job_id).assignments[0].state
    decoys_hit = worker.skip & set(clinic.positions)
    lied_on_decoy = lied_about is not None and lied_about in clinic.positions
    if state == FRAUD:  # only a flag on a decoy convicts at the decoy reveal
        assert lied_on_decoy, (clinic_way, provider_way)
        return
    assert not lied_on_decoy
    if provider_way in ("dozes", "reveals_late"):
        settle(chain, job_id)
        assert job_of(chain, job_id).assignments[0].state == LATE  # its reveal window closed: the miss is its own
        if provider_way == "reveals_late":
            reveal_late(chain, rng, clinic, worker, job_id, caught=clinic_way != "never_reveals" and
                        bool(decoys_hit - {garbage}))
        return
    until_sampled(chain, job_id)
    assert worker.reveal(job_id).success
    state = job_of(chain, job_id).assignments[0].state
    checked = clinic_way != "never_reveals"
    if checked and decoys_hit - {garbage}:
        assert state == FRAUD, (clinic_way, provider_way, decoys_hit)
        return
    assert state == VERIFIED, (clinic_way, provider_way, state)
    # the clinic opens a real case the provider lied about (flagged though it opens, or skipped) where it can
    wrong_real = [i for i in clinic.real if i != garbage and (i in worker.skip or i == lied_about)
                  and worker.plain[i] != clinic_truth(clinic, i)]
    if lied_about is not None and lied_about in clinic.real:
        wrong_real = [lied_about]
    if wrong_real and rng.random() < 0.5:
        i = wrong_real[0]
        out = chain.submit("charlie", "compute.open_case", *clinic.open_args(i, worker.outputs[i],
                                                                             worker.output_proof(i)))
        assert out.success, out.error
        assert job_of(chain, job_id).assignments[0].state == FRAUD
        return
    if garbage is not None:  # the clinic cannot show that its garbage item opens
        out = chain.submit("charlie", "compute.open_case", *clinic.open_args(garbage, worker.outputs[garbage],
                                                                             worker.output_proof(garbage)))
        assert not out.success
    settle(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED
    credited = [k for k, _ in storage.pending_credit.items(chain.view()) if int.from_bytes(k[8:16], "big") == job_id]
    assert bool(credited) == checked  # work credit only for work the decoys checked
    assert chain.account("charlie").reserved <= burned_before


def held_decoys(chain: TestChain, job_id: int) -> list[int]:
    prefix = storage.decoy_cases.prefix + job_id.to_bytes(8, "big")
    return sorted(int.from_bytes(k[len(prefix):], "big") for k, _ in chain.view().iterate(prefix))


def reveal_late(chain: TestChain, rng: random.Random, clinic: Clinic, worker: Provider, job_id: int,
                caught: bool) -> None:
    """`worker` reveals its late assignment after the job closed, some blocks into its late-reveal time: the reveal
    lands (spec 15 could not check it: the close had dropped the decoys), a skipped decoy convicts it, honest work
    pays the missed-deadline fee and no slash; the decoys stay held until then and leave with the verdict."""
    while job_of(chain, job_id).status == JOB_OPEN:
        chain.run_block([])
    for _ in range(rng.randrange(4)):
        chain.run_block([])
    assert job_of(chain, job_id).assignments[0].state == LATE
    assert held_decoys(chain, job_id) == sorted(record_of(chain, job_id).positions)
    out = worker.reveal(job_id)
    assert out.success, out.error
    after = job_of(chain, job_id).assignments[0]
    happened = chain.events()
    if caught:
        assert after.state == FRAUD and any(isinstance(e, events.FraudDetected) for e in happened)
    else:
        assert after.state == MISSED and any(isinstance(e, events.LateRevealVerified) for e in happened)
    assert held_decoys(chain, job_id) == []
    for _ in range(3):  # its late-reveal time ending later changes nothing: it is resolved
        chain.run_block([])
        assert not any(isinstance(e, events.RevealWithheld) for e in chain.events())


def clinic_truth(clinic: Clinic, index: int) -> bytes:
    from runtime.compute.inference import infer
    from runtime.compute.models import built

    reg = storage.models.get(clinic.chain.view(), MODEL)
    assert reg is not None
    return infer(built(reg.spec), [clinic.items[index]])[0]


@pytest.mark.parametrize("seed", [1, 2])
def test_private_jobs_keep_every_rule_under_random_schedules(seed: int) -> None:
    rng = random.Random(seed)
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 100_000, "charlie": 100_000, "dave": 1_000, "eve": 1_000},
                           params={"compute.commit_window_slots": 8, "compute.sample_size": 2}).build()
    chain.burns_name_their_source = True  # a clinic that never seals pays a fee: the explorer must call it compute's
    assert Clinic(chain, "charlie", MODEL).set_key().success
    register(chain, "bob", capacity=1, bond=40 * BOND)
    assert Provider(chain, "bob").set_key().success
    seen = set()
    for n in range(JOBS):
        clinic_way, provider_way = rng.choice(CLINIC_WAYS), rng.choice(PROVIDER_WAYS)
        seen.add((clinic_way, provider_way))
        one_job(chain, rng, n, clinic_way, provider_way)
        view = chain.view()
        for who in ("charlie",):
            assert chain.account(who).reserved == held_by_compute(view).get(acct(who), 0), (n, clinic_way,
                                                                                              provider_way)
    assert len(seen) >= 12  # most pairings met


def late_chain(spec: int | None = None) -> TestChain:
    """charlie a clinic with a box key, bob a provider of one place with a box key; under `spec`'s rules."""
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 100_000, "charlie": 100_000},
                           params={"compute.commit_window_slots": 8, "compute.sample_size": 2}).build(spec)
    assert Clinic(chain, "charlie", MODEL).set_key().success
    register(chain, "bob", capacity=1, bond=40 * BOND)
    assert Provider(chain, "bob").set_key().success
    return chain


def late_private_job(skip_a_decoy: bool = False, chain: TestChain | None = None, seed: int = 7,
                     ) -> tuple[TestChain, Clinic, Provider, int]:
    """A private job whose clinic revealed its decoys and whose provider, bob, dozed past the deadline: the job has
    closed with bob's assignment late, within its late-reveal time."""
    chain = chain or late_chain()
    worker = Provider(chain, "bob")
    clinic = Clinic(chain, "charlie", MODEL, rng=random.Random(seed))
    assert clinic.post(6, 2, PRICE, DEADLINE).success
    job_id = clinic.job_id
    while not job_of(chain, job_id).assignments:
        chain.run_block([])
    clinic.seal()
    assert clinic.submit_sealed().success
    if skip_a_decoy:
        worker.skip = frozenset({clinic.positions[0]})
    assert worker.commit(job_id, clinic.sealed).success
    assert clinic.reveal().success
    settle(chain, job_id)  # bob dozes past the deadline: late
    assert job_of(chain, job_id).assignments[0].state == LATE
    while job_of(chain, job_id).status == JOB_OPEN:
        chain.run_block([])
    return chain, clinic, worker, job_id


def test_an_honest_provider_late_on_a_private_job_can_still_reveal_after_the_job_closed() -> None:
    chain, clinic, worker, job_id = late_private_job()
    assert held_decoys(chain, job_id) == sorted(clinic.positions)  # spec 15 dropped them at the close
    bond_before = chain.account("bob").reserved
    out = worker.reveal(job_id)  # within its late-reveal time
    assert out.success, out.error
    assert job_of(chain, job_id).assignments[0].state == MISSED
    (verified,) = [e for e in chain.events() if isinstance(e, events.LateRevealVerified)]
    assert bond_before - chain.account("bob").reserved == verified.slashed  # the fee, never the hold
    assert held_decoys(chain, job_id) == []
    for _ in range(40):
        chain.run_block([])
        assert not any(isinstance(e, events.RevealWithheld) for e in chain.events())


def test_a_late_provider_that_never_reveals_is_slashed_and_the_decoys_leave_with_the_verdict() -> None:
    chain, clinic, worker, job_id = late_private_job()
    assert held_decoys(chain, job_id) == sorted(clinic.positions)
    for _ in range(400):
        chain.run_block([])
        if job_of(chain, job_id).assignments[0].state != LATE:
            break
    assert job_of(chain, job_id).assignments[0].state == MISSED
    assert any(isinstance(e, events.RevealWithheld) for e in chain.events())
    assert held_decoys(chain, job_id) == []
    out = worker.reveal(job_id)
    assert not out.success  # nothing is late any more


def test_a_late_reveal_that_skipped_a_decoy_is_a_fraud() -> None:
    chain, clinic, worker, job_id = late_private_job(skip_a_decoy=True)
    out = worker.reveal(job_id)
    assert out.success, out.error
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert any(isinstance(e, events.FraudDetected) for e in chain.events())
    assert held_decoys(chain, job_id) == []


def test_a_bad_late_reveal_is_refused_and_changes_nothing() -> None:
    chain, clinic, worker, job_id = late_private_job()
    before = (job_of(chain, job_id), record_of(chain, job_id), chain.account("bob").reserved, chain.account("charlie"))
    good = worker.openings(job_id)
    for openings in (good[:-1], (good[1], good[0], *good[2:]), ()):
        out = chain.submit("bob", "compute.reveal_private_result", job_id, output_root(worker.outputs), worker.salt,
                           openings)
        assert not out.success
    out = chain.submit("bob", "compute.reveal_private_result", job_id, output_root(worker.outputs), b"\x45" * 32, good)
    assert not out.success and "Commitment" in (out.error or "")
    after = (job_of(chain, job_id), record_of(chain, job_id), chain.account("bob").reserved, chain.account("charlie"))
    assert after == before  # bob paid each refused call's fee from his free balance, nothing else
    assert held_decoys(chain, job_id) == sorted(clinic.positions)
    assert worker.reveal(job_id).success  # the right one still lands
