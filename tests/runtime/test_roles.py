"""roles: governance appoints and removes asset verifiers and health oracles and sets the community
representatives; genesis stores the representatives and the founding institutions house."""

from __future__ import annotations

import pytest

from runtime.context import EMERGENCY, GOVERNANCE, Origin
from runtime.overlay import DictState, Overlay
from runtime.roles import events, logic
from runtime.roles import genesis as roles_genesis
from runtime.roles.types import ACTIVITIES, MAX_REPRESENTATIVES
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
)

SIGNED = Origin.signed(acct("alice"))


@pytest.fixture
def chain() -> TestChain:
    return GenesisBuilder(
        institutions={"dave": 500, "eve": 250}, representatives=("eve", "ferdie"), balances={"alice": 1_000}
    ).build()


# --- genesis ----------------------------------------------------------------------------------------------

def test_genesis_stores_the_houses(chain):
    view = chain.view()
    assert logic.representatives(view) == (acct("eve"), acct("ferdie"))
    assert logic.institutions(view) == {acct("dave"): 500 * UNIT, acct("eve"): 250 * UNIT}
    assert logic.institution_share_bps(view) == (7000, 5000, 4000, 2000)
    assert logic.verifiers(view) == ()


def test_genesis_defaults_are_empty():
    view = GenesisBuilder(institution_share_bps=()).build().view()
    assert (logic.representatives(view), logic.institutions(view), logic.institution_share_bps(view)) == ((), {}, ())


@pytest.mark.parametrize(
    "change, message",
    [
        ({"representatives": ("eve", "eve")}, "listed more than once"),
        ({"representatives": tuple(["eve"] * (MAX_REPRESENTATIVES + 1))}, "at most"),
        ({"institution_share_bps": (7000, 8000)}, "must not rise"),
        ({"institution_share_bps": (7000, 0)}, "1..10000"),
        ({"institution_share_bps": (10_001,)}, "1..10000"),
        ({"institutions": {"dave": 0}}, "no voting weight"),
    ],
)
def test_genesis_refuses_bad_house_data(change, message):
    with pytest.raises(ValueError, match=message):
        GenesisBuilder(**change).build()  # type: ignore[arg-type]


def test_genesis_refuses_an_institution_twice():
    with pytest.raises(ValueError, match="appears twice"):
        roles_genesis.build(Overlay(DictState()), (), ((acct("dave"), 1), (acct("dave"), 2)), ())


# --- verifiers --------------------------------------------------------------------------------------------

def test_governance_appoints_and_removes_a_verifier(chain):
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("bob"))
    assert_last_event(chain, events.VerifierAppointed(acct("bob")))
    assert logic.is_verifier(chain.view(), acct("bob"))
    assert not logic.is_verifier(chain.view(), acct("charlie"))
    chain.dispatch(EMERGENCY, "roles.appoint_verifier", acct("charlie"))
    assert set(logic.verifiers(chain.view())) == {acct("bob"), acct("charlie")}
    chain.dispatch(GOVERNANCE, "roles.remove_verifier", acct("bob"))
    assert_last_event(chain, events.VerifierRemoved(acct("bob")))
    assert not logic.is_verifier(chain.view(), acct("bob"))
    assert logic.verifiers(chain.view()) == (acct("charlie"),)


def test_verifier_refusals_change_nothing(chain):
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("bob"))
    assert_dispatch_noop(chain, GOVERNANCE, "roles.appoint_verifier", acct("bob"), error="AlreadyVerifier")
    assert_dispatch_noop(chain, GOVERNANCE, "roles.remove_verifier", acct("charlie"), error="NotVerifier")


@pytest.mark.parametrize("call", ["roles.appoint_verifier", "roles.remove_verifier"])
def test_signed_origin_cannot_change_verifiers(chain, call):
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("bob"))
    assert_noop(chain, "alice", call, acct("bob"), error="BadOrigin")
    assert_dispatch_noop(chain, SIGNED, call, acct("bob"), error="BadOrigin")


# --- oracles ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activity", ACTIVITIES)
def test_governance_appoints_and_removes_an_oracle(chain, activity):
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", activity, acct("bob"))
    assert_last_event(chain, events.OracleAppointed(activity, acct("bob")))
    assert logic.is_oracle(chain.view(), activity, acct("bob"))
    others = [a for a in ACTIVITIES if a != activity]
    assert not any(logic.is_oracle(chain.view(), a, acct("bob")) for a in others)
    assert logic.oracles_of(chain.view(), activity) == (acct("bob"),)
    chain.dispatch(GOVERNANCE, "roles.remove_oracle", activity, acct("bob"))
    assert_last_event(chain, events.OracleRemoved(activity, acct("bob")))
    assert not logic.is_oracle(chain.view(), activity, acct("bob"))
    assert logic.oracles_of(chain.view(), activity) == ()


def test_oracles_of_one_activity_do_not_leak_into_a_prefix_sibling(chain):
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("bob"))
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("charlie"))
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "preventive_visit", acct("dave"))
    assert set(logic.oracles_of(chain.view(), "referral")) == {acct("bob"), acct("charlie")}
    assert logic.oracles_of(chain.view(), "preventive_visit") == (acct("dave"),)
    assert not logic.is_oracle(chain.view(), "no_such_activity", acct("bob"))


def test_oracle_refusals_change_nothing(chain):
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("bob"))
    assert_dispatch_noop(chain, GOVERNANCE, "roles.appoint_oracle", "referral", acct("bob"), error="AlreadyOracle")
    assert_dispatch_noop(chain, GOVERNANCE, "roles.remove_oracle", "preventive_visit", acct("bob"),
                         error="NotOracle")
    assert_dispatch_noop(chain, GOVERNANCE, "roles.appoint_oracle", "dentistry", acct("bob"), error="UnknownActivity")
    assert_dispatch_noop(chain, GOVERNANCE, "roles.remove_oracle", "dentistry", acct("bob"), error="UnknownActivity")


@pytest.mark.parametrize("call", ["roles.appoint_oracle", "roles.remove_oracle"])
def test_signed_origin_cannot_change_oracles(chain, call):
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("bob"))
    assert_noop(chain, "alice", call, "referral", acct("bob"), error="BadOrigin")
    assert_dispatch_noop(chain, SIGNED, call, "referral", acct("bob"), error="BadOrigin")


# --- representatives --------------------------------------------------------------------------------------

def test_governance_sets_the_representatives(chain):
    new = [acct("bob"), acct("charlie"), acct("dave")]
    chain.dispatch(GOVERNANCE, "roles.set_representatives", new)
    assert_last_event(chain, events.RepresentativesChanged(3))
    assert logic.representatives(chain.view()) == tuple(new)
    chain.dispatch(GOVERNANCE, "roles.set_representatives", [])
    assert logic.representatives(chain.view()) == ()


def test_the_house_holds_at_most_max_representatives(chain):
    many = [bytes([i // 256, i % 256]) * 16 for i in range(MAX_REPRESENTATIVES + 1)]
    chain.dispatch(GOVERNANCE, "roles.set_representatives", many[:MAX_REPRESENTATIVES])
    assert len(logic.representatives(chain.view())) == MAX_REPRESENTATIVES
    assert_dispatch_noop(chain, GOVERNANCE, "roles.set_representatives", many, error="TooManyRepresentatives")


def test_representative_refusals_change_nothing(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "roles.set_representatives", [acct("bob"), acct("charlie"), acct("bob")],
                         error="DuplicateRepresentative")
    assert logic.representatives(chain.view()) == (acct("eve"), acct("ferdie"))


def test_signed_origin_cannot_set_the_representatives(chain):
    assert_noop(chain, "alice", "roles.set_representatives", [acct("alice")], error="BadOrigin")
    assert_dispatch_noop(chain, SIGNED, "roles.set_representatives", [acct("alice")], error="BadOrigin")
