"""Module errors: each module's errors.py subclasses ModuleError once per error, with a readable docstring."""

from __future__ import annotations

from typing import ClassVar

from btt_chain.primitives.errors import BttError, DispatchError, InvalidExtrinsic


class ModuleError(DispatchError):
    """A runtime module refused a call."""

    MODULE: ClassVar[str] = "runtime"

    def __init__(self, detail: str = "") -> None:
        super().__init__(self.MODULE, type(self).__name__, detail or (self.__doc__ or "").strip())


class BadOrigin(ModuleError):
    """The call was made from an origin that may not make it."""

    MODULE = "system"


class BadArguments(ModuleError):
    """The call's arguments do not match its signature."""

    MODULE = "system"


class Overflow(ModuleError):
    """An amount would exceed the 128-bit range."""

    MODULE = "system"


class WeightsUnavailable(BttError):
    """This node does not hold the weights blob of a model it must execute (not a fault of the block): the same
    class whatever spec runs, so the node catches it once (`compute.weights_source` raises it)."""

    def __init__(self, weights_hash: bytes, size: int = 0) -> None:
        super().__init__(f"the weights 0x{weights_hash.hex()} ({size} bytes) are not held by this node yet")
        self.weights_hash = weights_hash
        self.size = size


class BlockFull(InvalidExtrinsic):
    """The extrinsic does not fit in the block's remaining weight, size or count (the executive of every spec raises
    this one class)."""


class MigrationFailed(BttError):
    """A migration of an upgrade raised: the block cannot be executed, on any node, by this release's rules. The chain
    stops before that block (nothing forks); a release whose migration succeeds goes on from there."""

    def __init__(self, spec: int, migration: str, why: str) -> None:
        super().__init__(f"spec {spec}'s migration {migration!r} failed: {why}")
        self.spec = spec
        self.migration = migration
        self.why = why


class ChainMigrating(BlockFull):
    """An upgrade's migrations are running: blocks carry the chain's inherents only until they end (the pool keeps
    what it holds; a new transaction is refused, and costs nothing)."""
