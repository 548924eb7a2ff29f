"""The slice of `Node` the finality service (and the warp server) use, recording what it is told."""

from __future__ import annotations

from typing import TYPE_CHECKING

from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Header
from tests.support.node_builder import far_future_ms

if TYPE_CHECKING:
    from btt_chain.node.finality_service import FinalityService


class StubNode:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.spec = chain.genesis.spec
        self.finalized: list[bytes] = []
        self.submitted: list[bytes] = []
        self.finality: FinalityService | None = None

    def now_ms(self) -> int:
        return far_future_ms()

    def notify_finalized(self, header: Header, block_hash: bytes) -> None:
        self.finalized.append(block_hash)

    def next_account_index(self, who: bytes) -> int:
        return 0

    def submit_extrinsic(self, encoded: bytes) -> bytes:
        self.submitted.append(encoded)
        return b""
