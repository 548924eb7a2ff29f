"""The signing records interchange file: what a validator signed (its blocks' slots, its finality votes' source and
target epochs), in one JSON document that survives a move or a restore, modeled on Ethereum's EIP-3076 slashing
protection interchange format.

    {
      "metadata": {"interchange_format_version": "1", "genesis_hash": "0x<32 bytes>"},
      "data": [
        {"pubkey": "0x<32-byte session key>",
         "signed_blocks": [{"slot": "812"}],
         "signed_votes": [{"source_epoch": "160", "target_epoch": "161",
                           "source_root": "0x<checkpoint block>", "target_root": "0x<checkpoint block>"},
                          {"source_epoch": "160", "target_epoch": "161"}]}
      ]
    }

Numbers are decimal strings, as in EIP-3076 (u64). One of 2^63 or more (`MAX_PLAUSIBLE`) is refused too, as the
clients that keep their records in signed 64-bit integers do: no slot or epoch of a chain comes near it, and a
watermark there would keep the validator from ever signing again.

A vote with both roots is a vote as signed; one without them is a watermark (EIP-3076's minimal form): the importer
refuses every vote at or below its target and from below its source. A node keeps one record for all its session
keys (so a new key never signs against an old key's votes), and exports it under each of its keys; an import merges
every entry of the file into that one record, whatever its key.

Merging is conservative: the highest block slot, the highest watermarks and the union of the votes (the newest
`KEEP_VOTES` kept, the watermarks covering the rest). A file for another chain (another genesis hash) is refused, and
so is a malformed one, in one line that says where.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_gate import merge_signed_votes, record_of
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.vote import Checkpoint

FORMAT_VERSION = "1"
MAX_KEYS = 1000
MAX_VOTES_PER_KEY = 100_000
MAX_BLOCKS_PER_KEY = 100_000
MAX_NUMBER = 2**64 - 1
MAX_DIGITS = len(str(MAX_NUMBER))
"""20: a longer number is above 2^64 - 1 without reading it (Python refuses to read one of over 4,300 digits)."""
MAX_PLAUSIBLE = 2**63 - 1
"""The highest slot or epoch an import takes (2^63 slots of 200 ms are 58 billion years)."""


class InterchangeError(ConfigError):
    """A signing records file is malformed or belongs to another chain."""


@dataclass(frozen=True)
class SigningRecords:
    """One node's signing records: the last block slot it signed (-1: none) and its finality votes."""

    last_block_slot: int = -1
    votes: SignedVotes = SignedVotes()

    def merged(self, other: SigningRecords) -> SigningRecords:
        """What refuses everything either refuses."""
        return SigningRecords(max(self.last_block_slot, other.last_block_slot),
                              merge_signed_votes(self.votes, other.votes))

    @property
    def is_empty(self) -> bool:
        return self.last_block_slot < 0 and self.votes.max_target < 0 and not self.votes.votes


def encode_interchange(genesis_hash: bytes, pubkeys: Iterable[bytes], records: SigningRecords) -> dict[str, Any]:
    """The interchange document of `records`, listed under each of `pubkeys`."""
    blocks = [{"slot": str(records.last_block_slot)}] if records.last_block_slot >= 0 else []
    votes: list[dict[str, str]] = [
        {"source_epoch": str(s.epoch), "target_epoch": str(t.epoch), "source_root": "0x" + s.block_hash.hex(),
         "target_root": "0x" + t.block_hash.hex()}
        for s, t in records.votes.votes
    ]
    signed = records.votes
    top_source = max((s.epoch for s, _ in signed.votes), default=-1)
    top_target = max((t.epoch for _, t in signed.votes), default=-1)
    if signed.max_target >= 0 and (signed.max_source > top_source or signed.max_target > top_target):
        # the watermarks say more than the votes kept: one rootless entry carries them
        votes.append({"source_epoch": str(max(signed.max_source, 0)), "target_epoch": str(signed.max_target)})
    return {
        "metadata": {"interchange_format_version": FORMAT_VERSION, "genesis_hash": "0x" + genesis_hash.hex()},
        "data": [{"pubkey": "0x" + key.hex(), "signed_blocks": blocks, "signed_votes": votes}
                 for key in dict.fromkeys(pubkeys)],
    }


def parse_interchange(doc: Any, genesis_hash: bytes) -> tuple[tuple[bytes, ...], SigningRecords]:
    """The keys a document lists and the records of all its entries merged. InterchangeError (one line naming the
    field) if it is malformed or for another chain."""
    if not isinstance(doc, dict):
        raise InterchangeError("not a signing records file: the document is not a JSON object")
    meta = _field(doc, "metadata", dict, "")
    version = _field(meta, "interchange_format_version", str, "metadata")
    if version != FORMAT_VERSION:
        raise InterchangeError(f"metadata.interchange_format_version is {version!r}; this node reads "
                               f"{FORMAT_VERSION!r}")
    theirs = _hash(_field(meta, "genesis_hash", str, "metadata"), "metadata.genesis_hash")
    if theirs != genesis_hash:
        raise InterchangeError(f"the file's records are for the chain with genesis 0x{theirs.hex()}, this node's "
                               f"genesis is 0x{genesis_hash.hex()}: refused")
    data = _field(doc, "data", list, "")
    if len(data) > MAX_KEYS:
        raise InterchangeError(f"data lists {len(data)} keys, more than {MAX_KEYS}")
    keys: list[bytes] = []
    merged = SigningRecords()
    for i, entry in enumerate(data):
        where = f"data[{i}]"
        if not isinstance(entry, dict):
            raise InterchangeError(f"{where} is not an object")
        keys.append(_hash(_field(entry, "pubkey", str, where), f"{where}.pubkey"))
        merged = merged.merged(_entry_records(entry, where))
    return tuple(keys), merged


def _entry_records(entry: dict[str, Any], where: str) -> SigningRecords:
    blocks = _field(entry, "signed_blocks", list, where)
    votes = _field(entry, "signed_votes", list, where)
    if len(blocks) > MAX_BLOCKS_PER_KEY or len(votes) > MAX_VOTES_PER_KEY:
        raise InterchangeError(f"{where} lists more than {MAX_VOTES_PER_KEY} blocks or votes")
    slot = -1
    for j, block in enumerate(blocks):
        at = f"{where}.signed_blocks[{j}]"
        if not isinstance(block, dict):
            raise InterchangeError(f"{at} is not an object")
        slot = max(slot, _number(_field(block, "slot", str, at), f"{at}.slot"))
    links: list[tuple[Checkpoint, Checkpoint]] = []
    max_source = max_target = -1
    for j, vote in enumerate(votes):
        at = f"{where}.signed_votes[{j}]"
        if not isinstance(vote, dict):
            raise InterchangeError(f"{at} is not an object")
        source = _number(_field(vote, "source_epoch", str, at), f"{at}.source_epoch")
        target = _number(_field(vote, "target_epoch", str, at), f"{at}.target_epoch")
        if source >= target:
            raise InterchangeError(f"{at}: source epoch {source} is not below target epoch {target}")
        max_source, max_target = max(max_source, source), max(max_target, target)
        roots = [k for k in ("source_root", "target_root") if k in vote]
        if len(roots) == 1:
            raise InterchangeError(f"{at} has {roots[0]} without the other root")
        if roots:
            links.append((Checkpoint(source, _hash(_field(vote, "source_root", str, at), f"{at}.source_root")),
                          Checkpoint(target, _hash(_field(vote, "target_root", str, at), f"{at}.target_root"))))
    signed = merge_signed_votes(SignedVotes(max_source, max_target), record_of(links))
    return SigningRecords(slot, signed)


def _field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    path = f"{where}.{name}" if where else name
    if name not in obj:
        raise InterchangeError(f"{path} is missing")
    value = obj[name]
    if not isinstance(value, kind):
        raise InterchangeError(f"{path} is not {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}


def _number(text: str, where: str) -> int:
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0"):
        shown = repr(text[:40]) + (f" (of {len(text):,} characters)" if len(text) > 40 else "")
        raise InterchangeError(f"{where} is {shown}, not a decimal number")
    if len(text) > MAX_DIGITS:
        raise InterchangeError(f"{where} is a number of {len(text):,} digits, above 2^64 - 1")
    value = int(text)
    if value > MAX_NUMBER:
        raise InterchangeError(f"{where} is {text}, above 2^64 - 1")
    if value > MAX_PLAUSIBLE:
        raise InterchangeError(f"{where} is {text}, 2^63 or more: no chain reaches it, and the validator would never "
                               "sign again (a corrupt or hostile file?): refused")
    return value


def _hash(text: str, where: str) -> bytes:
    raw = None
    if text.startswith("0x") and len(text) == 66:
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raw = None
    if raw is None or len(raw) != 32:
        raise InterchangeError(f"{where} is {text[:80]!r}, not 0x and 64 hex digits")
    return raw
