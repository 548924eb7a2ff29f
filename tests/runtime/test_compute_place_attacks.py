"""A place in the room costs what it blocks (issue 52, findings 1, 2 and 4), tried as an attacker would on a chain
with btt-21m's compute parameters and fees:

1. Rent: every job pays for each slot it holds its place, at the rate the room's occupancy set when it was posted
   (`rent`), burned when it closes whatever the reason; the deposit is reserved with the price, so a post that
   cannot pay both is refused with nothing changed.
2. Eviction compares like with like: a job takes the place of one no provider committed to only if it pays more in
   all; a one-item job on a one-MAC model can no longer evict a clinic's 256-item job.
3. The owners' room is evictable by price like the global room, and a job nobody is able to serve closes after
   `compute.unserved_wait_ms` instead of holding its place to its deadline.
(The week's cost by each route, with rent, is measured in test_compute_market_attacks.py.)

Every block is checked against the runtime's invariants, compute's books included, by the test chain.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.balances.events import Burned
from runtime.compute import costs, events, market, rent, storage
from runtime.compute.types import COMMITTED, JOB_DONE, JOB_EVICTED, JOB_OPEN, JOB_UNSERVED
from tests.runtime.test_compute import MODEL, Worker, issuance, job_of, make_chain, register
from tests.runtime.test_compute_market_attacks import LIVE, LIVE_EPOCH, floor_of, private_model, serve
from tests.runtime.test_compute_outage import until
from tests.support.models import dense_model
from tests.support.private_jobs import Clinic
from tests.support.runtime_builder import DEFAULT_PARAMS, UNIT, TestChain, acct, assert_noop, assert_ok

SYBILS = [f"sybil{i}" for i in range(8)]
ROOM = 40
"""The room of the chain these tests fill: rent follows occupancy in basis points, so a room of 40 places prices
each share of it as btt-21m's 1,000 do."""
WAIT_MS = 60_000
PRICE_FLOOR_MULTIPLE = 10**18


def live_room_chain(**params: int) -> TestChain:
    """btt-21m's compute parameters and fees with a room of `ROOM` places any model may fill, 600-slot epochs."""
    names = [n for n in DEFAULT_PARAMS if n.startswith(("compute.", "fees.")) and n in LIVE]
    return make_chain(epoch_slots=LIVE_EPOCH,
                      balances={"alice": 1_000, "clinic": 100_000, "hog": 100_000, "owner": 10_000,
                                **{s: 100_000 for s in SYBILS}},
                      params={**{n: LIVE[n] for n in names}, "compute.max_open_jobs": ROOM,
                              "compute.max_open_share_bps": 10_000, "compute.max_owner_models_share_bps": 10_000,
                              "compute.unserved_wait_ms": WAIT_MS, **params})


def post(chain: TestChain, who: str, model: bytes, price: int, items: int = 1, seed: int = 1) -> int:
    job_id = storage.next_job_id.get(chain.view())
    assert_ok(chain.submit(who, "compute.post_job", model, ZERO_HASH, seed.to_bytes(32, "big"), items, price, 1,
                           LIVE["compute.max_deadline_ms"]))
    return job_id


def rents(chain: TestChain) -> list[events.PlaceRentPaid]:
    return [e for e in chain.events() if isinstance(e, events.PlaceRentPaid)]


# --- 1. rent ---------------------------------------------------------------------------------------------------


def test_rent_doubles_with_each_share_of_the_room_and_is_burned_for_the_slots_held() -> None:
    chain = live_room_chain(**{"compute.unserved_wait_ms": LIVE["compute.unserved_wait_ms"]})
    model = private_model(chain, "owner", "nobody-serves")  # nobody serves it: the jobs only hold places
    floor = floor_of(chain, model)
    base, doubling = LIVE["compute.place_rent"], LIVE["compute.place_rent_doubling_bps"]
    held = []
    for i in range(ROOM // 2):
        rate = rent.quote(chain.view(), False).rate
        assert rate == rent.rate_at(chain.view(), i + 1)
        whole, part = divmod((i + 1) * 10_000 // ROOM, doubling)
        assert rate == (base << whole) + (base << whole) * part // doubling
        free = chain.account(SYBILS[i % 8]).free
        job_id = post(chain, SYBILS[i % 8], model, floor, seed=i + 1)
        place = rent.place_rents.get(chain.view(), job_id)
        assert place is not None and place.rate == rate
        assert place.deposit == rate * rent.hold_slots(chain.view(), False)
        assert chain.account(SYBILS[i % 8]).free <= free - floor - place.deposit  # and the post's fee
        held.append((job_id, place))
    # half the room taken: ten doublings at 5% a doubling, 1,024 times the empty room's rent
    assert held[-1][1].rate == base << 10
    for _ in range(50):
        chain.run_block([])
    job_id, place = held[-1]
    requester = SYBILS[(ROOM // 2 - 1) % 8]
    reserved = chain.account(requester).reserved
    assert_ok(chain.submit(requester, "compute.cancel_job", job_id))
    (paid,) = rents(chain)
    assert paid.slots == chain.slot - place.from_slot and paid.burned == place.rate * paid.slots
    assert Burned(acct(requester), paid.burned) in chain.events()  # burned: nobody earns it
    assert chain.account(requester).reserved == reserved - floor - place.deposit
    assert rent.place_rents.get(chain.view(), job_id) is None


def test_a_post_that_cannot_pay_its_price_and_rent_deposit_is_refused_and_changes_nothing() -> None:
    chain = live_room_chain(**{"compute.place_rent": UNIT})
    model = private_model(chain, "owner", "nobody-serves")
    floor = floor_of(chain, model)
    deposit = rent.quote(chain.view(), False).deposit
    assert floor < chain.account("alice").free < floor + deposit  # it could pay the price alone
    assert_noop(chain, "alice", "compute.post_job", model, ZERO_HASH, b"\x01" * 32, 1, floor, 1,
                LIVE["compute.max_deadline_ms"], error="spendable")


def test_a_done_job_pays_rent_for_every_slot_it_held_its_place() -> None:
    from tests.runtime.test_compute import post as post_default

    chain = make_chain(params={"compute.place_rent": 10**12})
    register(chain, "bob")
    job_id = post_default(chain, price=10 * PRICE_FLOOR_MULTIPLE)
    place = rent.place_rents.get(chain.view(), job_id)
    assert place is not None and place.rate == rent.rate_at(chain.view(), 1) > 10**12  # one place of 1,000 taken
    chain.run_block([])
    worker = Worker(chain, "bob")
    worker.commit_and_wait(job_id)
    reserved = chain.account("charlie").reserved
    assert_ok(worker.reveal(job_id))
    assert job_of(chain, job_id).status == JOB_DONE  # verified: its place is free (the escrow waits for the window)
    (paid,) = rents(chain)
    assert paid.slots == chain.slot - place.from_slot and paid.burned == place.rate * paid.slots < place.deposit
    assert Burned(acct("charlie"), paid.burned) in chain.events()
    assert chain.account("charlie").reserved == reserved - place.deposit
    assert rent.place_rents.get(chain.view(), job_id) is None


# --- 2. eviction compares like with like ---------------------------------------------------------------------


def test_a_one_item_job_on_a_one_mac_model_no_longer_evicts_a_clinics_256_item_job() -> None:
    chain = live_room_chain(**{"compute.max_open_jobs": 2})
    tiny = dense_model("tiny", (1, 1))
    assert_ok(chain.submit("owner", "compute.register_model", tiny))
    from runtime.compute.model import model_hash

    tiny_hash = model_hash(tiny)
    governance_model = next(m for m, reg in storage.models.items(chain.view()) if reg.owner == ZERO_HASH)
    clinic_job = post(chain, "clinic", governance_model, 50 * UNIT, items=256)
    filler = post(chain, SYBILS[0], tiny_hash, 60 * UNIT)
    cheap = floor_of(chain, tiny_hash)
    clinic_rank = job_of(chain, clinic_job).rank
    assert market.rank(cheap * 2, 1, 1, 1) > clinic_rank  # per unit of work the cheap job outranks the clinic's
    # spec 13 evicted the clinic's 50 BTT job for a sliver of that; now the job must pay more in all
    assert_noop(chain, SYBILS[1], "compute.post_job", tiny_hash, ZERO_HASH, b"\x02" * 32, 1, cheap * 2, 1,
                LIVE["compute.max_deadline_ms"], error="pays 50000000000000000000 in all")
    assert_noop(chain, SYBILS[1], "compute.post_job", tiny_hash, ZERO_HASH, b"\x02" * 32, 1, 50 * UNIT, 1,
                LIVE["compute.max_deadline_ms"], error="offer more")
    # a job paying more in all takes the cheapest place, the clinic's, and the clinic gets its price back
    taker = post(chain, SYBILS[1], tiny_hash, 50 * UNIT + 1, seed=3)
    assert job_of(chain, clinic_job).status == JOB_EVICTED
    assert events.JobEvicted(clinic_job, taker, 50 * UNIT) in chain.events()
    assert job_of(chain, filler).status == JOB_OPEN


# --- 3. the owners' room and jobs nobody serves ---------------------------------------------------------------


def test_sybil_owners_filling_the_owners_share_are_evicted_by_a_job_paying_more() -> None:
    chain = live_room_chain(**{"compute.max_owner_models_share_bps": 2_500, "compute.max_open_share_bps": 2_500})
    cap = market.owner_models_cap(chain.view())
    assert cap == ROOM // 4
    models = [private_model(chain, "owner", f"sybil-model-{i}") for i in range(cap // market.share_cap(chain.view()))]
    floor = floor_of(chain, models[0])
    sybil_jobs = [post(chain, SYBILS[i % 8], models[i % len(models)], floor, seed=i + 1) for i in range(cap)]
    honest = private_model(chain, "clinic", "clinic-model")
    register(chain, "hog", capacity=4, bond=LIVE["compute.min_provider_bond"] + 4 * LIVE["compute.fraud_slash"])
    serve(chain, ("hog",), [honest])
    # at the same price the share stays full, and the refusal changes nothing
    assert_noop(chain, "clinic", "compute.post_job", honest, ZERO_HASH, b"\x09" * 32, 1, floor, 1,
                LIVE["compute.max_deadline_ms"], error="the most they may together")
    # paying more takes the place of the newest of the cheapest
    clinic_job = post(chain, "clinic", honest, floor + 1, seed=9)
    evicted = [j for j in sybil_jobs if job_of(chain, j).status == JOB_EVICTED]
    assert len(evicted) == 1 and storage.open_on_owner_models.get(chain.view()) == cap
    assert job_of(chain, clinic_job).status == JOB_OPEN
    # within one owner's share too: its own cheapest job makes way for its better-paying one
    first_owner_jobs = [j for j in sybil_jobs if job_of(chain, j).model == models[0] and j not in evicted]
    taker = post(chain, SYBILS[0], models[0], floor + 2, seed=10)
    assert sum(job_of(chain, j).status == JOB_EVICTED for j in first_owner_jobs) == 1
    assert job_of(chain, taker).status == JOB_OPEN


def test_a_job_nobody_is_able_to_serve_closes_after_the_wait_and_a_busy_servers_job_waits() -> None:
    chain = live_room_chain()
    orphan_model = private_model(chain, "owner", "nobody-serves")
    served_model = private_model(chain, "owner", "served")
    register(chain, "hog", capacity=1, bond=LIVE["compute.min_provider_bond"] + LIVE["compute.fraud_slash"])
    serve(chain, ("hog",), [served_model])
    floor = floor_of(chain, orphan_model)
    busy = post(chain, "clinic", served_model, floor, seed=1)
    chain.run_block([])
    waiting = post(chain, "clinic", served_model, floor, seed=2)  # the one server is busy with `busy`
    orphan = post(chain, SYBILS[0], orphan_model, floor, seed=3)
    place = rent.place_rents.get(chain.view(), orphan)
    assert place is not None
    reserved = chain.account(SYBILS[0]).reserved
    before = issuance(chain)
    until(chain, lambda: job_of(chain, orphan).status != JOB_OPEN, blocks=WAIT_MS // 1000 + 5)
    assert job_of(chain, orphan).status == JOB_UNSERVED
    assert events.JobClosed(orphan, JOB_UNSERVED, floor) in chain.events()
    (paid,) = rents(chain)
    assert chain.account(SYBILS[0]).reserved == reserved - floor - place.deposit
    assert issuance(chain) == before - paid.burned
    assert job_of(chain, waiting).status == JOB_OPEN  # someone serves its model: it waits its turn
    assert job_of(chain, busy).assignments[0].state in (COMMITTED, 0) or job_of(chain, busy).status == JOB_OPEN


def test_a_private_job_with_no_provider_holding_a_box_key_closes_after_the_wait() -> None:
    chain = live_room_chain()
    register(chain, "hog", capacity=1, bond=LIVE["compute.min_provider_bond"] + LIVE["compute.fraud_slash"])
    clinic = Clinic(chain, "clinic", MODEL)
    assert_ok(clinic.set_key())
    decoys = LIVE["compute.sample_size"]
    clinic.prepare(4 * decoys, decoys)
    floor = costs.min_price(chain.view(), storage.models.get(chain.view(), MODEL).spec, 4 * decoys, 1, decoys)  # type: ignore[union-attr]
    assert_ok(clinic.post(4 * decoys, decoys, floor, LIVE["compute.max_deadline_ms"]))  # the hog has no box key
    job_id = clinic.job_id
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN, blocks=WAIT_MS // 1000 + 5)
    assert job_of(chain, job_id).status == JOB_UNSERVED
