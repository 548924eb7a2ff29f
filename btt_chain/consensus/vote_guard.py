"""Vote signing safety: a validator records (fsync, atomic replace) every finality vote before it signs and
broadcasts it, and refuses a double or surround vote, also across crashes and restarts.

Besides the recent votes themselves the record keeps two watermarks, the highest source and target
epochs ever signed, and refuses any vote with a target at or below the highest signed target or a source
below the highest signed source (Ethereum's minimal slashing protection). An honest validator never needs
such a vote: its targets rise and its source (the latest justified checkpoint) never falls. With the
watermarks, old votes can be dropped from the file without ever allowing a slashable pair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from btt_chain.consensus.durable import write_json_durably
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.evidence import surrounds
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Vote, sign_vote

RECORD_VERSION = 1
KEEP_VOTES = 256
"""Recent votes kept in the record (the watermarks cover older ones)."""


class VoteGuard:
    """The persisted record of the finality votes this validator signed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.max_source = -1
        self.max_target = -1
        self.votes: list[tuple[Checkpoint, Checkpoint]] = []
        if self.path.exists():
            try:
                self._load(json.loads(self.path.read_text()))
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise StorageError(f"vote signing record {self.path} is unreadable ({exc}); refusing to vote") from None

    def _load(self, data: Any) -> None:
        if data["version"] != RECORD_VERSION:
            raise ValueError(f"unknown record version {data['version']!r}")
        self.max_source = int(data["max_source"])
        self.max_target = int(data["max_target"])
        self.votes = [
            (Checkpoint(int(s[0]), bytes.fromhex(s[1])), Checkpoint(int(t[0]), bytes.fromhex(t[1])))
            for s, t in data["votes"]
        ]
        for s, t in self.votes:
            if len(s.block_hash) != 32 or len(t.block_hash) != 32:
                raise ValueError("a checkpoint hash is not 32 bytes")
            if s.epoch > self.max_source or t.epoch > self.max_target:
                raise ValueError("a recorded vote is above the watermarks")

    def may_sign(self, source_epoch: int, target_epoch: int) -> bool:
        """True when a vote source_epoch -> target_epoch can be neither a double nor a surround vote with
        anything signed before."""
        if not 0 <= source_epoch < target_epoch:
            return False
        if target_epoch <= self.max_target or source_epoch < self.max_source:
            return False
        for s, t in self.votes:
            if t.epoch == target_epoch:
                return False
            if surrounds(s.epoch, t.epoch, source_epoch, target_epoch):
                return False
            if surrounds(source_epoch, target_epoch, s.epoch, t.epoch):
                return False
        return True

    def record(self, source: Checkpoint, target: Checkpoint) -> None:
        """Persist source -> target as signed, durably, before the vote is signed and leaves this node.
        Raises StorageError (nothing recorded) if the vote could be slashable."""
        if not self.may_sign(source.epoch, target.epoch):
            raise StorageError(
                f"refusing to vote {source.epoch} -> {target.epoch}: it could double or surround a vote already "
                f"signed (highest source {self.max_source}, highest target {self.max_target})"
            )
        votes = [*self.votes, (source, target)][-KEEP_VOTES:]
        max_source = max(self.max_source, source.epoch)
        max_target = max(self.max_target, target.epoch)
        data = {
            "version": RECORD_VERSION,
            "max_source": max_source,
            "max_target": max_target,
            "votes": [[[s.epoch, s.block_hash.hex()], [t.epoch, t.block_hash.hex()]] for s, t in votes],
        }
        write_json_durably(self.path, data)
        self.votes = votes
        self.max_source = max_source
        self.max_target = max_target

    def sign(self, pair: Keypair, genesis_hash: bytes, source: Checkpoint, target: Checkpoint) -> Vote:
        """Record, then sign: the only way a validator should make a vote."""
        self.record(source, target)
        return sign_vote(pair, genesis_hash, source, target)
