"""The demo clinic: posts a synthetic job every few seconds and reports how each one settles.

A synthetic job's inputs are SHAKE-256(seed, index) (`runtime.compute.inputs`): the clinic sends only the
seed and the chain derives the input root, so any provider can regenerate the inputs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from btt_chain.miner.watch import EventWatcher, Output, RpcCaller, Submit, btt
from btt_chain.primitives.errors import BttError, ConfigError
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.compute.types import JOB_STATES

DROPPED_AFTER_S = 30.0
"""A post the node no longer knows after this long is counted as dropped."""


@dataclass(frozen=True)
class JobTerms:
    model: bytes
    model_name: str
    items: int
    price: int
    redundancy: int = 1
    deadline_ms: int = 60_000


def resolve_model(rpc: RpcCaller, name: str) -> tuple[bytes, str]:
    """A registered model's (hash, name) by name or by 0x hash."""
    rows = rpc.call("btt_models")
    for row in rows:
        if name in (row["name"], row["hash"]):
            return bytes.fromhex(row["hash"][2:]), row["name"]
    known = ", ".join(r["name"] for r in rows) or "none"
    raise ConfigError(f"no model {name!r} is registered on this chain (registered: {known})")


def parse_seed(text: str) -> bytes:
    """`random`, or 32 bytes of hex (with or without 0x); never the zero hash (that means "not synthetic")."""
    if text == "random":
        return secrets.token_bytes(32)
    raw = text[2:] if text.startswith(("0x", "0X")) else text
    try:
        seed = bytes.fromhex(raw)
    except ValueError:
        raise ConfigError(f"--seed {text!r} is not hex: give 64 hex digits or `random`") from None
    if len(seed) != 32:
        raise ConfigError(f"--seed must be 32 bytes (64 hex digits), got {len(seed)}")
    if seed == ZERO_HASH:
        raise ConfigError("--seed must not be all zeros (a zero seed means the job is not synthetic)")
    return seed


def post_args(terms: JobTerms, seed: bytes) -> tuple[Any, ...]:
    """Arguments of `compute.post_job` for a synthetic job (input root left to the chain)."""
    return (terms.model, ZERO_HASH, seed, terms.items, terms.price, terms.redundancy, terms.deadline_ms)


class ClinicLoop:
    """Posts jobs on a timer and follows their outcome through the block events."""

    def __init__(
        self,
        rpc: RpcCaller,
        address: str,
        terms: JobTerms,
        submit: Submit,
        out: Output,
        decimals: int = 18,
        symbol: str = "BTT",
        seed_source: Callable[[], bytes] = lambda: secrets.token_bytes(32),
    ) -> None:
        self.rpc = rpc
        self.address = address
        self.terms = terms
        self.submit = submit
        self.out = out
        self.decimals = decimals
        self.symbol = symbol
        self.seed_source = seed_source
        self.mine: set[int] = set()
        """Jobs of this clinic that have not closed yet."""
        self.posted = 0
        self.in_flight: dict[str, float] = {}
        """Submitted post_job extrinsics not yet seen in a block, with when they were sent."""
        self.watcher: EventWatcher | None = None

    def btt(self, amount: int | str) -> str:
        return btt(amount, self.decimals, self.symbol)

    def post(self) -> str:
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        xt_hash = self.submit("compute.post_job", post_args(self.terms, self.seed_source()), False)
        self.posted += 1
        self.in_flight[xt_hash] = time.monotonic()
        return xt_hash

    def run(self, should_stop: Callable[[], bool], every_s: float, count: int | None = None,
            interval: float = 0.5) -> None:
        """Post a job every `every_s` seconds (`count` of them, or until stopped), reporting outcomes."""
        next_post = time.monotonic()
        down = False
        while not should_stop():
            try:
                if (count is None or self.posted < count) and time.monotonic() >= next_post:
                    self.post()
                    next_post = time.monotonic() + every_s
                self.report()
                down = False
            except (BttError, OSError) as exc:
                if not down:
                    self.out(f"cannot post or read: {exc}; retrying")
                    down = True
                next_post = time.monotonic() + every_s
            if count is not None and self.posted >= count and not self.in_flight and not self.mine:
                return
            time.sleep(interval)

    def report(self) -> None:
        """Report what the blocks since the last call did to this clinic's jobs."""
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        for xt_hash, at in list(self.in_flight.items()):
            status = self.rpc.call("btt_extrinsicStatus", xt_hash)
            if status is not None and status.get("status") == "included":
                del self.in_flight[xt_hash]
                if not status.get("success"):
                    self.out(f"posting a job failed in block #{status['blockNumber']}: {status.get('error')}")
            elif status is None and time.monotonic() - at > DROPPED_AFTER_S:
                del self.in_flight[xt_hash]
                self.out(f"a job post ({xt_hash}) was dropped by the node")
        for number, ev in self.watcher.new_events():
            self._report(number, ev)

    def _report(self, number: int, ev: dict[str, Any]) -> None:
        if ev.get("module") != "compute":
            return
        name = ev["event"]
        jid = int(ev.get("job_id", -1))
        if name == "JobPosted" and ev.get("requester") == self.address:
            self.mine.add(jid)
            self.out(
                f"posted job #{jid} in block #{number}: {ev['items']} items of {self.terms.model_name}, "
                f"price {self.btt(ev['price'])} escrowed"
            )
        elif jid not in self.mine:
            return
        elif name == "JobAssigned":
            self.out(f"job #{jid} assigned to {ev['provider']} in block #{number}")
        elif name == "JobReceipt":
            self.out(
                f"job #{jid} receipt in block #{number}: {self.btt(ev['payment'])} settled, "
                f"{self.btt(ev['burned'])} burned, {self.btt(ev['provider_paid'])} to the provider"
            )
        elif name == "FraudDetected":
            self.out(f"job #{jid}: provider {ev['provider']} caught faking item {ev['item']}; "
                     f"{self.btt(ev['refunded'])} refunded")
        elif name == "DeadlineMissed":
            self.out(f"job #{jid}: provider {ev['provider']} missed the deadline; {self.btt(ev['refunded'])} refunded")
        elif name == "JobClosed":
            self.mine.discard(jid)
            if ev["status"] != JOB_STATES.index("done"):
                self.out(f"job #{jid} {JOB_STATES[ev['status']]} in block #{number}; {self.btt(ev['refunded'])} "
                         "refunded")
