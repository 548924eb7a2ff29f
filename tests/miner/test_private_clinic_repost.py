"""The private clinic posts a failed job's cases again (issue 52, what DePIN users ask for): the chain cannot, since
a private job's items are sealed to the provider that failed (`reassign` skips private jobs with a reason), so the
clinic does, sealed to the provider drawn next (the same decoys in a fresh order while they were never revealed:
tests/miner/test_private_repost_unlinkable.py); a job that ended any other way counts as done."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from btt_chain.miner.private_clinic import FAILED_PLACE, PrivateClinicLoop, cases_of
from btt_chain.miner.private_order import PrivateOrder, mix

MODEL = b"\x07" * 32


def order(cases: list[bytes], labels: list[int | None]) -> PrivateOrder:
    return mix(MODEL, cases, [b"decoy-%d" % i for i in range(2)], labels, [None, None])


@dataclass
class Ended:
    """A driver whose job has ended as `ended_as`."""

    order: PrivateOrder
    ended_as: str
    job_id: int = 7
    done: bool = True
    declined: bool = False
    disclosed: bool = False
    sealed_to: list[str] = field(default_factory=list)
    disclosed_cases: set[int] = field(default_factory=set)


@dataclass
class Recorder:
    ends: list[str]
    started: list[PrivateOrder | None] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def loop(self) -> PrivateClinicLoop:
        loop = PrivateClinicLoop(None, None, self.lines.append, None, b"", None, MODEL, 1, 1,  # type: ignore[arg-type]
                                 Path("."), lambda n: ([], []), lambda c, lab, n: ([], []), 2, 2)
        first = order([b"case-a", b"case-b"], [0, 1])

        def start(again: PrivateOrder | None = None) -> Any:
            self.started.append(again)
            return Ended(again or first, self.ends[len(self.started) - 1])

        loop.start = start  # type: ignore[method-assign]
        return loop


@pytest.mark.parametrize("failed", FAILED_PLACE)
def test_a_job_whose_provider_failed_is_posted_again_with_the_same_cases(failed: str) -> None:
    rec = Recorder([failed, "settled"])
    loop = rec.loop()
    loop.run(lambda: False, 0, count=1)
    first, again = rec.started
    assert first is None and again is not None  # the second post is the first's cases again
    assert sorted(zip(*cases_of(again), strict=True)) == [(b"case-a", 0), (b"case-b", 1)]  # in a fresh order
    assert loop.finished == 1  # the failed one did not count
    assert any("posting the same cases again" in line and failed in line for line in rec.lines)


@pytest.mark.parametrize("ended", ["settled", "verified", "void", "expired", "cancelled"])
def test_a_job_that_ended_otherwise_counts_and_the_next_cases_are_fresh(ended: str) -> None:
    rec = Recorder([ended, ended])
    loop = rec.loop()
    loop.run(lambda: False, 0, count=2)
    assert rec.started == [None, None] and loop.finished == 2
    assert not any("posting the same cases again" in line for line in rec.lines)


def test_cases_of_leaves_the_decoys_out_in_order() -> None:
    o = order([b"x", b"y", b"z"], [2, None, 0])
    assert cases_of(o) == ([b"x", b"y", b"z"], [2, None, 0])
    assert all(o.items[p] not in (b"x", b"y", b"z") for p in o.positions)
