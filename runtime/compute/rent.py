"""What a place in the room costs: rent for every slot a job holds it, priced by how full the room is.

Every open job holds one of `compute.max_open_jobs` places from its post to its close, and a place a provider has
committed to cannot be taken back (`market`). Before spec 14 holding it cost nothing but the job's price, and the
floor price is the providers' fees: an attacker's floor jobs, computed honestly by its own providers or by anyone's,
held a place for about 1,300 slots for 0.016 BTT, so the whole room cost about 1,000 BTT a week to keep closed. Now a
job pays rent for each slot it holds its place, at the rate the room's occupancy sets when it is posted:

    rate = compute.place_rent x 2^(occupancy / compute.place_rent_doubling_bps)

with occupancy the open jobs (this one included) in basis points of the room, linear between doublings. An empty
room's rent is a rounding error beside any job's fees; each `compute.place_rent_doubling_bps` of the room taken
doubles it. So whoever fills the room pays for each place it holds at the rate that place's scarcity set, the last
places the most: keeping every place for a week costs the sum of the rates of all of them for every slot of the week
(README, "What closing the market costs"), and a clinic that still finds room pays the rate at the moment it posts.

The rate is fixed at post and a deposit of the rate times the slots a job can hold its place in one round
(`hold_slots`: a commit window of waiting, the whole timetable of an assignment and a private job's sealing window)
is reserved beside the price. When the job closes, for whatever reason, the rent for the slots it held (at most the
deposit) is burned and the rest released: nobody earns rent, so nobody gains from filling the room, and a job that
waits longer than one round is one no provider committed to, which any job paying more takes the place of.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, U64, Nested, Struct
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import assignment, events, params, storage
from ..compute.storage import U128_MAX
from ..compute.types import Job
from ..items import StorageMap, u64_from_key, u64_key
from ..params.storage import get_param

BPS = 10_000
MAX_DOUBLINGS = 96
"""A storage-safe bound on the shift (the rate is capped at u128 anyway)."""


@dataclass(frozen=True)
class PlaceRent(Struct):
    """A job's rent for its place: the rate fixed at its post, the deposit reserved for it, and the slot it took the
    place at."""

    rate: int
    """Base units per slot held."""
    deposit: int
    """Reserved from the requester beside the price: `rate` x `hold_slots` at the post."""
    from_slot: int

    WIRE = (("rate", AMOUNT), ("deposit", AMOUNT), ("from_slot", U64))


place_rents: StorageMap[PlaceRent] = StorageMap("compute", "place_rents", Nested(PlaceRent), u64_key, u64_from_key)
"""Open job id -> its place's rent (spec 14); removed when the job closes. A job open before spec 14 has none: it
pays no rent, as it was posted without."""


def occupancy_bps(state: Overlay, open_jobs: int) -> int:
    """`open_jobs` in basis points of the room (above 10,000 only while the room was shrunk under open jobs)."""
    return open_jobs * BPS // max(1, get_param(state, params.MAX_OPEN_JOBS))


def rate_at(state: Overlay, open_jobs: int) -> int:
    """Base units per slot a place costs when `open_jobs` places (the new one included) are taken."""
    base = get_param(state, params.PLACE_RENT)
    doubling = max(1, get_param(state, params.PLACE_RENT_DOUBLING))
    whole, part = divmod(occupancy_bps(state, open_jobs), doubling)
    at = base << min(whole, MAX_DOUBLINGS)
    return min(U128_MAX, at + at * part // doubling)


def hold_slots(state: Overlay, is_private: bool) -> int:
    """The slots a job can hold its place in one round: a commit window of waiting, the whole timetable of one
    assignment (`assignment.work_slots`) and a private job's sealing window."""
    return (get_param(state, params.COMMIT_WINDOW) + assignment.work_slots(state)
            + assignment.private_slots(state, is_private))


def quote(state: Overlay, is_private: bool, open_jobs: int | None = None) -> PlaceRent:
    """The rent a job posted now would pay: `open_jobs` the places taken with it (default: one more than now)."""
    taken = storage.open_jobs.get(state) + 1 if open_jobs is None else open_jobs
    rate = rate_at(state, taken)
    return PlaceRent(rate, min(U128_MAX, rate * hold_slots(state, is_private)), 0)


def take(ctx: CallContext, job_id: int, rent: PlaceRent) -> None:
    """Job `job_id` takes its place now (the post reserved the deposit with the price)."""
    place_rents.put(ctx.state, job_id, rent.replace(from_slot=ctx.env.slot))


def owed(rent: PlaceRent, slot: int) -> int:
    """The rent for the slots held up to `slot` (the deposit at most)."""
    return min(rent.deposit, rent.rate * max(0, slot - rent.from_slot))


def settle(ctx: CallContext, job: Job) -> int:
    """`job` leaves its place: burn the rent for the slots it held and release the rest of the deposit; returns the
    rent burned."""
    rent = place_rents.get(ctx.state, job.id)
    if rent is None:
        return 0
    place_rents.remove(ctx.state, job.id)
    paid = owed(rent, ctx.env.slot)
    if paid:
        balances.slash_reserved(ctx, job.requester, paid)
    if rent.deposit > paid:
        balances.unreserve(ctx, job.requester, rent.deposit - paid)
    ctx.emit(events.PlaceRentPaid(job.id, max(0, ctx.env.slot - rent.from_slot), paid))
    return paid
