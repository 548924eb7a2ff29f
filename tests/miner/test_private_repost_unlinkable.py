"""A private job whose provider failed its place is posted again by the clinic (`PrivateClinicLoop.again`) without
telling any provider which items are the cases (the adversarial review of issue 51, finding 1).

The attack: the old repost held the same real cases beside FRESH decoys, so a provider that saw both jobs (or two
that talk) took the items common to both for the cases, faked them and escaped with certainty. Now:
- while the failed job's decoys were never disclosed, the repost holds the very same items (cases and decoys, with
  their labels) in a fresh uniformly random order, under a fresh salt, commitment and sealing secret: the two jobs
  show the same multiset of plaintexts, so intersecting them gives every item, and faking "the common items" fakes
  every decoy too (caught with certainty); the order does not link them either;
- once they were disclosed (revealed on chain: public), the decoys are fresh (none of the public ones comes back)
  and every provider that was handed those items knows the cases: the clinic never seals to one of them again (the
  chain cannot keep a provider out of a private job's draw, so the clinic lets that place lapse and posts again)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from btt_chain.miner import private_clinic
from btt_chain.miner.private_cases import decoys_for, generated_cases
from btt_chain.miner.private_clinic import MAX_DECLINED, PrivateClinicLoop, PrivateJobDriver, cases_of
from btt_chain.miner.private_order import PrivateOrder, mix
from btt_chain.models.decoy_sources import BREAST_CANCER
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.sealed_cases import BoxKeypair, escape_probability, opens_commitment

MODEL = b"\x07" * 32
CASES, DECOYS = 16, 8


def first_job() -> PrivateOrder:
    """What the probe posts: fresh generated cases with decoys from the model's generator."""
    cases, labels = generated_cases(BREAST_CANCER, CASES)
    decoys, decoy_labels = decoys_for(BREAST_CANCER, cases, DECOYS, labels)
    return mix(MODEL, cases, decoys, labels, decoy_labels)


def small_job() -> PrivateOrder:
    cases = [b"case-%02d" % i for i in range(CASES)]
    decoys = [b"decoy-%02d" % i for i in range(DECOYS)]
    return mix(MODEL, cases, decoys, [i % 2 for i in range(CASES)], [i % 2 for i in range(DECOYS)])


@dataclass
class Clinic:
    """A clinic loop whose posts are recorded (no chain): `posted` the orders, `declines` what each was told."""

    lines: list[str] = field(default_factory=list)
    posted: list[PrivateOrder] = field(default_factory=list)
    declines: list[frozenset[str]] = field(default_factory=list)

    def loop(self, monkeypatch: pytest.MonkeyPatch) -> PrivateClinicLoop:
        def post(driver: PrivateJobDriver, price: int, deadline_ms: int) -> int:
            driver.order.job_id = len(self.posted) + 1
            self.posted.append(driver.order)
            self.declines.append(driver.decline)
            return driver.order.job_id

        monkeypatch.setattr(PrivateJobDriver, "post", post)

        def next_decoys(rows: list[bytes], labels: list[int | None], n: int) -> tuple[list[bytes], list[int | None]]:
            return decoys_for(BREAST_CANCER, rows, n, labels)

        return PrivateClinicLoop(None, None, self.lines.append, None, b"", None, MODEL, 1, 1,  # type: ignore[arg-type]
                                 Path("."), lambda n: generated_cases(BREAST_CANCER, n), next_decoys, CASES, DECOYS)


def ended(order: PrivateOrder, state: str, sealed_to: list[str], disclosed: bool = False, declined: bool = False,
          opened: set[int] | None = None) -> PrivateJobDriver:
    """A driver of `order` whose job ended as `state`."""
    if order.job_id is None:
        order.job_id = 99
    d = PrivateJobDriver(None, None, lambda s: None, None, order, Path("."), b"", None)  # type: ignore[arg-type]
    d.done, d.ended_as, d.sealed_to, d.disclosed, d.declined = True, state, list(sealed_to), disclosed, declined
    d.disclosed_cases = set(opened or ())
    return d


def real_of(order: PrivateOrder) -> list[bytes]:
    return [order.items[i] for i in order.real]


def decoys_of(order: PrivateOrder) -> list[bytes]:
    return [order.items[p] for p in order.positions]


# --- the attack of the review, run against the repost ------------------------------------------------------------


@pytest.mark.parametrize("failed", private_clinic.FAILED_PLACE)
def test_intersecting_a_job_and_its_repost_gives_no_information(failed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = Clinic()
    loop = clinic.loop(monkeypatch)
    job1 = first_job()
    job2 = loop.again(ended(job1, failed, ["5Fprovider-A"]))  # failed before its decoys were revealed
    assert job2 is not None
    # the same multiset of plaintexts, each with its label; the same cases and the same decoys
    assert Counter(job2.items) == Counter(job1.items) and len(job2.positions) == len(job1.positions)
    assert Counter(zip(job2.items, job2.labels, strict=True)) == Counter(zip(job1.items, job1.labels, strict=True))
    assert Counter(real_of(job2)) == Counter(real_of(job1)) and Counter(decoys_of(job2)) == Counter(decoys_of(job1))
    # the attacker's move: the items of job 2 it saw in job 1 are "the cases"
    seen = set(job1.items)
    guess = [i for i, x in enumerate(job2.items) if x in seen]
    assert guess == list(range(len(job2.items))) != job2.real  # every item: it singles out nothing
    # faking what it guessed fakes every decoy as well: caught with certainty
    assert escape_probability(len(job2.items), len(job2.positions), len(guess)) == 0
    # faking fewer, it cannot do better than a provider that saw one job: it knows nothing more of where the cases are
    assert escape_probability(24, 8, 1) == escape_probability(len(job2.items), len(job2.positions), 1)
    # a job of its own: fresh salt, secret and positions, and its commitment opens with its own decoys
    assert job2.salt != job1.salt and job2.secret != job1.secret and job2.commitment() != job1.commitment()
    assert job2.job_id is None and job2.provider_key is None
    assert opens_commitment(job2.commitment(), job2.salt, len(job2.items), job2.positions, decoys_of(job2))
    assert any("same decoys in a fresh order" in x and failed in x for x in clinic.lines), clinic.lines


def test_the_repost_order_is_fresh_so_the_order_does_not_link_the_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old mix kept the cases in their order and the decoys in theirs: every pair of items whose order flipped
    between two jobs was a case and a decoy. A uniformly random order flips pairs of cases and pairs of decoys just as
    often, and puts a decoy at any place as often as the chain's odds say (d/n)."""
    loop = Clinic().loop(monkeypatch)
    job1 = small_job()
    n, trials = len(job1.items), 600
    at = Counter[int]()
    kept_case_order = within_flips = cross_flips = 0
    for _ in range(trials):
        job2 = loop.again(ended(job1, "fraud", []))
        assert job2 is not None
        at.update(job2.positions)
        place = {x: k for k, x in enumerate(job2.items)}
        kept_case_order += [place[x] for x in real_of(job1)] == sorted(place[x] for x in real_of(job1))
        for i, j in itertools.combinations(range(n), 2):
            if place[job1.items[i]] > place[job1.items[j]]:
                same = (i in job1.positions) == (j in job1.positions)
                within_flips += same
                cross_flips += not same
    assert kept_case_order == 0  # 1/16! a trial by chance
    # pairs within a group: C(16,2)+C(8,2) = 148 of 276; each pair flips half the time, whatever its groups
    assert within_flips / trials == pytest.approx(148 / 2, rel=0.05)
    assert cross_flips / trials == pytest.approx(128 / 2, rel=0.05)
    # every place holds a decoy about d/n of the time (1/3): 200 expected, binomial sd ~11.5
    assert min(at[k] for k in range(n)) > 120 and max(at[k] for k in range(n)) < 280  # 7 sd either side


def test_after_its_decoys_were_revealed_the_repost_has_fresh_ones_and_skips_who_held_the_cases(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = Clinic()
    loop = clinic.loop(monkeypatch)
    job1 = first_job()
    opened = job1.real[0]
    job2 = loop.again(ended(job1, "fraud", ["5Fprovider-A"], disclosed=True, opened={opened}))
    assert job2 is not None
    public = set(decoys_of(job1)) | {job1.items[opened]}  # on chain for everyone
    assert not public & set(job2.items)  # none of the public decoys (they would point out the cases), no opened case
    assert Counter(real_of(job2)) == Counter(real_of(job1)) - Counter([job1.items[opened]])
    assert len(job2.positions) == DECOYS
    assert loop.informed == {"5Fprovider-A"}
    assert any("fresh decoys" in x and "never to the 1 that held them" in x for x in clinic.lines), clinic.lines
    # the loop hands the repost to a driver that will not seal it to provider A
    loop.start(job2)
    assert clinic.posted == [job2] and clinic.declines == [frozenset({"5Fprovider-A"})]


def test_a_chain_of_reposts_keeps_out_exactly_who_can_tell_the_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """A held job 1 (never revealed); B held job 2, the same items, and its decoys were revealed: A and B both know
    the cases now (A saw the very decoys job 2 revealed). C held job 3 (fresh decoys, never revealed): C does not."""
    loop = Clinic().loop(monkeypatch)
    job1 = first_job()
    job2 = loop.again(ended(job1, "missed", ["A"]))
    assert job2 is not None and Counter(job2.items) == Counter(job1.items) and loop.informed == set()
    job3 = loop.again(ended(job2, "late", ["B"], disclosed=True))
    assert job3 is not None and loop.informed == {"A", "B"} and not set(decoys_of(job1)) & set(job3.items)
    job4 = loop.again(ended(job3, "missed", ["C"]))
    assert job4 is not None and Counter(job4.items) == Counter(job3.items)
    assert loop.informed == {"A", "B"} and loop.holding == {"C"}
    # a job that ends well forgets them all: the next cases are fresh
    assert loop.again(ended(job4, "settled", ["D"])) is None
    assert loop.informed == set() and loop.holding == set()


def test_a_lapsed_place_is_posted_again_the_same_items_until_the_clinic_gives_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = Clinic()
    loop = clinic.loop(monkeypatch)
    job = loop.again(ended(first_job(), "fraud", ["A"], disclosed=True))
    assert job is not None
    for k in range(MAX_DECLINED):
        again = loop.again(ended(job, "void", [], declined=True))
        assert again is not None and Counter(again.items) == Counter(job.items) and loop.declined == k + 1
        job = again
    assert loop.again(ended(job, "void", [], declined=True)) is None  # each lapse costs a fee: it stops
    assert any("giving them up" in x for x in clinic.lines) and loop.informed == set()


def test_a_repost_never_takes_a_revealed_decoy_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoys that come back after their reveal point the cases out to anyone reading the chain: a clinic whose
    decoy source gives the same rows again (a `--decoy-cases` file read from its first row) does not repost."""
    clinic = Clinic()
    loop = clinic.loop(monkeypatch)
    job1 = first_job()
    same = (decoys_of(job1), [job1.labels[p] for p in job1.positions])
    loop.next_decoys = lambda rows, labels, n: same  # type: ignore[assignment,return-value]
    assert loop.again(ended(job1, "fraud", ["A"], disclosed=True)) is None
    assert any("revealed on chain already" in x for x in clinic.lines), clinic.lines


def test_a_loop_of_jobs_takes_fresh_rows_of_a_decoy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`job clinic --decoy-cases FILE.npz` moves on through the file (`decoys_for(..., start=)`); it says when the
    file is used up rather than take revealed rows again."""
    from types import SimpleNamespace

    from btt_chain.miner import private_cases
    from btt_chain.models.decoys import DecoyError

    rows = [b"decoy-row-%02d" % i for i in range(12)]

    class Found(SimpleNamespace):
        def __len__(self) -> int:
            return len(rows)

    monkeypatch.setattr(private_cases, "read_case_file", lambda path, spec: Found(inputs=rows, labels=[]))
    file, spec = tmp_path / "decoys.npz", object()
    first, _ = decoys_for("m", [b"case"], 4, (), file, spec, start=0)  # type: ignore[arg-type]
    second, _ = decoys_for("m", [b"case"], 4, (), file, spec, start=4)  # type: ignore[arg-type]
    assert first == rows[:4] and second == rows[4:8]
    with pytest.raises(DecoyError, match="used by earlier jobs"):
        decoys_for("m", [b"case"], 4, (), file, spec, start=10)  # type: ignore[arg-type]


# --- the driver ----------------------------------------------------------------------------------------------------


@dataclass
class FakeChain:
    """`btt_job` of one private job assigned to `provider`; every submission recorded."""

    provider: str
    key: bytes
    state: str = "assigned"
    status: str = "open"
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    fail: bool = False

    def call(self, method: str, *args: Any) -> Any:
        assert method == "btt_job", method
        return {"status": self.status, "private": {
            "providerKey": "0x" + self.key.hex(), "sealedRoot": None, "outcome": "pending", "decoyPositions": []},
            "assignments": [{"provider": self.provider, "state": self.state, "outputRoot": None}]}

    def submit(self, call: str, args: tuple[Any, ...], wait: bool) -> str:
        self.calls.append((call, args))
        if self.fail:
            raise BttError("refused")
        return "0x00"


def driver_on(chain: FakeChain, path: Path,
              decline: frozenset[str] = frozenset()) -> tuple[PrivateJobDriver, list[str]]:
    order = small_job()
    order.job_id = 5
    lines: list[str] = []
    d = PrivateJobDriver(chain, chain.submit, lines.append, BoxKeypair.from_seed(b"\x01" * 32),  # type: ignore[arg-type]
                         order, path / "job-5.json", b"\x00" * 32, None, decline=decline)  # type: ignore[arg-type]
    return d, lines


def provider_key() -> bytes:
    return BoxKeypair.from_seed(b"\x02" * 32).public.raw


def test_the_driver_never_seals_to_a_provider_that_knows_the_cases(tmp_path: Path) -> None:
    chain = FakeChain("5Finformed", provider_key())
    d, lines = driver_on(chain, tmp_path, frozenset({"5Finformed"}))
    for _ in range(3):
        assert d.tick() is False
    assert chain.calls == [] and d.declined and d.sealed_to == [] and d.order.provider_key is None
    assert sum("not sealing them to it" in x for x in lines) == 1
    chain.state, chain.status = "void", "cancelled"  # its commit window closed without a root
    assert d.tick() is True and d.ended_as == "void"


def test_the_driver_seals_to_anyone_else_and_remembers_whom(tmp_path: Path) -> None:
    chain = FakeChain("5Fother", provider_key())
    d, _ = driver_on(chain, tmp_path, frozenset({"5Finformed"}))
    d.tick()
    assert [c for c, _ in chain.calls] == ["compute.submit_sealed_inputs"] and d.sealed_to == ["5Fother"]
    assert not d.declined


def test_a_reveal_sent_counts_as_disclosed_even_where_it_does_not_land(tmp_path: Path) -> None:
    chain = FakeChain("5Fother", provider_key(), fail=True)
    d, _ = driver_on(chain, tmp_path)
    d.order.provider_key = chain.key
    with pytest.raises(BttError):
        d._reveal({})
    assert d.disclosed  # the extrinsic carried the decoys to every node it reached


# --- against an in-process dev node --------------------------------------------------------------------------------

from tests.miner.test_miner_loop import DevChain, dev  # noqa: E402,F401  (the fixture)
from tests.miner.test_private_flow import CASES as FLOW_CASES  # noqa: E402
from tests.miner.test_private_flow import private_clinic as flow_clinic  # noqa: E402
from tests.miner.test_private_flow import private_miner, run  # noqa: E402


def test_on_a_dev_node_a_fraud_is_posted_again_with_fresh_decoys_and_not_sealed_to_the_same_provider(
        dev: DevChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    miner, _ = private_miner(dev, "alice", tmp_path / "miner")
    miner.engine.fake_items = 1  # the miner fakes its first item, a real case: the clinic opens it, alice is fraud
    driver, clines = flow_clinic(dev, tmp_path, first_is_case=True)
    run(dev, miner, driver, lambda: bool(driver.opened), 150)
    run(dev, miner, driver, lambda: driver.done, 50)
    assert driver.ended_as == "fraud" and driver.disclosed and driver.disclosed_cases == {0}
    alice = dev.address("alice")
    assert driver.sealed_to == [alice]
    loop = PrivateClinicLoop(dev.rpc, driver.submit, clines.append, driver.keypair, driver.genesis, driver.spec,
                             driver.order.model, 10**18, 300_000, tmp_path / "orders", lambda n: ([], []),
                             lambda rows, labels, n: decoys_for(BREAST_CANCER, rows, n, labels), FLOW_CASES, 8)
    order = loop.again(driver)
    assert order is not None and loop.informed == {alice}
    priv = dev.rpc.call("btt_job", driver.order.job_id)["private"]
    assert priv["outcome"] == "checked" and priv["decoyPositions"] == list(driver.order.positions)
    assert not set(decoys_of(driver.order)) & set(order.items)  # the decoys on chain do not come back
    assert driver.order.items[0] not in order.items and len(cases_of(order)[0]) == FLOW_CASES - 1  # opened: public
    repost = loop.start(order)
    # alice, the one provider, is drawn again: the clinic gives no sealed root, its place lapses
    run(dev, miner, repost, lambda: repost.done, 200)
    job = dev.rpc.call("btt_job", repost.job_id)
    assert repost.declined and repost.ended_as == "void" and job["private"]["sealedRoot"] is None
    assert job["private"]["outcome"] == "unsealed"
    again = loop.again(repost)
    assert again is not None and Counter(again.items) == Counter(order.items) and loop.declined == 1
