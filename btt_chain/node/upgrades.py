"""What a node does and says at an upgrade it cannot follow (issue 50, "operators are never surprised").

Two ways a block can be beyond this node: its spec is not one it runs (`runtime.specs.UnsupportedSpec`: an older
release, or `--max-spec`), or the upgrade's migration fails (`runtime.errors.MigrationFailed`: on every node of this
release, so the whole chain stops there). Either is no verdict on the block or on whoever sent it. The chain
(`Chain.stop_before`) then records a `Halt` at that block's number and raises `UpgradeHalt`; from then on it refuses
every block at or above that number before any check, and authors nothing. The halt is for the life of the process:
the operator installs a release that runs the spec (or whose migration succeeds) and restarts; the node goes on from
its last block. Nothing is written, so nothing forks.

`UpgradeWatch` is the node's side: one WARNING line as soon as its best chain schedules a spec it cannot run (the
spec, the block, the blocks to go, what to install), one ERROR line when it stops, one WARNING line when its peers'
heads run a spec it cannot, and one more only for a newer one (a peer's word is unchecked: a spec further past the
newest this node knows of than `PEER_SPECS_AHEAD` is not believed, which bounds the lines any peers can cause);
`/health` and `/metrics` read its figures. It stops the chain itself as soon as the next
block on the head needs a spec it cannot run (the head at the block before the upgrade, or a node restarted with an
older release on a chain past it), so that it never even tries the block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.primitives.errors import BttError
from runtime.errors import MigrationFailed
from runtime.specs import UnsupportedSpec, running_spec, scheduled_spec, spec_for_block, supported

if TYPE_CHECKING:
    from btt_chain.node.chain import Chain
    from btt_chain.node.sync import PeerStatus
    from runtime.system.types import ScheduledSpec

log = logging.getLogger("btt.upgrade")

PEER_SPECS_AHEAD = 8
"""How far past the newest spec this node knows of (the newest it runs, its head's, its chain's scheduled one) a
peer's head may run for the node to believe it and warn: a chain takes its specs one at a time, each by a
referendum, so a peer that claims more lies (or this release is very old: its own chain's schedule still warns, and
the chain stops before the block it cannot run with an ERROR line). As the node warns of a peer's spec only when it
is newer than any it warned of, the peers can cause at most this many WARNING lines in the life of the process."""


@dataclass(frozen=True)
class Halt:
    """Where and why this node stopped: `number` is the first block it cannot execute."""

    number: int
    spec: int
    """The spec that block runs under."""
    migration: str | None
    """The migration that failed, or None when this node does not run `spec` at all."""
    reason: str
    """The runtime's words: the spec, and what to install."""

    def describe(self) -> str:
        return f"block #{self.number} cannot be executed by this node: {self.reason}"


def halt_of(number: int, exc: UnsupportedSpec | MigrationFailed) -> Halt:
    if isinstance(exc, MigrationFailed):
        reason = (f"{exc} (every node of this release stops here; nothing forks): install a btt-chain release whose "
                  f"spec {exc.spec} migrations run on this chain")
        return Halt(number, exc.spec, exc.migration, reason)
    return Halt(number, exc.spec, None, str(exc))


class UpgradeHalt(BttError):
    """This node stopped before a block it cannot execute (a spec it does not run, or a failed migration): no verdict
    on the block or its sender; install a release that runs it."""

    def __init__(self, halt: Halt) -> None:
        super().__init__(halt.describe())
        self.halt = halt


class UpgradeWatch:
    """The node's eye on upgrades: the head's spec, the scheduled one, whether this node runs it, and the halt."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.head_spec = running_spec(chain.state())
        """The spec that ran the head block."""
        self.scheduled: ScheduledSpec | None = None
        self._warned: set[tuple[int, int]] = set()
        self._peer_spec_warned = 0
        """The newest spec a peer's head ran that this node warned of (0: none yet)."""
        chain.on_halt(self._on_halt)

    @property
    def halt(self) -> Halt | None:
        return self.chain.halt

    def on_head(self) -> None:
        """Read the head's spec and schedule (two storage reads); warn once per schedule this node cannot run; stop
        the chain if the next block on the head needs a spec this node does not run."""
        chain = self.chain
        state = chain.state()
        self.head_spec = running_spec(state)
        self.scheduled = scheduled = scheduled_spec(state)
        head = chain.head.number
        if scheduled is not None and scheduled.spec not in supported() and (scheduled.spec, scheduled.at) \
                not in self._warned:
            self._warned.add((scheduled.spec, scheduled.at))
            log.warning(
                f"spec {scheduled.spec} is scheduled at block #{scheduled.at}, {max(0, scheduled.at - head)} blocks "
                f"from the head #{head}, and this node cannot run it (it runs specs {_specs()}): install a btt-chain "
                f"release that runs spec {scheduled.spec} before then, or this node stops before block "
                f"#{scheduled.at}")
        if chain.halt is not None:
            return
        nxt = spec_for_block(state, head + 1)
        if nxt not in supported():
            at = scheduled.at if scheduled is not None and scheduled.spec == nxt else None
            chain.stop_before(head + 1, UnsupportedSpec(nxt, at))

    def _on_halt(self, halt: Halt) -> None:
        head = self.chain.head
        log.error(
            f"stopped at block #{head.number} 0x{self.chain.head_hash.hex()[:16]}: {halt.describe()}; this node "
            "authors and imports nothing more and keeps serving RPC at its last block")

    def observe_peer(self, peer: str, status: PeerStatus) -> None:
        """A peer's status: say that its head runs a spec newer than this node runs, once, and again only for a newer
        spec still (nobody is blamed for it); a spec more than `PEER_SPECS_AHEAD` past the newest this node knows of
        is not believed (said at DEBUG only). Remembers one number, whatever the peers claim."""
        spec = status.spec
        newest = max(supported())
        if spec is None or spec <= max(newest, self._peer_spec_warned):
            return
        known = max(newest, self.head_spec, self.scheduled.spec if self.scheduled is not None else 0)
        if spec > known + PEER_SPECS_AHEAD:
            log.debug("peer %s claims its head runs spec %d, more than %d specs past spec %d: not believed",
                      peer[-8:], spec, PEER_SPECS_AHEAD, known)
            return
        self._peer_spec_warned = spec
        log.warning(
            f"peer {peer[-8:]}'s head #{status.best_number} runs spec {spec}, which this node cannot run (it runs "
            f"specs {_specs()}): install a btt-chain release that runs spec {spec}")

    # what /health and /metrics show ------------------------------------------------------------------------------
    def scheduled_fields(self) -> dict[str, Any] | None:
        s = self.scheduled
        if s is None:
            return None
        return {"spec": s.spec, "at": s.at, "supported": s.spec in supported(),
                "blocksToGo": max(0, s.at - self.chain.head.number)}

    def halt_fields(self) -> dict[str, Any] | None:
        h = self.chain.halt
        if h is None:
            return None
        return {"block": h.number, "spec": h.spec, "migration": h.migration, "message": h.describe()}


def _specs() -> str:
    return ", ".join(map(str, supported()))
