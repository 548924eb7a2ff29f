"""The compute events in words (btt_chain/miner/event_words.py): every event of the runtime is either said to some
party or listed as silent with a reason; every sentence reads only fields its event has (a renamed field fails here,
not in a watcher's loop); the sentences the clinic and the miner print are pinned."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from btt_chain.miner.event_words import SILENT, WORDS, Said, say
from btt_chain.miner.watch import btt
from btt_chain.primitives.codec import ACCOUNT
from runtime.compute.events import EVENTS
from runtime.compute.types import JOB_STATES

ME, OTHER = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUv4Zzff6ySKb6b8f1"
PARTIES = ("requester", "provider", "rival")


def _sample(event: type) -> dict[str, Any]:
    """The event as a watcher gets it over RPC: its own fields, accounts as addresses, every number distinct."""
    numbers = itertools.count(2)
    ev: dict[str, Any] = {"module": "compute", "event": event.__name__}
    for name, codec in event.WIRE:  # type: ignore[attr-defined]
        ev[name] = ME if codec is ACCOUNT else next(numbers)
    if "status" in ev:
        ev["status"] = JOB_STATES.index("unserved")
    if "reason" in ev:
        ev["reason"] = 0
    if "provider_a" in ev:
        ev["provider_b"] = OTHER
    return ev


def test_every_compute_event_is_said_or_silent_for_a_reason() -> None:
    names = {e.__name__ for e in EVENTS}
    assert set(WORDS) | set(SILENT) == names, (names - set(WORDS) - set(SILENT), set(WORDS) | set(SILENT) - names)
    assert not set(WORDS) & set(SILENT)
    assert all(reason for reason in SILENT.values())
    assert all(any(getattr(w, p) for p in PARTIES) for w in WORDS.values())


@pytest.mark.parametrize("event", [e for e in EVENTS if e.__name__ in WORDS], ids=lambda e: e.__name__)
def test_each_sentence_reads_only_its_events_fields(event: type) -> None:
    ev = _sample(event)
    said = Said(ev, 41, btt, ME)
    for party in PARTIES:
        if getattr(WORDS[event.__name__], party) is None:
            assert say(party, said) is None
            continue
        sentence = say(party, said)
        assert sentence and "{" not in sentence and "None" not in sentence, (party, sentence)
        if "job_id" in ev:
            assert f"job #{ev['job_id']}" in sentence, sentence


def test_the_pinned_sentences() -> None:
    receipt = {"event": "JobReceipt", "job_id": 7, "provider": ME, "payment": 10**18, "burned": 10**17,
               "provider_paid": 9 * 10**17, "credit": 5}
    assert say("requester", Said(receipt, 12, btt)) == (
        "job #7 receipt in block #12: 1 BTT settled, 0.1 BTT burned, 0.9 BTT to the provider")
    assert say("provider", Said(receipt, 12, btt)) == (
        "job #7 receipt in block #12: paid 0.9 BTT of 1 BTT escrow (0.1 BTT burned), work credit 5")
    missed = {"event": "DeadlineMissed", "job_id": 3, "provider": ME, "refunded": 2 * 10**18, "slashed": 0}
    assert say("provider", Said(missed, 9, btt)) == "job #3 deadline missed in block #9: 2 BTT refunded"
    assert say("provider", Said({**missed, "slashed": 10**18}, 9, btt)) == (
        "job #3 deadline missed in block #9: 2 BTT refunded, missed-deadline fee 1 BTT")
    differ = {"event": "ResultsDiffer", "job_id": 4, "provider_a": OTHER, "provider_b": ME}
    assert say("rival", Said(differ, 5, btt, ME)) == (
        f"job #4: our output root differs from {OTHER}'s (block #5): both owe their outputs on chain")


def test_a_job_closed_as_done_says_nothing_and_others_say_how_it_ended() -> None:
    closed = {"event": "JobClosed", "job_id": 2, "status": JOB_STATES.index("done"), "refunded": 0}
    assert say("requester", Said(closed, 8, btt)) is None
    expired = {**closed, "status": JOB_STATES.index("expired"), "refunded": 10**18}
    assert say("requester", Said(expired, 8, btt)) == "job #2 expired in block #8; 1 BTT refunded"


def test_an_unknown_event_or_party_says_nothing() -> None:
    assert say("requester", Said({"event": "NoSuchEvent", "job_id": 1}, 1, btt)) is None
    assert say("auditor", Said({"event": "JobReceipt", "job_id": 1}, 1, btt)) is None
    assert say("requester", Said({}, 1, btt)) is None
