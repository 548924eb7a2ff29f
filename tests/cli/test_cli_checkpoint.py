"""`--checkpoint` and the chain spec's checkpoint on the command line: bad values are one `error:` line with exit
code 2 (usage) or 1 (a database or spec that does not fit), never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from storage.leveldb import LevelDBStore
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.node_builder import author_next

HASH = "ab" * 32


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("nonsense", "'nonsense' is not HASH@NUMBER"),
        (HASH, "is not HASH@NUMBER"),
        ("0x1234@5", "hash '0x1234' is not 64 hex digits"),
        (f"0x{HASH}@five", "number 'five' is not a block number"),
        (f"0x{HASH}@-1", "number '-1' is not a block number"),
        (f"0x{HASH}@0", "block 0 is genesis itself"),
        (f"0x{HASH}@{2**64}", "out of range"),
    ],
)
def test_bad_checkpoint_is_one_usage_error(capsys: pytest.CaptureFixture[str], value: str, fragment: str) -> None:
    code, _, err = run(capsys, "node", "--dev", "--no-p2p", "--checkpoint", value)
    assert code == 2
    assert_one_error_line(code, err, "Invalid value for '--checkpoint'")
    assert fragment in err


def _spec_file(tmp_path: Path, **extra: object) -> Path:
    doc = materialise(copy.deepcopy(load_chain_spec_doc("dev")), 1_700_000_000_000)
    doc.update(extra)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    return path


def test_node_refuses_to_start_on_a_database_that_conflicts_with_the_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec_path = _spec_file(tmp_path)
    spec = parse_chain_spec(json.loads(spec_path.read_text()))
    kv = LevelDBStore(tmp_path / "base" / "chains" / spec.id / "db")
    chain = Chain(kv, build_genesis(spec))
    for _ in range(3):
        author_next(chain)
    held = chain.db.canonical_hash(2)
    kv.close()
    assert held is not None
    code, _, err = run(capsys, "node", "--chain", str(spec_path), "--base-path", str(tmp_path / "base"), "--no-p2p",
                       "--rpc-port", "0", "--no-prometheus", "--checkpoint", f"0x{HASH}@2")
    assert code == 1
    assert_one_error_line(code, err, f"holds block #2 0x{held.hex()}, which conflicts with the trusted checkpoint")
    assert "purge-chain" in err


def test_genesis_validate_rejects_a_malformed_checkpoint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _spec_file(tmp_path, checkpoint={"hash": "0x1234", "number": 5})
    code, _, err = run(capsys, "genesis", "validate", str(path))
    assert code == 1 and "Traceback" not in err
    assert err.startswith("error: ") and "is not a valid chain spec (1 problem)" in err
    problems = [line for line in err.splitlines() if "checkpoint" in line]
    assert problems == ["  checkpoint.hash: '0x1234' is not 64 hex digits (a 32-byte block hash, 0x optional)"]


def test_genesis_validate_and_inspect_show_a_good_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = _spec_file(tmp_path)
    code, out_plain, _ = run(capsys, "genesis", "validate", str(plain))
    assert code == 0
    path = _spec_file(tmp_path, checkpoint=f"0x{HASH}@7")
    code, out, _ = run(capsys, "genesis", "validate", str(path))
    assert code == 0 and out.split("genesis hash ")[1] == out_plain.split("genesis hash ")[1]
    code, out, _ = run(capsys, "genesis", "inspect", str(path), "--json")
    assert code == 0 and json.loads(out)["checkpoint"] == f"0x{HASH}@7"
