"""`btt-chain job show` says how many of a requester's inputs are on chain (spec 17: `btt_job`'s `inputsPosted`), and
says nothing of it where none are owed there (a synthetic job, a job of spec 16, or a node before it)."""

from __future__ import annotations

from typing import Any

import pytest

from cli.compute_cmd import _job_lines

SPLIT = {"burned": "0", "provider": "0", "developmentFund": "0", "foundation": "0", "operationalReserve": "0"}


class Info:
    def format_amount(self, base_units: int | str) -> str:
        return f"{base_units} units"


def job(**fields: Any) -> dict[str, Any]:
    return {"id": 3, "status": "open", "requester": "5Requester", "modelName": "breast-cancer-v1", "model": "0xab",
            "items": 16, "inputSeed": None, "inputRoot": "0x" + "11" * 32, "price": "1", "redundancy": 1,
            "unassigned": 1, "deadlineMs": 1_700_000_000_000, "postedBlock": 7, "priority": False, "reason": "why",
            "split": SPLIT, "assignments": [], **fields}


@pytest.mark.parametrize(("fields", "said"), [
    ({"inputsPosted": 0}, "0 of 16 items"),
    ({"inputsPosted": 16}, "16 of 16 items"),
    ({"inputsPosted": None}, None),
    ({}, None),  # a node before spec 17 gives no such field
])
def test_the_inputs_on_chain_are_said_where_owed(capsys: pytest.CaptureFixture[str], fields: dict[str, Any],
                                                 said: str | None) -> None:
    _job_lines(job(**fields), Info())  # type: ignore[arg-type]
    out = capsys.readouterr().out
    line = next((x for x in out.splitlines() if x.lstrip().startswith("inputs on chain")), None)
    assert (line is None) if said is None else (line is not None and line.rstrip().endswith(said)), out
