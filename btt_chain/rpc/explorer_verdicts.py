"""Why a referendum stands where it stands, in words, for every status.

A rejected or expired referendum carries the reason `runtime.governance.logic.verdict` gave when it closed
(stored with it); an open one is explained by the verdict it would get if voting closed now (the live tally of
`btt_referendum`, computed by the same function), whether that verdict passes or not. A passed, enacted or failed
one is explained by what the runtime checked to let it pass (the figures it stored at the close, `tallyAtClose`)
and what its call did.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from runtime.governance.tally import percent

PPM = 1_000_000


def _pct_ppm(ppm: int) -> str:
    return percent(Fraction(ppm, PPM))


def _pct_bps(bps: int) -> str:
    return percent(Fraction(bps, 10_000))


def passing_reason(tally: dict[str, Any]) -> str:
    """What makes a tally (live, or stored at the close) pass: the aye share against the threshold, the houses in
    favour and the quorum."""
    houses = [name for name, h in tally["houses"].items() if h["inFavour"]]
    favour = tally["housesInFavour"]
    quorum = tally["quorum"]
    circulating = int(quorum["circulating"])
    turnout = percent(Fraction(min(int(quorum["turnout"]), circulating), circulating)) if circulating else "0.00%"
    rule = "at least" if tally["threshold"]["rule"] == "at least" else "more than"
    return (f"aye share {_pct_ppm(tally['ayeSharePpm'])}, {rule} the {tally['threshold']['track']} threshold of "
            f"{_pct_bps(tally['threshold']['thresholdBps'])}; {favour['count']} house"
            f"{'' if favour['count'] == 1 else 's'} in favour ({', '.join(houses) or 'none'}) at or above the "
            f"turnout floor of {_pct_bps(favour['turnoutFloorBps'])}{_voters(favour)}{_weight(favour)}, "
            f"{favour['needed']} needed; "
            f"token holders' turnout {turnout} of the circulating supply, quorum {_pct_bps(quorum['quorumBps'])}")


def _voters(favour: dict[str, Any]) -> str:
    voters = favour.get("minAyeVoters", 1)
    return f" with at least {voters} aye voters each" if voters > 1 else ""


def _weight(favour: dict[str, Any]) -> str:
    """The weight bar the houses were checked against (`governance.house_min_other_aye_bps`), or that the chain
    stored none (a referendum closed before it did): never a bar it did not check."""
    if "otherAyeRecorded" not in favour:
        return ""
    n = favour["otherAyeLeavesOut"]
    whom = ("voting aye" if n <= 0 else "voting aye beyond the largest aye voter" if n == 1
            else f"voting aye beyond the {n} largest aye voters")
    if not favour["otherAyeRecorded"]:
        return f" (the weight {whom} not recorded)"
    return f" and at least {_pct_bps(favour['minOtherAyeBps'])} of the house {whom}"


def explain(ref: dict[str, Any]) -> dict[str, Any]:
    """{status, final, verdict, reason} of a referendum as `btt_referendum` renders it (with `liveTally` or
    `tallyAtClose`):
    `verdict` is the status it has (closed) or would get if voting closed now (open), `final` whether voting has
    closed, and `reason` says why in words."""
    status = ref["status"]
    tally = ref.get("liveTally")
    share = ref.get("ayeSharePpm")
    closed_share = f"aye share {_pct_ppm(share)} when voting closed" if share is not None else "voting closed"
    frozen = ref.get("tallyAtClose")
    if frozen is not None and frozen.get("verdict") == "passed":  # the figures stored at the close: what let it pass
        closed_share = "at the close, " + passing_reason(frozen)
    if status == "voting" and tally is not None:
        verdict = tally["verdict"] or status
        if verdict == "passed":
            reason = "would pass if voting closed now: " + passing_reason(tally)
        else:
            reason = "if voting closed now, " + (tally["verdictReason"] or verdict)
        return {"status": status, "final": False, "verdict": verdict, "reason": reason}
    if status in ("rejected", "expired"):
        reason = ref.get("reason") or f"{status} ({closed_share}; no reason stored)"
    elif status == "passed":
        reason = (f"passed: {closed_share}; the quorum, the houses in favour and the threshold were all met then "
                  f"(the checks that close a referendum); its call is enacted after the enactment delay")
    elif status == "enacted":
        reason = f"passed ({closed_share}) and enacted: its call ran"
    elif status == "failed":
        reason = f"passed ({closed_share}) but its call failed when enacted: {ref.get('error') or 'no error stored'}"
    elif status == "cancelled":
        reason = "cancelled by its proposer before voting closed"
    else:
        reason = status
    return {"status": status, "final": status != "voting", "verdict": status, "reason": reason}
