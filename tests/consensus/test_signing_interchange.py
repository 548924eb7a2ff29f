"""The signing records interchange file (EIP-3076's model): a round trip, a conservative merge, another chain's file
refused, a malformed one refused in one line, and an import that fails changes nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_interchange import (
    InterchangeError,
    SigningRecords,
    encode_interchange,
    parse_interchange,
)
from btt_chain.consensus.vote_guard import VoteGuard
from btt_chain.node.signing_guard import SigningGuard
from btt_chain.node.signing_records import (
    block_record_path,
    export_records,
    has_records,
    import_records,
    read_records,
    vote_record_path,
)
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint

GENESIS = b"\x42" * 32
OTHER_GENESIS = b"\x43" * 32
KEY = b"\x01" * 32
KEY2 = b"\x02" * 32


def cp(epoch: int, fork: int = 0) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"cp/%d/%d" % (epoch, fork)))


def records(slot: int = 812, votes: tuple[tuple[int, int], ...] = ((160, 161), (161, 162))) -> SigningRecords:
    links = tuple((cp(s), cp(t)) for s, t in votes)
    return SigningRecords(slot, SignedVotes(max(s for s, _ in votes), max(t for _, t in votes), links))


def test_round_trip() -> None:
    rec = records()
    doc = encode_interchange(GENESIS, [KEY, KEY2], rec)
    assert doc["metadata"] == {"interchange_format_version": "1", "genesis_hash": "0x" + GENESIS.hex()}
    assert [e["pubkey"] for e in doc["data"]] == ["0x" + KEY.hex(), "0x" + KEY2.hex()]
    assert doc["data"][0]["signed_blocks"] == [{"slot": "812"}]
    assert doc["data"][0]["signed_votes"][0] == {"source_epoch": "160", "target_epoch": "161",
                                                 "source_root": "0x" + cp(160).block_hash.hex(),
                                                 "target_root": "0x" + cp(161).block_hash.hex()}
    keys, back = parse_interchange(json.loads(json.dumps(doc)), GENESIS)
    assert keys == (KEY, KEY2) and back == rec


def test_watermarks_above_the_kept_votes_travel_as_a_rootless_entry() -> None:
    rec = SigningRecords(-1, SignedVotes(300, 301, ((cp(40), cp(41)),)))
    doc = encode_interchange(GENESIS, [KEY], rec)
    assert doc["data"][0]["signed_blocks"] == []
    assert doc["data"][0]["signed_votes"][-1] == {"source_epoch": "300", "target_epoch": "301"}
    _, back = parse_interchange(doc, GENESIS)
    assert back == rec and not back.votes.may_sign(299, 302) and not back.votes.may_sign(300, 301)


def test_an_empty_record_round_trips_empty() -> None:
    doc = encode_interchange(GENESIS, [KEY], SigningRecords())
    assert doc["data"][0] == {"pubkey": "0x" + KEY.hex(), "signed_blocks": [], "signed_votes": []}
    assert parse_interchange(doc, GENESIS)[1].is_empty


def test_entries_of_several_keys_merge_into_one_record_keeping_the_max() -> None:
    doc = encode_interchange(GENESIS, [KEY], records(slot=50, votes=((3, 4),)))
    other = encode_interchange(GENESIS, [KEY2], records(slot=20, votes=((1, 9),)))
    doc["data"] += other["data"]
    _, merged = parse_interchange(doc, GENESIS)
    assert merged.last_block_slot == 50
    assert (merged.votes.max_source, merged.votes.max_target) == (3, 9)
    assert set(merged.votes.votes) == {(cp(3), cp(4)), (cp(1), cp(9))}


def test_another_chains_file_is_refused() -> None:
    doc = encode_interchange(OTHER_GENESIS, [KEY], records())
    with pytest.raises(InterchangeError, match="for the chain with genesis 0x4343.*refused"):
        parse_interchange(doc, GENESIS)


def _broken(edit: Any) -> dict[str, Any]:
    doc = copy.deepcopy(encode_interchange(GENESIS, [KEY], records()))
    edit(doc)
    return doc


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda d: d.pop("metadata"), "metadata is missing"),
    (lambda d: d["metadata"].update(interchange_format_version="5"), "interchange_format_version is '5'"),
    (lambda d: d["metadata"].update(genesis_hash="0x1234"), "metadata.genesis_hash is '0x1234'"),
    (lambda d: d.update(data={}), "data is not an array"),
    (lambda d: d["data"].append(7), "data[1] is not an object"),
    (lambda d: d["data"][0].update(pubkey="0x" + "zz" * 32), "data[0].pubkey"),
    (lambda d: d["data"][0].update(pubkey="0x" + "01 " * 21 + "0"), "data[0].pubkey"),
    (lambda d: d["data"][0]["signed_blocks"][0].update(slot=812), "signed_blocks[0].slot is not a string"),
    (lambda d: d["data"][0]["signed_blocks"][0].update(slot="-1"), "not a decimal number"),
    (lambda d: d["data"][0]["signed_blocks"][0].update(slot="0812"), "not a decimal number"),
    (lambda d: d["data"][0]["signed_blocks"][0].update(slot="1" * 30), "above 2^64 - 1"),
    (lambda d: d["data"][0]["signed_votes"][0].update(target_epoch="160"), "source epoch 160 is not below target"),
    (lambda d: d["data"][0]["signed_votes"][0].pop("target_root"), "has source_root without the other root"),
    (lambda d: d["data"][0]["signed_votes"][1].pop("source_epoch"), "signed_votes[1].source_epoch is missing"),
    (lambda d: d["data"][0].pop("signed_votes"), "data[0].signed_votes is missing"),
])
def test_a_malformed_file_is_refused_in_one_line_naming_the_field(edit: Any, fragment: str) -> None:
    with pytest.raises(InterchangeError) as exc:
        parse_interchange(_broken(edit), GENESIS)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_not_an_object_is_refused() -> None:
    for doc in ([], "x", None, 3):
        with pytest.raises(InterchangeError, match="not a signing records file"):
            parse_interchange(doc, GENESIS)


# the records under a base path -----------------------------------------------------------------------------------
def test_import_into_an_empty_directory_then_export_gives_the_same_records(tmp_path) -> None:
    doc = encode_interchange(GENESIS, [KEY], records())
    summary = import_records(tmp_path, GENESIS, doc)
    assert summary.before.is_empty and summary.after == records()
    assert has_records(tmp_path, GENESIS) and not has_records(tmp_path, OTHER_GENESIS)
    assert SigningGuard(block_record_path(tmp_path, GENESIS)).last_block_slot == 812
    assert VoteGuard(vote_record_path(tmp_path, GENESIS)).signed == records().votes
    assert export_records(tmp_path, GENESIS, [KEY]) == doc


def test_import_merges_conservatively_and_never_lowers_anything(tmp_path) -> None:
    guard = VoteGuard(vote_record_path(tmp_path, GENESIS))
    guard.record(cp(500), cp(501))
    SigningGuard(block_record_path(tmp_path, GENESIS)).record_block(2000)
    old_backup = encode_interchange(GENESIS, [KEY], records(slot=812, votes=((160, 161), (161, 162))))
    summary = import_records(tmp_path, GENESIS, old_backup)
    after = read_records(tmp_path, GENESIS)
    assert after == summary.after
    assert after.last_block_slot == 2000
    assert (after.votes.max_source, after.votes.max_target) == (500, 501)
    assert (cp(500), cp(501)) in after.votes.votes and (cp(160), cp(161)) in after.votes.votes
    assert "last block slot 2000 -> 2000" in summary.describe()
    # importing it again changes nothing
    assert import_records(tmp_path, GENESIS, old_backup).after == after


def test_a_refused_import_writes_nothing(tmp_path) -> None:
    VoteGuard(vote_record_path(tmp_path, GENESIS)).record(cp(5), cp(6))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = encode_interchange(GENESIS, [KEY], records(slot=9000, votes=((7, 8),)))
    bad["data"].append({"pubkey": "0x" + KEY2.hex(), "signed_blocks": [], "signed_votes": [{"source_epoch": "x"}]})
    with pytest.raises(InterchangeError):
        import_records(tmp_path, GENESIS, bad)
    with pytest.raises(InterchangeError):
        import_records(tmp_path, GENESIS, encode_interchange(OTHER_GENESIS, [KEY], records(slot=9000)))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert not block_record_path(tmp_path, GENESIS).exists()


def test_an_unreadable_record_stops_the_export_and_the_import(tmp_path) -> None:
    from btt_chain.primitives.errors import StorageError

    vote_record_path(tmp_path, GENESIS).write_text("{not json")
    with pytest.raises(StorageError, match="unreadable"):
        export_records(tmp_path, GENESIS, [KEY])
    with pytest.raises(StorageError, match="unreadable"):
        import_records(tmp_path, GENESIS, encode_interchange(GENESIS, [KEY], records()))
    assert vote_record_path(tmp_path, GENESIS).read_text() == "{not json"
