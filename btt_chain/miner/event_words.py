"""What each compute event says, in words, to the parties that watch it: the requester (a clinic, `clinic.py`), the
provider the event names (a miner, `rpc_loop.py`), and a rival provider of the same job (the miner that found or
reported the difference). One table, each event's sentences side by side, so a new event or a changed one is
written for every party at once; the watchers keep only what they do about an event (their books, a rebond, a
check), not how they say it.

A sentence is a function of the event's fields (`Said`); it returns None where that party has nothing to say (a
job closed as done: its receipt said it already).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.compute.reassign import SKIP_REASONS as REASSIGN_SKIPPED
from runtime.compute.types import JOB_STATES


@dataclass(frozen=True)
class Said:
    """One event as a watcher saw it: its fields, the block it is in, how amounts are written, and who is watching."""

    ev: Mapping[str, Any]
    number: int
    btt: Callable[[int | str], str]
    me: str = ""
    """The watching account's address (the rival's sentences name the other provider)."""

    @property
    def jid(self) -> Any:
        return self.ev.get("job_id")

    @property
    def other(self) -> str:
        """The provider of a ResultsDiffer that is not the watcher."""
        return str(self.ev["provider_b"] if self.ev.get("provider_a") == self.me else self.ev.get("provider_a"))


Sentence = Callable[[Said], "str | None"]


@dataclass(frozen=True)
class EventWords:
    requester: Sentence | None = None
    provider: Sentence | None = None
    rival: Sentence | None = None


def clock(ms: int) -> str:
    """A chain time in ms as a UTC wall-clock time."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%H:%M:%S UTC")


def _deadline_missed(s: Said) -> str:
    fee = f", missed-deadline fee {s.btt(s.ev['slashed'])}" if int(s.ev["slashed"]) else ""
    return f"job #{s.jid} deadline missed in block #{s.number}: {s.btt(s.ev['refunded'])} refunded{fee}"


def _job_closed(s: Said) -> str | None:
    if s.ev["status"] == JOB_STATES.index("done"):
        return None
    return f"job #{s.jid} {JOB_STATES[s.ev['status']]} in block #{s.number}; {s.btt(s.ev['refunded'])} refunded"


WORDS: dict[str, EventWords] = {
    "RequesterLowBalance": EventWords(
        requester=lambda s: f"block #{s.number}: the chain needed {s.btt(s.ev['needed'])} of this clinic's spendable "
                            "balance for a job of its own and it had less: top the account up",
    ),
    "JobAssigned": EventWords(
        requester=lambda s: f"job #{s.jid} assigned to {s.ev['provider']} in block #{s.number}",
        provider=lambda s: f"job #{s.jid} assigned in block #{s.number} (escrow {s.btt(s.ev['portion'])})",
    ),
    "JobReceipt": EventWords(
        requester=lambda s: f"job #{s.jid} receipt in block #{s.number}: {s.btt(s.ev['payment'])} settled, "
                            f"{s.btt(s.ev['burned'])} burned, {s.btt(s.ev['provider_paid'])} to the provider",
        provider=lambda s: f"job #{s.jid} receipt in block #{s.number}: paid {s.btt(s.ev['provider_paid'])} of "
                           f"{s.btt(s.ev['payment'])} escrow ({s.btt(s.ev['burned'])} burned), work credit "
                           f"{s.ev['credit']}",
    ),
    "FraudDetected": EventWords(
        requester=lambda s: f"job #{s.jid}: provider {s.ev['provider']} caught faking item {s.ev['item']}; "
                            f"{s.btt(s.ev['refunded'])} refunded",
        provider=lambda s: f"job #{s.jid} FRAUD detected at item {s.ev['item']} in block #{s.number}: bond slashed "
                           f"{s.btt(s.ev['slashed'])}, requester refunded {s.btt(s.ev['refunded'])}",
    ),
    "DeadlineMissed": EventWords(
        requester=lambda s: f"job #{s.jid}: provider {s.ev['provider']} missed the deadline; "
                            f"{s.btt(s.ev['refunded'])} refunded",
        provider=_deadline_missed,
    ),
    "AssignmentStalled": EventWords(
        requester=lambda s: f"job #{s.jid}: provider {s.ev['provider']} did not commit in its window; the job is back "
                            "in the market",
        provider=lambda s: f"job #{s.jid}: our commit window closed in block #{s.number} without a commit: the job "
                           f"went back to the market, missed-assignment fee {s.btt(s.ev['slashed'])}",
    ),
    "AssignmentWithdrawn": EventWords(
        provider=lambda s: f"job #{s.jid}: evicted by job #{s.ev['by']} in block #{s.number} before we committed: "
                           "nothing owed either way",
    ),
    "RevealMissed": EventWords(
        requester=lambda s: f"job #{s.jid}: provider {s.ev['provider']} did not reveal in its window; "
                            f"{s.btt(s.ev['refunded'])} refunded",
        provider=lambda s: f"job #{s.jid}: our reveal window closed in block #{s.number}: "
                           f"{s.btt(s.ev['refunded'])} refunded to the requester",
    ),
    "RevealOverdue": EventWords(
        provider=lambda s: f"job #{s.jid}: our reveal is overdue (no pay); the sample can still be opened until "
                           f"{clock(s.ev['reveal_by_ms'])}, or the bond loses the withholding slash",
    ),
    "LateRevealVerified": EventWords(
        provider=lambda s: f"job #{s.jid}: late reveal verified in block #{s.number}: no slash, the missed-assignment "
                           f"fee of {s.btt(s.ev['slashed'])} only",
    ),
    "RevealWithheld": EventWords(
        provider=lambda s: f"job #{s.jid}: sample never opened, bond slashed {s.btt(s.ev['slashed'])} in block "
                           f"#{s.number}",
    ),
    "SampleVerified": EventWords(
        provider=lambda s: f"job #{s.jid} sample verified in block #{s.number}: paid when the challenge window closes",
    ),
    "OutputsDemanded": EventWords(
        provider=lambda s: f"job #{s.jid}: outputs demanded in block #{s.number}, due on chain by "
                           f"{clock(s.ev['due_ms'])}",
    ),
    "OutputsPosted": EventWords(
        requester=lambda s: f"job #{s.jid}: {s.ev['provider']} posted its {s.ev['items']} outputs on chain in block "
                            f"#{s.number}",
    ),
    "OutputsWithheld": EventWords(
        requester=lambda s: f"job #{s.jid}: {s.ev['provider']} withheld its outputs: slashed "
                            f"{s.btt(s.ev['slashed'])}, {s.btt(s.ev['refunded'])} refunded",
        provider=lambda s: f"job #{s.jid}: outputs withheld, bond slashed {s.btt(s.ev['slashed'])} in block "
                           f"#{s.number}",
    ),
    "ResultsDiffer": EventWords(
        rival=lambda s: f"job #{s.jid}: our output root differs from {s.other}'s (block #{s.number}): both owe "
                        "their outputs on chain",
    ),
    "ChallengeUpheld": EventWords(
        requester=lambda s: f"job #{s.jid}: challenge upheld in block #{s.number}: {s.ev['provider']} slashed "
                            f"{s.btt(s.ev['slashed'])}, challenger reward {s.btt(s.ev['reward'])}, "
                            f"{s.btt(s.ev['refunded'])} refunded",
        provider=lambda s: f"job #{s.jid}: a challenge proved item {s.ev['item']} WRONG in block #{s.number}: bond "
                           f"slashed {s.btt(s.ev['slashed'])}, requester refunded {s.btt(s.ev['refunded'])}",
        rival=lambda s: f"job #{s.jid}: {s.ev['provider']}'s item {s.ev['item']} proven wrong in block #{s.number}: "
                        f"{s.btt(s.ev['reward'])} to us as its reporter, {s.ev['provider']} slashed "
                        f"{s.btt(s.ev['slashed'])}",
    ),
    "ResultVoided": EventWords(
        requester=lambda s: f"job #{s.jid}: the result of {s.ev['provider']} was voided (an unsettled dispute); "
                            f"{s.btt(s.ev['refunded'])} refunded",
        provider=lambda s: f"job #{s.jid}: result voided in block #{s.number} (an unsettled dispute): not paid",
    ),
    "JobReassigned": EventWords(
        requester=lambda s: f"job #{s.jid}: the place of {s.ev['provider']} ended without a verified result; it was "
                            f"posted again as job #{s.ev['new_job']} for another provider, same cases and deadline",
    ),
    "ReassignSkipped": EventWords(
        requester=lambda s: f"job #{s.jid}: the place of {s.ev['provider']} ended without a verified result and was "
                            f"not posted again: {REASSIGN_SKIPPED[int(s.ev['reason'])]}",
    ),
    "JobEvicted": EventWords(
        requester=lambda s: f"job #{s.jid} made way for job #{s.ev['by']}, which pays more in all; "
                            f"{s.btt(s.ev['refunded'])} refunded",
    ),
    "PlaceRentPaid": EventWords(
        requester=lambda s: f"job #{s.jid} held its place {s.ev['slots']} slots: {s.btt(s.ev['burned'])} of rent "
                            "burned",
    ),
    "JobClosed": EventWords(requester=_job_closed),
    "MiningRewarded": EventWords(
        provider=lambda s: f"mining reward in block #{s.number}: {s.btt(s.ev['amount'])} for {s.ev['credit']} work "
                           "credit",
    ),
}
"""Compute event name -> what it says to each party."""

SILENT: dict[str, str] = {
    "ModelRegistered": "a model's owner's business, shown by `btt-chain compute models`",
    "ModelServed": "the provider's own call, reported when it is included",
    "ProviderRegistered": "the provider's own call, reported when it is included",
    "ProviderDeregistered": "the provider's own call, reported when it is included",
    "JobPosted": "the clinic says it itself, with what only it knows (its cases, the model's name)",
    "ResultCommitted": "the provider's own call, reported when it is included",
    "MiningEpoch": "an epoch's totals; each provider's share is MiningRewarded",
    "WorkCarried": "the whole market's, not a party's: a call refused while work waits says why (compute.CatchingUp)",
    "OutputsComplete": "follows OutputsPosted, which is said",
    "BoxKeySet": "the provider's own call, reported when it is included",
    "PrivateJobPosted": "the private clinic's own call (`private_clinic.py` reports its steps)",
    "InputsSealed": "the private clinic's own call",
    "InputsNotSealed": "private jobs only; its job's end is JobClosed, which is said",
    "ItemsFlagged": "the provider's own call, reported when it is included",
    "DecoysRevealed": "the private clinic's own call",
    "DecoysNotRevealed": "private jobs only; the provider's pay is its JobReceipt, which is said",
    "InputsPosted": "the requester's own call: the clinics say once that all of a job's inputs are on chain",
}
"""Compute events no watcher puts into words, and why: with WORDS, every compute event is decided
(tests/miner/test_event_words.py)."""


def say(party: str, said: Said) -> str | None:
    """The sentence `party` ("requester", "provider" or "rival") reads for the event, or None."""
    words = WORDS.get(str(said.ev.get("event")))
    sentence: Sentence | None = getattr(words, party, None) if words is not None else None
    return sentence(said) if sentence is not None else None
