"""`btt-chain signing-records export|import` on a stopped node's base path: the node's own record files round trip
through one interchange file into a fresh base path; every refusal is one `error:` line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.node.keystore import DIRECTORY, write_key
from btt_chain.node.signing_records import block_record_path, read_records, vote_record_path
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint
from storage.leveldb import LevelDBStore
from tests.support.cli_runner import assert_one_error_line, run

ALICE = dev_keypair("alice")


def cp(epoch: int) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"cp/%d" % epoch))


@pytest.fixture
def signed_base(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A stopped dev validator's base path that signed a block and two votes: (base, data dir, genesis hash)."""
    from btt_chain.node.service import Node, NodeConfig

    base = tmp_path / "v1"
    node = Node(NodeConfig(chain="dev", base_path=base, tmp=False, validator_key=ALICE, validator=True,
                           p2p_port=None))
    try:
        data_dir, genesis = node.data_dir, node.chain.genesis_hash
        assert node.guard is not None and node.finality.guard is not None
        # the node's own record files are the ones the command reads and writes
        assert node.guard.path == block_record_path(data_dir, genesis)
        assert node.finality.guard.path == vote_record_path(data_dir, genesis)
        node.guard.record_block(41)
        node.finality.guard.record(cp(0), cp(1))
        node.finality.guard.record(cp(1), cp(2))
    finally:
        node.close()
    return base, data_dir, genesis


def test_export_then_import_into_a_fresh_base_path(signed_base, tmp_path: Path, capsys) -> None:
    base, data_dir, genesis = signed_base
    out = tmp_path / "records.json"
    code, _, err = run(capsys, "signing-records", "export", "--chain", "dev", "--base-path", str(base), "--file",
                       str(out), "--public-key", "alice")
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["metadata"]["genesis_hash"] == "0x" + genesis.hex()
    assert doc["data"][0]["pubkey"] == "0x" + ALICE.public.hex()
    assert doc["data"][0]["signed_blocks"] == [{"slot": "41"}] and len(doc["data"][0]["signed_votes"]) == 2

    # a fresh base path: the keystore and the chain spec restored, no database yet
    fresh = tmp_path / "restored"
    fresh_dir = fresh / "chains" / "dev"
    fresh_dir.mkdir(parents=True)
    (fresh_dir / "chain-spec.json").write_bytes((data_dir / "chain-spec.json").read_bytes())
    code, _, err = run(capsys, "signing-records", "import", "--chain", "dev", "--base-path", str(fresh), "--file",
                       str(out))
    assert code == 0, err
    assert "last block slot none -> 41" in err and "(source 1, target 2)" in err
    assert read_records(fresh_dir, genesis) == read_records(data_dir, genesis)


def test_export_lists_the_keystores_keys_and_writes_to_stdout(signed_base, capsys) -> None:
    base, data_dir, _ = signed_base
    write_key(data_dir / DIRECTORY, dev_keypair("bob"))
    code, out, err = run(capsys, "signing-records", "export", "--chain", "dev", "--base-path", str(base))
    assert code == 0, err
    assert [e["pubkey"] for e in json.loads(out)["data"]] == ["0x" + dev_keypair("bob").public.hex()]


def test_export_without_any_key_is_refused(signed_base, capsys) -> None:
    base, _, _ = signed_base
    code, _, err = run(capsys, "signing-records", "export", "--chain", "dev", "--base-path", str(base))
    assert_one_error_line(code, err, "name the validator's keys with --public-key")


def test_a_running_node_is_refused(signed_base, tmp_path: Path, capsys) -> None:
    base, data_dir, genesis = signed_base
    before = vote_record_path(data_dir, genesis).read_bytes()
    with LevelDBStore(data_dir / "db", create_if_missing=False):  # the node holds its database's lock
        code, _, err = run(capsys, "signing-records", "import", "--chain", "dev", "--base-path", str(base),
                           "--file", str(tmp_path / "whatever.json"))
    assert_one_error_line(code, err, "stop the node first")
    assert vote_record_path(data_dir, genesis).read_bytes() == before


def test_a_malformed_or_foreign_file_is_refused_in_one_line_and_changes_nothing(signed_base, tmp_path: Path,
                                                                                 capsys) -> None:
    base, data_dir, genesis = signed_base
    files = {p: p.read_bytes() for p in (vote_record_path(data_dir, genesis), block_record_path(data_dir, genesis))}
    bad = tmp_path / "bad.json"
    cases = {
        "{not json": "not JSON",
        json.dumps({"metadata": {"interchange_format_version": "1", "genesis_hash": "0x" + "11" * 32},
                    "data": []}): "this node's genesis is 0x" + genesis.hex(),
        json.dumps({"metadata": {"interchange_format_version": "1", "genesis_hash": "0x" + genesis.hex()},
                    "data": [{"pubkey": "0x" + "01" * 32, "signed_blocks": [{"slot": "99999"}],
                              "signed_votes": [{"source_epoch": "9", "target_epoch": "3"}]}]}):
            "data[0].signed_votes[0]: source epoch 9 is not below target epoch 3",
    }
    for text, fragment in cases.items():
        bad.write_text(text)
        code, _, err = run(capsys, "signing-records", "import", "--chain", "dev", "--base-path", str(base),
                           "--file", str(bad))
        assert_one_error_line(code, err, fragment)
        assert {p: p.read_bytes() for p in files} == files
    code, _, err = run(capsys, "signing-records", "import", "--chain", "dev", "--base-path", str(base), "--file",
                       str(tmp_path / "missing.json"))
    assert_one_error_line(code, err, "cannot read")


def test_a_dev_base_path_without_its_chain_spec_is_refused(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "signing-records", "import", "--chain", "dev", "--base-path", str(tmp_path / "x"),
                       "--file", "-")
    assert_one_error_line(code, err, "holds no chain yet")
    assert not (tmp_path / "x").exists()


def test_an_unreadable_record_is_one_line(signed_base, capsys) -> None:
    base, data_dir, genesis = signed_base
    block_record_path(data_dir, genesis).write_text("[]")
    code, _, err = run(capsys, "signing-records", "export", "--chain", "dev", "--base-path", str(base),
                       "--public-key", "0x" + ALICE.public.hex())
    assert_one_error_line(code, err, "unreadable")
