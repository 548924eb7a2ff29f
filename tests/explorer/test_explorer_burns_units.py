"""The explorer's RPC helpers without a node: burns by source count each burn once (`explorer_burns`), every
amount of every event and call has a unit (`explorer_units`), and every referendum status is explained
(`explorer_verdicts`)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import UInt
from btt_chain.rpc import explorer_burns as burns
from btt_chain.rpc import explorer_units, explorer_verdicts
from btt_chain.rpc.render import PHASE_INITIALIZATION
from runtime.balances.events import Burned, DustLost, Transfer
from runtime.bonds.events import BondSlashed
from runtime.compute.events import InputsNotSealed
from runtime.evidence.events import Slashed
from runtime.governance import params as gparams
from runtime.governance.events import VotingClosed
from runtime.metadata.catalog import pallet_sources
from runtime.modules import RUNTIME
from runtime.payments.events import Paid
from runtime.treasury.events import MilestoneBurned

WHO = bytes(range(32))
OTHER = bytes(32)
HASH = b"\x07" * 32


def rec(phase: Any, event: Any) -> list[Any]:
    return [phase, *event.to_record()]


def burned(phase: Any, amount: int) -> list[Any]:
    return rec(phase, Burned(WHO, amount))


def paid(phase: Any, burned_part: int) -> list[Any]:
    return rec(phase, Paid(1, WHO, OTHER, 1_000, 10, burned_part, HASH, 0))


# --- burns: each once ------------------------------------------------------------------------------------


def test_a_reported_burn_counts_once_under_the_module_that_reported_it() -> None:
    records = [rec(0, Transfer(WHO, OTHER, 1_000)), burned(0, 7), paid(0, 7)]
    assert burns.attribute(records) == {"payments": 7}


def test_the_outer_report_names_the_source_and_the_amount_is_still_counted_once() -> None:
    # bonds.slash burns and reports; evidence (its caller) reports the same burn after it
    records = [burned(3, 40), rec(3, BondSlashed(WHO, 40, 10)), rec(3, Slashed(WHO, 40, 10, "equivocation"))]
    assert burns.attribute(records) == {"evidence": 40}


def test_dust_and_unreported_burns_keep_their_own_sources() -> None:
    records = [rec(1, DustLost(WHO, 3)), burned(2, 5)]
    assert burns.attribute(records) == {"dust": 3, "balances": 5}


def test_dust_is_never_claimed_by_a_report_of_the_same_amount() -> None:
    # a payment whose transfer left dust of exactly the fee's burned part: the dust stays dust
    records = [rec(0, DustLost(WHO, 2)), burned(0, 2), paid(0, 2)]
    assert burns.attribute(records) == {"dust": 2, "payments": 2}


def test_two_equal_burns_of_one_module_in_one_phase_are_both_counted() -> None:
    init = PHASE_INITIALIZATION
    records = [burned(init, 100), rec(init, VotingClosed(1, 2, 0, 100)),
               burned(init, 100), rec(init, VotingClosed(2, 3, 0, 100))]
    assert burns.attribute(records) == {"governance": 200}


def test_a_report_without_a_ledger_burn_adds_nothing() -> None:
    # an attacker's view: a module event that says "burned" while issuance did not fall must not count
    assert burns.attribute([paid(0, 9)]) == {}
    assert burns.attribute([burned(0, 9), paid(1, 9)]) == {"balances": 9}, "a report claims only in its own phase"
    assert burns.attribute([paid(0, 9), burned(0, 9)]) == {"balances": 9}, "nor a burn that comes after it"


def test_treasury_milestones_report_in_their_amount() -> None:
    assert burns.attribute([burned(0, 50), rec(0, MilestoneBurned("m1", 50))]) == {"treasury": 50}


def test_a_clinic_that_never_sealed_pays_a_fee_counted_as_compute() -> None:
    # the missed-assignment fee burned from a private job's price is reported in the event's `fee` field
    records = [burned(2, 50), rec(2, InputsNotSealed(1, WHO, 50))]
    assert burns.attribute(records) == {"compute": 50}


def test_only_burn_kinds_are_decoded() -> None:
    assert burns.is_burn_kind("balances", "Burned") and burns.is_burn_kind("balances", "DustLost")
    assert burns.is_burn_kind("payments", "Paid") and burns.is_burn_kind("governance", "VotingClosed")
    assert not burns.is_burn_kind("balances", "Transfer") and not burns.is_burn_kind("balances", "Reserved")
    assert not burns.is_burn_kind("nope", "Nothing")


_EVENTS = st.one_of(
    st.builds(lambda p, a: burned(p, a), st.integers(0, 2), st.integers(1, 4)),
    st.builds(lambda p, a: rec(p, DustLost(WHO, a)), st.integers(0, 2), st.integers(1, 4)),
    st.builds(lambda p, a: paid(p, a), st.integers(0, 2), st.integers(1, 4)),
    st.builds(lambda p, a: rec(p, BondSlashed(WHO, a, 0)), st.integers(0, 2), st.integers(1, 4)),
    st.builds(lambda p, a: rec(p, Slashed(WHO, a, 0, "x")), st.integers(0, 2), st.integers(1, 4)),
    st.builds(lambda p, a: rec(p, Transfer(WHO, OTHER, a)), st.integers(0, 2), st.integers(1, 4)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_EVENTS, max_size=30))
def test_the_sources_always_add_up_to_the_ledger_burns(records: list[list[Any]]) -> None:
    by_source = burns.attribute(records)
    assert sum(by_source.values()) == sum(burns.ledger_amount(r) for r in records)
    assert all(v > 0 for v in by_source.values())


# --- units ------------------------------------------------------------------------------------------


def test_every_amount_of_every_event_and_call_has_a_unit() -> None:
    table = explorer_units.units()
    for pallet in pallet_sources(RUNTIME):
        for cls in pallet.events:
            names = dict(cls.WIRE)
            units = table["events"].get(f"{pallet.module}.{cls.__name__}", {})
            for name, f in cls.WIRE:
                if explorer_units.is_amount(f):
                    assert name in units, f"{pallet.module}.{cls.__name__}.{name} has no unit"
            for name, unit in units.items():
                assert name in names, f"{pallet.module}.{cls.__name__}: unit for a field it lacks: {name}"
                _check_reference(unit, names, f"{pallet.module}.{cls.__name__}")
        for call in pallet.calls:
            args = dict(call.args)
            units = table["calls"].get(f"{pallet.module}.{call.name}", {})
            for name, f in call.args:
                if explorer_units.is_amount(f):
                    assert name in units, f"{pallet.module}.{call.name}({name}) has no unit"
            for name, unit in units.items():
                assert name in args, f"{pallet.module}.{call.name}: unit for an argument it lacks: {name}"
                _check_reference(unit, args, f"{pallet.module}.{call.name}")


def _check_reference(unit: str, fields: dict[str, Any], where: str) -> None:
    kind, _, ref = unit.partition(":")
    assert kind in {"btt", "credit", "points", "bps", "ppm", "votes", "fractions", "param"}, (where, unit)
    if kind == "fractions":
        assert isinstance(fields.get(ref), UInt), f"{where}: {unit} names no asset id field"
    if kind == "param":
        assert ref in fields, f"{where}: {unit} names no parameter field"


def test_what_is_not_btt_is_not_called_btt() -> None:
    table = explorer_units.units()
    events, calls = table["events"], table["calls"]
    assert events["compute.JobReceipt"]["credit"] == "credit" and events["compute.JobReceipt"]["burned"] == "btt"
    assert events["compute.MiningRewarded"] == {"amount": "btt", "credit": "credit"}
    for name in ("Transferred", "OfferPosted", "OfferCancelled", "OfferAccepted"):
        assert events[f"assets.{name}"]["amount"] == "fractions:asset_id", name
    assert events["assets.OfferAccepted"]["price"] == "btt"
    assert events["incentives.Attested"] == {"points": "points"}
    assert events["incentives.RedeemPaid"] == {"requested": "points", "paid": "points", "amount": "btt"}
    assert calls["assets.offer"] == {"amount": "fractions:asset_id", "price": "btt"}
    assert calls["balances.transfer_allow_death"] == {"value": "btt"}
    assert calls["params.set_parameter"] == {"value": "param:name"}
    assert calls["incentives.redeem"] == {"points": "points"}
    assert table["houses"] == {"institutions": "btt", "compute": "credit", "holders": "btt", "representatives": "votes"}
    assert tuple(table["houses"]) == gparams.HOUSES


# --- verdicts ---------------------------------------------------------------------------------------


def _tally(verdict: str | None, reason: str | None) -> dict[str, Any]:
    house = {"inFavour": False}
    return {
        "houses": {"institutions": house, "compute": {"inFavour": True}, "holders": {"inFavour": True},
                   "representatives": house},
        "ayeSharePpm": 950_000,
        "housesInFavour": {"count": 2, "needed": 2, "turnoutFloorBps": 100},
        "quorum": {"turnout": "25", "circulating": "1000", "quorumBps": 100},
        "threshold": {"track": "standard", "thresholdBps": 5000, "rule": "above"},
        "verdict": verdict,
        "verdictReason": reason,
    }


def test_an_open_referendum_says_why_it_would_pass() -> None:
    x = explorer_verdicts.explain({"status": "voting", "liveTally": _tally("passed", None), "ayeSharePpm": None})
    assert x == {"status": "voting", "final": False, "verdict": "passed", "reason": x["reason"]}
    assert x["reason"] == ("would pass if voting closed now: aye share 95.00%, more than the standard threshold of "
                           "50.00%; 2 houses in favour (compute, holders) at or above the turnout floor of 1.00%, 2 "
                           "needed; token holders' turnout 2.50% of the circulating supply, quorum 1.00%")


def test_an_open_referendum_says_why_it_would_not_pass() -> None:
    why = "rejected: 1 house (holders) in favour at or above the turnout floor of 1.00%, 2 needed"
    x = explorer_verdicts.explain({"status": "voting", "liveTally": _tally("rejected", why), "ayeSharePpm": None})
    assert x["verdict"] == "rejected" and x["reason"] == "if voting closed now, " + why


def test_a_closed_referendum_keeps_the_reason_the_chain_stored() -> None:
    stored = "expired: token holders' turnout 0.00% of the circulating supply, below the quorum of 1.00%"
    x = explorer_verdicts.explain({"status": "expired", "reason": stored, "ayeSharePpm": 0,
                                   "liveTally": _tally(None, None)})
    assert x == {"status": "expired", "final": True, "verdict": "expired", "reason": stored}


def test_every_status_is_explained() -> None:
    for status in ("passed", "rejected", "expired", "cancelled", "enacted", "failed"):
        x = explorer_verdicts.explain({"status": status, "ayeSharePpm": 950_000, "reason": None, "error": "boom",
                                       "liveTally": _tally(None, None)})
        assert x["final"] and x["verdict"] == status and len(x["reason"]) > 20, x
    assert "95.00%" in explorer_verdicts.explain({"status": "enacted", "ayeSharePpm": 950_000})["reason"]
    assert "boom" in explorer_verdicts.explain({"status": "failed", "ayeSharePpm": 1, "error": "boom"})["reason"]


def _weighed(recorded: bool, leaves_out: int = 1) -> dict[str, Any]:
    """`_tally` with btt-21m's houses rule as the RPC renders it: 2 aye voters, 1% beyond the largest (or, for a
    referendum closed before the chain stored the weight rule, not recorded)."""
    tally = _tally("passed", None)
    tally["housesInFavour"] |= {"minAyeVoters": leaves_out + 1, "minOtherAyeBps": 100 if recorded else None,
                                "otherAyeLeavesOut": leaves_out, "otherAyeRecorded": recorded}
    return tally


def test_a_passing_reason_names_the_weight_bar_the_houses_met() -> None:
    reason = explorer_verdicts.passing_reason(_weighed(True))
    assert ("2 houses in favour (compute, holders) at or above the turnout floor of 1.00% with at least 2 aye voters "
            "each and at least 1.00% of the house voting aye beyond the largest aye voter, 2 needed;") in reason
    assert "beyond the 2 largest aye voters, 2 needed" in explorer_verdicts.passing_reason(_weighed(True, 2))
    dev = explorer_verdicts.passing_reason(_weighed(True, 0))  # one aye voter asked: the whole aye weight counts
    assert "turnout floor of 1.00% and at least 1.00% of the house voting aye, 2 needed" in dev, dev


def test_a_referendum_closed_before_the_weight_bar_was_stored_claims_no_bar() -> None:
    reason = explorer_verdicts.passing_reason(_weighed(False))
    assert "(the weight voting aye beyond the largest aye voter not recorded), 2 needed" in reason, reason
    assert "at least 1.00% of the house" not in reason  # never a bar the chain did not check
    x = explorer_verdicts.explain({"status": "enacted", "ayeSharePpm": 950_000, "tallyAtClose": _weighed(False)})
    assert "not recorded" in x["reason"] and x["final"], x
    assert "weight" not in explorer_verdicts.passing_reason(_tally("passed", None))  # a node before the rule
