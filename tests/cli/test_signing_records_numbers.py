"""`btt-chain signing-records import` of a file whose numbers are too long for Python's int() (over 4,300 digits) or
2^63 and above (a watermark the validator would never sign past): one `error:` line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli_runner import assert_one_error_line, run


def genesis_hash_of(chain: str, data_dir: Path) -> str:
    from btt_chain.node.service import resolve_spec
    from genesis.build import build_genesis

    return "0x" + build_genesis(resolve_spec(chain, data_dir)).hash.hex()


@pytest.mark.parametrize(("slot", "why"), [
    ("9" * 5000, "data[0].signed_blocks[0].slot is a number of 5,000 digits, above 2^64 - 1"),
    (str(2**64 - 1), f"data[0].signed_blocks[0].slot is {2**64 - 1}, 2^63 or more"),
])
def test_an_import_with_a_huge_number_is_one_error_line_and_writes_nothing(
        slot: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "b21"
    doc = {"metadata": {"interchange_format_version": "1",
                        "genesis_hash": genesis_hash_of("btt-21m", base / "chains" / "btt-21m")},
           "data": [{"pubkey": "0x" + "11" * 32, "signed_blocks": [{"slot": slot}], "signed_votes": []}]}
    path = tmp_path / "records.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "signing-records", "import", "--chain", "btt-21m", "--base-path", str(base), "--file",
                       str(path))
    assert_one_error_line(code, err, why)
    assert len(err) < 400
    assert not base.exists() or not any(p.is_file() for p in base.rglob("*"))
