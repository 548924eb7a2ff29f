"""Signing safety: a validator records (fsync) the last slot it signed before broadcasting, and never signs
a second block for a slot at or below it, also across crashes and restarts."""

from __future__ import annotations

import json
from pathlib import Path

from btt_chain.consensus.durable import write_json_durably
from btt_chain.primitives.errors import StorageError


class SigningGuard:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.last_block_slot = -1
        if self.path.exists():
            try:
                self.last_block_slot = int(json.loads(self.path.read_text())["last_block_slot"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise StorageError(f"signing record {self.path} is unreadable ({exc}); refusing to sign") from None

    def may_sign_block(self, slot: int) -> bool:
        return slot > self.last_block_slot

    def record_block(self, slot: int) -> None:
        """Persist `slot` as signed, durably, before the block leaves this node."""
        if not self.may_sign_block(slot):
            raise StorageError(f"refusing to sign slot {slot}: already signed up to slot {self.last_block_slot}")
        write_json_durably(self.path, {"last_block_slot": slot})
        self.last_block_slot = slot
