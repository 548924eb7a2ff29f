"""What a call sees: the overlay, the block environment, the caller's origin, and an event sink."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from btt_chain.primitives.frozen import fast_init
from runtime.errors import BadOrigin
from runtime.events import Event
from runtime.overlay import Overlay

if TYPE_CHECKING:
    from runtime.dispatch import Runtime
    from runtime.system.types import AccountInfo


@dataclass(frozen=True)
class BlockEnv:
    """The block a call runs in: all the runtime knows of time and authorship."""

    number: int
    parent_hash: bytes
    slot: int
    timestamp_ms: int
    author: bytes
    """The author's session (signing) key."""
    reveal: bytes = bytes(32)
    """The header's hash-chain reveal (the consensus module checks it and folds it into the randomness)."""
    speculative: bool = False
    """A view for checking transactions (pool admission, signature checks), not a block: the consensus and
    compute hooks skip their work, since nothing of it is kept."""


@fast_init
@dataclass(frozen=True)
class Origin:
    """Who is calling: a signed account, governance (an enacted referendum), the emergency track (an enacted
    emergency referendum, passed by a supermajority), the runtime itself (root), or nobody (none: an inherent the
    block's author put in unsigned, which every node checks as part of the block)."""

    kind: str
    account: bytes | None = None

    @staticmethod
    def signed(account: bytes) -> Origin:
        return Origin("signed", account)


ROOT = Origin("root")
NONE = Origin("none")
"""FRAME's `None` origin: an unsigned inherent (`timestamp.set`)."""
GOVERNANCE = Origin("governance")
EMERGENCY = Origin("emergency")
"""An enacted emergency-track referendum: everything governance may do, plus the emergency-only calls."""


@dataclass
class CallContext:
    """Per-block execution context shared by every call in the block."""

    state: Overlay
    env: BlockEnv
    runtime: Runtime
    events: list[tuple[int, Event]] = field(default_factory=list)
    phase: int = -1
    """Index of the extrinsic being applied; -1 while initialising, -2 while finalising the block."""
    fee: int = 0
    """The inclusion fee the extrinsic being applied paid (0 outside one): a call that reimburses its signer's
    costs (a provider posting demanded outputs) reads it."""
    initialize_weight: int = 0
    """Weight the modules' start-of-block work used (charged to the block before its extrinsics; spec 19's compute
    hook is the first to report any)."""
    fresh_account: tuple[bytes, AccountInfo, Overlay, int] | None = None
    """(account, its AccountInfo with `frozen` computed at this block's time, the overlay, its write count then):
    set when the fee is withdrawn, so the call that follows need not compute the signer's locks again as long as
    nothing was written since (runtime/balances/locks.py, `refresh_frozen`)."""

    def emit(self, event: Event) -> None:
        self.events.append((self.phase, event))

    def param(self, name: str) -> int:
        known = self.state.params_memo.get(name)
        if known is not None:
            return known
        return _get_param(self.runtime.spec_version)(self.state, name)


@functools.cache
def _get_param(spec: int) -> Callable[[Overlay, str], int]:
    """The params module of the spec that runs (each spec has its own parameter table)."""
    from runtime.specs import package_module  # the params module imports this one

    get: Callable[[Overlay, str], int] = package_module(spec, "runtime.params.storage").get_param
    return get


def ensure_none(origin: Origin) -> None:
    """Only an inherent (unsigned, put in by the block's author) may make this call."""
    if origin.kind != "none":
        raise BadOrigin("this call is an inherent: only a block's author puts it in, unsigned")


def ensure_signed(origin: Origin) -> bytes:
    if origin.kind != "signed" or origin.account is None:
        raise BadOrigin("this call needs a signed origin")
    return origin.account


def ensure_governance(origin: Origin) -> None:
    """Governance, the emergency track (a stricter referendum) or root."""
    if origin.kind not in ("governance", "emergency", "root"):
        raise BadOrigin("only governance may make this call")


def ensure_emergency(origin: Origin) -> None:
    """Only an emergency-track referendum (or root): a standard referendum is refused."""
    if origin.kind not in ("emergency", "root"):
        raise BadOrigin("only an emergency-track referendum may make this call")
