"""Vote signing safety on disk: a validator records (fsync, atomic replace) every finality vote before it signs and
broadcasts it, and refuses one that could be a double or surround vote, also across crashes and restarts.

The rule itself is `btt_chain.consensus.signed_votes.SignedVotes`; this file only persists it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from btt_chain.consensus.durable import write_json_durably
from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_gate import merge_signed_votes
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Vote, sign_vote

RECORD_VERSION = 1


class VoteGuard:
    """The persisted record of the finality votes this validator signed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.signed = SignedVotes()
        if self.path.exists():
            try:
                self.signed = _load(json.loads(self.path.read_text()))
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise StorageError(f"vote signing record {self.path} is unreadable ({exc}); refusing to vote") from None

    @property
    def max_source(self) -> int:
        return self.signed.max_source

    @property
    def max_target(self) -> int:
        return self.signed.max_target

    @property
    def votes(self) -> list[tuple[Checkpoint, Checkpoint]]:
        return list(self.signed.votes)

    def may_sign(self, source_epoch: int, target_epoch: int) -> bool:
        """True when a vote source_epoch -> target_epoch can be neither a double nor a surround vote with anything
        signed before."""
        return self.signed.may_sign(source_epoch, target_epoch)

    def record(self, source: Checkpoint, target: Checkpoint) -> None:
        """Persist source -> target as signed, durably, before the vote is signed and leaves this node.
        Raises StorageError (nothing recorded) if the vote could be slashable."""
        try:
            signed = self.signed.with_vote(source, target)
        except ValueError as exc:
            raise StorageError(
                f"{exc} (highest source {self.max_source}, highest target {self.max_target} signed)"
            ) from None
        self._write(signed)
        self.signed = signed

    def merge(self, other: SignedVotes, durable: bool = True) -> bool:
        """Fold `other` (an imported record, votes of this node's keys seen on the network) into this record: the
        higher watermarks and the union of the votes (`signing_gate.merge_signed_votes`), persisted durably unless
        `durable` is False (kept in memory until the next vote is recorded). False when it adds nothing."""
        merged = merge_signed_votes(self.signed, other)
        if merged == self.signed:
            return False
        if durable:
            self._write(merged)
        self.signed = merged
        return True

    def _write(self, signed: SignedVotes) -> None:
        data = {
            "version": RECORD_VERSION,
            "max_source": signed.max_source,
            "max_target": signed.max_target,
            "votes": [[[s.epoch, s.block_hash.hex()], [t.epoch, t.block_hash.hex()]] for s, t in signed.votes],
        }
        write_json_durably(self.path, data)

    def sign(self, pair: Keypair, genesis_hash: bytes, source: Checkpoint, target: Checkpoint) -> Vote:
        """Record, then sign: the only way a validator should make a vote."""
        self.record(source, target)
        return sign_vote(pair, genesis_hash, source, target)


def _load(data: Any) -> SignedVotes:
    if data["version"] != RECORD_VERSION:
        raise ValueError(f"unknown record version {data['version']!r}")
    max_source = int(data["max_source"])
    max_target = int(data["max_target"])
    votes = tuple(
        (Checkpoint(int(s[0]), bytes.fromhex(s[1])), Checkpoint(int(t[0]), bytes.fromhex(t[1])))
        for s, t in data["votes"]
    )
    for s, t in votes:
        if len(s.block_hash) != 32 or len(t.block_hash) != 32:
            raise ValueError("a checkpoint hash is not 32 bytes")
        if s.epoch > max_source or t.epoch > max_target:
            raise ValueError("a recorded vote is above the watermarks")
    return SignedVotes(max_source, max_target, votes)
