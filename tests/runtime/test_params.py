"""params: set_bounds narrows a parameter's range inside its genesis range, on the emergency track only; the
seed's figures change only on the emergency track; share groups change together and always sum to 10,000."""

from __future__ import annotations

import pytest

from runtime.context import EMERGENCY, GOVERNANCE, ROOT, Origin
from runtime.params import events, storage
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
)


@pytest.fixture
def chain() -> TestChain:
    return GenesisBuilder().build()


def bounds(chain: TestChain, name: str) -> tuple[int, int]:
    return tuple(storage.bounds.get(chain.view(), name))  # type: ignore[return-value]


def test_emergency_sets_bounds(chain):
    chain.dispatch(EMERGENCY, "params.set_bounds", "compute.payment_burn_bps", 150, 250)
    assert bounds(chain, "compute.payment_burn_bps") == (150, 250)
    assert_last_event(chain, events.BoundsChanged("compute.payment_burn_bps", 100, 300, 150, 250))
    # the value itself is unchanged, and set_parameter now holds it to the new range
    assert storage.value.get(chain.view(), "compute.payment_burn_bps") == 200
    assert_dispatch_noop(chain, EMERGENCY, "params.set_parameter", "compute.payment_burn_bps", 300,
                         error="ParameterOutOfRange")
    chain.dispatch(EMERGENCY, "params.set_parameter", "compute.payment_burn_bps", 250)
    chain.dispatch(ROOT, "params.set_bounds", "fees.base", 0, UNIT // 20)
    assert bounds(chain, "fees.base") == (0, UNIT // 20)


def test_signed_origin_cannot_set_bounds(chain):
    assert_noop(chain, "alice", "params.set_bounds", "fees.base", 0, UNIT, error="BadOrigin")
    assert_dispatch_noop(chain, Origin.signed(acct("alice")), "params.set_bounds", "fees.base", 0, UNIT,
                         error="BadOrigin")


def test_a_standard_referendum_cannot_set_bounds(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_bounds", "fees.base", 0, UNIT, error="BadOrigin")


@pytest.mark.parametrize(
    "name, lo, hi, error",
    [
        ("no.such", 0, 1, "UnknownParameter"),
        ("compute.payment_burn_bps", 250, 150, "InvalidBounds"),
        ("compute.payment_burn_bps", 0, 10_001, "InvalidBounds"),
        ("compute.payment_burn_bps", 201, 300, "BoundsExcludeValue"),
        ("compute.payment_burn_bps", 100, 199, "BoundsExcludeValue"),
        ("compute.payment_burn_bps", 100, 301, "genesis range"),  # never past the seed's range
        ("compute.payment_burn_bps", 99, 300, "genesis range"),
        ("compute.region_factor_bps.remote", 10_000, 20_000, "genesis range"),
    ],
)
def test_set_bounds_refusals_change_nothing(chain, name, lo, hi, error):
    assert_dispatch_noop(chain, EMERGENCY, "params.set_bounds", name, lo, hi, error=error)


def test_bounds_may_pin_the_current_value(chain):
    chain.dispatch(EMERGENCY, "params.set_bounds", "compute.payment_burn_bps", 200, 200)
    assert bounds(chain, "compute.payment_burn_bps") == (200, 200)
    # 'count' parameters are not held to 10,000 (but to their genesis range)
    chain.dispatch(EMERGENCY, "params.set_bounds", "compute.region_factor_bps.remote", 12_000, 15_000)
    assert bounds(chain, "compute.region_factor_bps.remote") == (12_000, 15_000)


# --- attacks from issue 12: a simple majority cannot rewrite the seed or switch a mechanism off -------------

HOUSES = ("governance.house_bps.institutions", "governance.house_bps.compute", "governance.house_bps.holders",
          "governance.house_bps.representatives")


def values(chain: TestChain, names: tuple[str, ...]) -> list[int]:
    return [storage.value.get(chain.view(), n) for n in names]


def test_a_standard_referendum_cannot_change_a_seed_figure(chain):
    for name, value in (("staking.30d.yield_bps", 0), ("staking.30d.yield_bps", 400), ("payments.fee_bps", 50),
                        ("governance.threshold_bps", 9000), ("staking.governance_multiplier_bps", 20_000)):
        assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", name, value, error="EmergencyTrackOnly")
    chain.dispatch(EMERGENCY, "params.set_parameter", "payments.fee_bps", 50)
    assert storage.value.get(chain.view(), "payments.fee_bps") == 50


def test_house_weights_never_change_alone_and_always_sum_to_the_whole(chain):
    # the reported attack: three standard referenda give the institutions 100%
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", HOUSES[0], 10_000, error="EmergencyTrackOnly")
    for origin in (EMERGENCY, ROOT):
        for name in HOUSES:
            assert_dispatch_noop(chain, origin, "params.set_parameter", name, 2_500, error="SharesMustSumToWhole")
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_shares", "governance houses", (2500,) * 4, error="BadOrigin")
    assert_dispatch_noop(chain, EMERGENCY, "params.set_shares", "governance houses", (10_000, 0, 0, 0),
                         error="ParameterOutOfRange")
    assert_dispatch_noop(chain, EMERGENCY, "params.set_shares", "governance houses", (3000, 2500, 3500, 900),
                         error="SharesMustSumToWhole")
    assert_dispatch_noop(chain, EMERGENCY, "params.set_shares", "governance houses", (3000, 2500, 4500),
                         error="InvalidBounds")
    assert_dispatch_noop(chain, EMERGENCY, "params.set_shares", "no group", (10_000,), error="UnknownParameter")
    chain.dispatch(EMERGENCY, "params.set_shares", "governance houses", (2500, 2500, 4000, 1000))
    assert values(chain, HOUSES) == [2500, 2500, 4000, 1000]
    assert_last_event(chain, events.SharesChanged("governance houses", (2500, 2500, 4000, 1000)))


def test_bounds_never_reach_below_a_floor_that_keeps_a_mechanism_on(chain):
    lo, hi = bounds(chain, "governance.quorum_bps")
    assert lo > 0
    assert_dispatch_noop(chain, EMERGENCY, "params.set_bounds", "governance.quorum_bps", 0, hi, error="genesis range")
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", "governance.quorum_bps", 0,
                         error="ParameterOutOfRange")
