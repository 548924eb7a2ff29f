"""params: set_bounds moves a parameter's range, on the emergency track only."""

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
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", "compute.payment_burn_bps", 300,
                         error="ParameterOutOfRange")
    chain.dispatch(GOVERNANCE, "params.set_parameter", "compute.payment_burn_bps", 250)
    chain.dispatch(ROOT, "params.set_bounds", "fees.base", 0, UNIT)
    assert bounds(chain, "fees.base") == (0, UNIT)


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
    ],
)
def test_set_bounds_refusals_change_nothing(chain, name, lo, hi, error):
    assert_dispatch_noop(chain, EMERGENCY, "params.set_bounds", name, lo, hi, error=error)


def test_bounds_may_pin_the_current_value(chain):
    chain.dispatch(EMERGENCY, "params.set_bounds", "compute.payment_burn_bps", 200, 200)
    assert bounds(chain, "compute.payment_burn_bps") == (200, 200)
    # 'count' parameters are not held to 10,000
    chain.dispatch(EMERGENCY, "params.set_bounds", "compute.region_factor_bps.remote", 10_000, 20_000)
    assert bounds(chain, "compute.region_factor_bps.remote") == (10_000, 20_000)
