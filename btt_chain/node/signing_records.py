"""A validator's signing records under its base path, as files: where they live, and their export to and import from
one interchange document (`btt_chain.consensus.signing_interchange`).

A node keeps two records per chain in `<base>/chains/<id>/`, one per genesis (a purged dev chain starts its slots
again without tripping them): `signing-<genesis>.json`, the last block slot it signed (`signing_guard.SigningGuard`),
and `votes-<genesis>.json`, its finality votes and watermarks (`vote_guard.VoteGuard`); `<genesis>` is the first 16
hex digits of the genesis hash. Both are read and written only through those guards, so an import is atomic and
durable per file as the node's own writes are (temporary file, fsync, rename, directory fsync). An import writes the
vote record first, then the block record; a crash between the two leaves the first merged, and importing the same
file again finishes the job (a merge never lowers anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from btt_chain.consensus.signing_interchange import SigningRecords, encode_interchange, parse_interchange
from btt_chain.consensus.vote_guard import VoteGuard
from btt_chain.node.signing_guard import SigningGuard


def block_record_path(data_dir: Path, genesis_hash: bytes) -> Path:
    return Path(data_dir) / f"signing-{genesis_hash.hex()[:16]}.json"


def vote_record_path(data_dir: Path, genesis_hash: bytes) -> Path:
    return Path(data_dir) / f"votes-{genesis_hash.hex()[:16]}.json"


def has_records(data_dir: Path, genesis_hash: bytes) -> bool:
    """Whether either record exists (a validator that has signed, or had its records imported)."""
    return block_record_path(data_dir, genesis_hash).exists() or vote_record_path(data_dir, genesis_hash).exists()


def read_records(data_dir: Path, genesis_hash: bytes) -> SigningRecords:
    """The node's records (empty when it has none); StorageError, in one line, when one is unreadable."""
    blocks = SigningGuard(block_record_path(data_dir, genesis_hash))
    votes = VoteGuard(vote_record_path(data_dir, genesis_hash))
    return SigningRecords(blocks.last_block_slot, votes.signed)


def export_records(data_dir: Path, genesis_hash: bytes, pubkeys: list[bytes]) -> dict[str, Any]:
    """The interchange document of the node's records, listed under each of `pubkeys`."""
    return encode_interchange(genesis_hash, pubkeys, read_records(data_dir, genesis_hash))


@dataclass(frozen=True)
class ImportSummary:
    keys: int
    """Keys the file listed."""
    before: SigningRecords
    after: SigningRecords

    def describe(self) -> str:
        b, a = self.before, self.after
        return (f"signing records merged from {self.keys} keys: last block slot {_or_none(b.last_block_slot)} -> "
                f"{_or_none(a.last_block_slot)}, vote watermarks (source {_or_none(b.votes.max_source)}, target "
                f"{_or_none(b.votes.max_target)}) -> (source {_or_none(a.votes.max_source)}, target "
                f"{_or_none(a.votes.max_target)}), {len(a.votes.votes)} votes kept")


def _or_none(n: int) -> str:
    return "none" if n < 0 else str(n)


def import_records(data_dir: Path, genesis_hash: bytes, doc: Any) -> ImportSummary:
    """Merge an interchange document into the node's records (the highest slot and watermarks, the union of votes).
    The document is checked whole before anything is written: a malformed one, or one for another chain, raises
    InterchangeError and changes nothing."""
    keys, theirs = parse_interchange(doc, genesis_hash)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    blocks = SigningGuard(block_record_path(data_dir, genesis_hash))
    votes = VoteGuard(vote_record_path(data_dir, genesis_hash))
    before = SigningRecords(blocks.last_block_slot, votes.signed)
    after = before.merged(theirs)
    votes.merge(after.votes)
    if after.last_block_slot > blocks.last_block_slot:
        blocks.record_block(after.last_block_slot)
    return ImportSummary(len(keys), before, after)
