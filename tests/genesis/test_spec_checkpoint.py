"""The chain spec's optional trusted checkpoint: both spellings, one problem line for each malformed value, and
no effect on the genesis hash (a later edition of a spec may add a checkpoint to the same chain)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from btt_chain.primitives.errors import GenesisError
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from genesis.spec import TrustedCheckpoint

HASH = "0x" + "ab" * 32


def dev_doc(**extra: Any) -> dict[str, Any]:
    doc = materialise(copy.deepcopy(load_chain_spec_doc("dev")), 1_700_000_000_000)
    doc.update(extra)
    return doc


@pytest.mark.parametrize("value", [f"{HASH}@42", f"{HASH[2:]}@42", {"hash": HASH, "number": 42}])
def test_checkpoint_as_text_or_object(value: Any) -> None:
    spec = parse_chain_spec(dev_doc(checkpoint=value))
    assert spec.checkpoint == TrustedCheckpoint(bytes.fromhex(HASH[2:]), 42)
    assert str(spec.checkpoint) == f"{HASH}@42"


def test_no_checkpoint_is_fine() -> None:
    assert parse_chain_spec(dev_doc()).checkpoint is None


@pytest.mark.parametrize(
    "value, path, needle",
    [
        ("nonsense", "checkpoint", "is not HASH@NUMBER"),
        ("0x1234@42", "checkpoint", "hash '0x1234' is not 64 hex digits"),
        (f"{HASH}@forty", "checkpoint", "number 'forty' is not a block number"),
        (f"{HASH}@0", "checkpoint", "block 0 is genesis itself"),
        (f"{HASH}@-3", "checkpoint", "number '-3' is not a block number"),
        (42, "checkpoint", 'expected "0xHASH@NUMBER" or an object'),
        ({"hash": "0xzz", "number": 42}, "checkpoint.hash", "is not 64 hex digits"),
        ({"hash": HASH, "number": "42"}, "checkpoint.number", "expected an integer, got string"),
        ({"hash": HASH, "number": 4.2}, "checkpoint.number", "floats are not allowed"),
        ({"hash": HASH}, "checkpoint.number", "missing required field"),
        ({"hash": HASH, "number": 42, "epoch": 1}, "checkpoint.epoch", "unknown field 'epoch'"),
    ],
)
def test_malformed_checkpoint_is_one_problem_line(value: Any, path: str, needle: str) -> None:
    with pytest.raises(GenesisError) as info:
        parse_chain_spec(dev_doc(checkpoint=value), "test")
    lines = str(info.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ") and needle in lines[0], lines[0]


def test_the_checkpoint_does_not_change_the_genesis_hash() -> None:
    plain = build_genesis(parse_chain_spec(dev_doc()))
    with_checkpoint = build_genesis(parse_chain_spec(dev_doc(checkpoint=f"{HASH}@42")))
    assert with_checkpoint.hash == plain.hash
    assert with_checkpoint.spec_json == plain.spec_json
