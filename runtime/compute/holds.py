"""What each assignment holds of its provider's bond (spec 14), and what each provider holds in all.

An assignment not yet final may still cost its provider a slash: a fraud its sample or a challenge shows, or a
sample or outputs it withholds. Spec 13 kept one fixed slash (max(`compute.fraud_slash`, `compute.withheld_slash`),
1,000 BTT live) of the bond for each, whatever the job: a 0.0138 BTT floor job tied 1,000 BTT of an honest
provider's bond for its one-day challenge window, so the market's daily throughput was total honest bond / 1,000 BTT
and anyone could buy it for a day at the floor price. Now an assignment holds what its job can cost the network if
the work is fake, fixed when it is made (a parameter changed later moves no hold):

    hold = clamp(portion x `compute.hold_per_price_bps` / 10,000 + the fee of one challenge of it,
                 `compute.min_assignment_hold`, max(`compute.fraud_slash`, `compute.withheld_slash`))

and a fraud or a withholding of it costs exactly that hold (`hold_of`, read before `assignment_state.move` releases
it). Why a multiple of the price: faking a share f of a job's items saves at most f of what it pays, and a sample
that opens one uniformly drawn item (or decoy) catches it with probability at least f, so the expected slash is at
least f x hold >= f x price x `hold_per_price_bps` / 10,000 (100x live): far more than the fake can gain, before any
challenge. The challenge's fee is added so that even a job too cheap to slash much holds what proving its fault
costs; the floor keeps the smallest hold above the missed-assignment fee (genesis validation holds the fee's
bounds below the hold's, so a missed assignment's fee is always there to take once its hold is released:
`outage.charge_fee`); the cap is the old fixed slash, so no assignment holds more than it did.

A provider is drawn for a job only if its active bond covers what it holds already plus that job's hold
(`providers.can_take_one_more`), cannot unbond below what it holds (`providers.bond_floor`), and registers with at least
capacity x `compute.min_assignment_hold`. Assignments made before spec 14 have no entry: each holds the fixed slash
of their time, which the migration to compute storage version 2 records once (`legacy_hold`, `hold_migration`) with
each provider's total; a provider whose total is not written yet (the migration has not reached it) holds
`at_risk` x that slash, the same figure, so the rules read one number however far the migration has gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from btt_chain.primitives.codec import ACCOUNT, AMOUNT
from runtime.overlay import Overlay

from ..bonds import storage as bonds
from ..compute import params, storage
from ..compute.costs import ENVELOPE, ITEM_PREFIX, LISTED_HASH, U64_BYTES, fee, output_width
from ..compute.model import ModelSpec, input_bytes, output_bytes
from ..compute.types import AT_RISK_STATES, Job, Provider
from ..compute.weights import challenge_weight, open_case_weight, tree_depth
from ..items import ID_KEY, StorageMap, StorageValue, u64_key
from ..params.storage import get_param

BPS = 10_000

by_assignment: StorageMap[int] = StorageMap(storage.M, "holds", AMOUNT, key_types=(ID_KEY, ACCOUNT))
"""(job id u64, provider) -> what that assignment holds of the provider's bond, from its assignment until it is final
(spec 14). Absent for an assignment made before spec 14: it holds `legacy_hold`."""

by_provider: StorageMap[int] = StorageMap(storage.M, "held", AMOUNT, key_types=(ACCOUNT,))
"""Provider -> the sum of the holds of its assignments at risk (spec 14); absent at zero, and for a provider the
migration to storage version 2 has not reached yet (it then holds `at_risk` x `legacy_hold`)."""

legacy_hold: StorageValue[int] = StorageValue(storage.M, "legacy_hold", AMOUNT, default=0)
"""The fixed slash an assignment made before spec 14 holds (max of `compute.fraud_slash` and `compute.withheld_slash`
when the migration ran); 0 on a chain born at spec 14 or later, where every assignment has its own hold."""


def hold_key(job_id: int, who: bytes) -> bytes:
    return u64_key(job_id) + who


# --- the figures ---------------------------------------------------------------------------------------------


def max_hold(state: Overlay) -> int:
    """The most one assignment may hold: the larger fixed slash (spec 13's hold of every assignment)."""
    return max(get_param(state, params.FRAUD_SLASH), get_param(state, params.WITHHELD_SLASH))


def min_hold(state: Overlay) -> int:
    """The least a new assignment holds: `compute.min_assignment_hold` (at least one base unit), never above the
    cap."""
    return min(max(1, get_param(state, params.MIN_ASSIGNMENT_HOLD)), max_hold(state))


def challenge_cost(state: Overlay, spec: ModelSpec, items: int, private: bool) -> int:
    """The undiscounted fee of one challenge of an item of a job of `items` items on `spec`: `compute.challenge` (its
    input, output and two Merkle paths), or for a private job `compute.open_case` (the case, its secret, its sealed
    output and key, two paths). Sizes are upper bounds, as `costs` counts them."""
    paths = 2 * ITEM_PREFIX + 2 * tree_depth(items) * LISTED_HASH
    if private:
        length = (ENVELOPE + 2 * U64_BYTES + 2 * ITEM_PREFIX + input_bytes(spec) + output_width(spec, True)
                  + 2 * LISTED_HASH + paths)
        return fee(state, length, open_case_weight(spec, items))
    length = ENVELOPE + 2 * U64_BYTES + LISTED_HASH + 2 * ITEM_PREFIX + input_bytes(spec) + output_bytes(spec) + paths
    return fee(state, length, challenge_weight(spec, items))


def hold_for(state: Overlay, job: Job, portion: int) -> int:
    """What an assignment of `job` escrowing `portion` holds, at today's parameters: the portion times
    `compute.hold_per_price_bps` plus the fee of challenging it, within [`min_hold`, `max_hold`]."""
    reg = storage.models.get(state, job.model)
    private = storage.private_jobs.get(state, job.id) is not None
    challenge = 0 if reg is None else challenge_cost(state, reg.spec, job.items, private)
    value = portion * get_param(state, params.HOLD_PER_PRICE) // BPS + challenge
    return min(max(value, min_hold(state)), max_hold(state))


# --- what is held --------------------------------------------------------------------------------------------


def legacy(state: Overlay) -> int:
    """What an assignment made before spec 14 holds: the fixed slash of its time, as the migration recorded it
    (until then today's, which it was)."""
    return legacy_hold.get(state) or max_hold(state)


def hold_of(state: Overlay, job_id: int, who: bytes) -> int:
    """What `who`'s assignment of job `job_id` holds: its own hold, or for one made before spec 14 `legacy`."""
    amount = by_assignment.get(state, hold_key(job_id, who))
    return legacy(state) if amount is None else amount


def held(state: Overlay, who: bytes, provider: Provider | None = None) -> int:
    """What `who` (record `provider`, if the caller read it) holds of its bond in all: the holds of its assignments
    at risk."""
    total = by_provider.get(state, who)
    if total is not None:
        return total
    # no total: none at risk, or a provider the migration has not reached, all of whose assignments are old
    record = storage.providers.get(state, who) if provider is None else provider
    return 0 if record is None or not record.at_risk else record.at_risk * legacy(state)


def add(state: Overlay, job_id: int, who: bytes, amount: int) -> None:
    """`who`'s new assignment of job `job_id` holds `amount`. Called before its provider record counts it (`held`
    of a provider the migration has not reached reads that record)."""
    _set_total(state, who, held(state, who) + amount)
    by_assignment.put(state, hold_key(job_id, who), amount)


def release(state: Overlay, job_id: int, who: bytes) -> int:
    """`who`'s assignment of job `job_id` holds nothing any more (it is final, or late and ended); returns what it
    held. Called before its provider record stops counting it."""
    amount = hold_of(state, job_id, who)
    _set_total(state, who, held(state, who) - amount)
    by_assignment.remove(state, hold_key(job_id, who))
    return amount


def _set_total(state: Overlay, who: bytes, total: int) -> None:
    if total < 0:
        raise AssertionError(f"0x{who.hex()} would hold {total}: a hold released twice")
    if total:
        by_provider.put(state, who, total)
    else:
        by_provider.remove(state, who)


# --- the books ---------------------------------------------------------------------------------------------------


def floor_problems(state: Overlay, jobs: Iterable[Job]) -> list[str]:
    """The broken parts of the bond-floor rule (`invariants.PARAMETER_RULES["compute.bond_floor"]`), one line each:
    each provider's total held is the sum of its assignments' holds at risk, only assignments at risk have a hold of
    their own, and the provider's active bond covers its total."""
    problems = []
    expected: Counter[bytes] = Counter()
    at_risk = set()
    for job in jobs:
        for a in job.assignments:
            if a.state in AT_RISK_STATES:
                expected[a.provider] += hold_of(state, job.id, a.provider)
                at_risk.add(hold_key(job.id, a.provider))
    n = len(by_assignment.prefix)
    for key, amount in state.iterate(by_assignment.prefix):
        if key[n:] not in at_risk:
            problems.append(f"compute.bond_floor: job {int.from_bytes(key[n:n + 8], 'big')}, provider "
                            f"0x{key[n + 8:].hex()} holds {by_assignment.codec.decode(amount)} and is not at risk")
    owners = set(expected) | {k[len(by_provider.prefix):] for k, _ in state.iterate(by_provider.prefix)}
    for who in sorted(owners):
        total = held(state, who)
        if total != expected[who]:
            problems.append(f"compute.bond_floor: 0x{who.hex()} holds {total} in all; its assignments at risk hold "
                            f"{expected[who]}")
        ledger = bonds.ledger.get(state, who)
        bonded = 0 if ledger is None else ledger.active
        if bonded < total:
            problems.append(f"compute.bond_floor: 0x{who.hex()} has an active bond of {bonded} for the {total} its "
                            "assignments at risk hold")
    return problems
