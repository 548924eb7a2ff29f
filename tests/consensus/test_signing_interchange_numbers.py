"""The numbers of a signing records file (EIP-3076's decimal strings): one too long for Python to read is refused
in the parser's one line, not a traceback, and a slot or epoch of 2^63 or more, which no chain reaches and which
would keep the validator from ever signing again, is refused too; the file is then not imported at all."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_interchange import (
    MAX_PLAUSIBLE,
    InterchangeError,
    SigningRecords,
    encode_interchange,
    parse_interchange,
)
from btt_chain.node.signing_records import has_records, import_records
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint

GENESIS = b"\x42" * 32
KEY = b"\x01" * 32


def doc_with(slot: str = "812", source: str = "160", target: str = "161") -> dict[str, Any]:
    rec = SigningRecords(812, SignedVotes(160, 161, ((Checkpoint(160, blake2b_256(b"s")),
                                                      Checkpoint(161, blake2b_256(b"t"))),)))
    doc = copy.deepcopy(encode_interchange(GENESIS, [KEY], rec))
    doc["data"][0]["signed_blocks"] = [{"slot": slot}]
    doc["data"][0]["signed_votes"].append({"source_epoch": source, "target_epoch": target})
    return doc


@pytest.mark.parametrize(("edit", "fragment"), [
    ({"slot": "9" * 5000}, "data[0].signed_blocks[0].slot is a number of 5,000 digits, above 2^64 - 1"),
    ({"slot": "1" + "0" * 10**6}, "slot is a number of 1,000,001 digits, above 2^64 - 1"),
    ({"target": "7" * 4301}, "data[0].signed_votes[1].target_epoch is a number of 4,301 digits, above 2^64 - 1"),
    ({"slot": "1" * 21}, "a number of 21 digits, above 2^64 - 1"),
    ({"slot": str(2**64)}, f"slot is {2**64}, above 2^64 - 1"),
    ({"slot": str(2**64 - 1)}, f"slot is {2**64 - 1}, 2^63 or more"),
    ({"slot": str(2**63)}, f"slot is {2**63}, 2^63 or more"),
    ({"source": str(2**64 - 2), "target": str(2**64 - 1)}, f"source_epoch is {2**64 - 2}, 2^63 or more"),
    ({"target": str(2**63)}, f"target_epoch is {2**63}, 2^63 or more"),
    ({"slot": "x" * 10**6}, f"slot is {'x' * 40!r} (of 1,000,000 characters), not a decimal"),
])
def test_a_number_too_long_or_too_high_is_refused_in_one_short_line(edit: dict[str, str], fragment: str) -> None:
    with pytest.raises(InterchangeError) as exc:
        parse_interchange(doc_with(**edit), GENESIS)
    message = str(exc.value)
    assert fragment in message and "\n" not in message and len(message) < 300


def test_the_highest_plausible_numbers_are_taken() -> None:
    top = str(MAX_PLAUSIBLE)
    _, rec = parse_interchange(doc_with(slot=top, source=str(MAX_PLAUSIBLE - 1), target=top), GENESIS)
    assert rec.last_block_slot == MAX_PLAUSIBLE and rec.votes.max_target == MAX_PLAUSIBLE
    assert rec.votes.max_source == MAX_PLAUSIBLE - 1


def test_a_refused_file_imports_nothing(tmp_path: Path) -> None:
    with pytest.raises(InterchangeError, match="2\\^63 or more"):
        import_records(tmp_path, GENESIS, json.loads(json.dumps(doc_with(slot=str(2**64 - 1)))))
    assert not has_records(tmp_path, GENESIS)
