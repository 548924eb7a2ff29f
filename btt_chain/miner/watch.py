"""What the miner and the clinic share: the RPC caller they are given, signed submissions, and a watcher
that reads each new block's events once, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from btt_chain.primitives.amounts import format_btt


class RpcCaller(Protocol):
    """A JSON-RPC client: `btt_chain.client.rpc.RpcClient`, or an in-process dispatcher in tests."""

    def call(self, method: str, *params: Any) -> Any: ...


class Submit(Protocol):
    """submit(call name, args, wait, force=False) -> extrinsic hash: sign with the next nonce and submit; with
    `wait`, return once included and raise if the call failed. A submission is dry-run against the head first
    and not sent if that fails, unless `force` (a call that depends on an earlier one still in the pool, such
    as the next chunk of outputs)."""

    def __call__(self, call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str: ...


Output = Callable[[str], None]
"""Where progress lines go (stdout with a time, or the node's log)."""

MAX_CATCH_UP = 64
"""Blocks of events a watcher reads in one go after a pause; older ones are skipped."""
EVENTS_PAGE = 500
"""Events `btt_events` answers per call at most."""


def btt(amount: int | str, decimals: int = 18, symbol: str = "BTT") -> str:
    return f"{format_btt(int(amount), decimals)} {symbol}"


class EventWatcher:
    """Yields (block number, event) for every block after the one it started at, each block once."""

    def __init__(self, rpc: RpcCaller, from_number: int | None = None) -> None:
        self.rpc = rpc
        self.last = self.head_number() if from_number is None else from_number

    def head_number(self) -> int:
        return int(self.rpc.call("chain_getHeader")["number"], 16)

    def new_events(self) -> Iterator[tuple[int, dict[str, Any]]]:
        head = self.head_number()
        start = max(self.last + 1, head - MAX_CATCH_UP + 1)
        for n in range(start, head + 1):
            block_hash = self.rpc.call("chain_getBlockHash", n)
            if block_hash is None:
                return
            events: list[dict[str, Any]] = []
            while True:  # a page at a time: btt_events answers at most EVENTS_PAGE
                page = self.rpc.call("btt_events", block_hash, None, len(events))
                events += page
                if len(page) < EVENTS_PAGE:
                    break
            self.last = n
            for ev in events:
                yield n, ev
