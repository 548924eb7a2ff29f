"""Epochs and checkpoints: which block of a chain is an epoch's checkpoint, and what finality asks of the block tree.

Slot s is in epoch s // epoch_slots. The checkpoint of epoch e on a chain is its block with the highest slot below
e * epoch_slots (genesis for e = 0); when an epoch has no block, its checkpoint is the one of the epoch before, so one
block can be the checkpoint of several epochs. A checkpoint (e, B) is *on the chain of* a block T when B is the
checkpoint of epoch e on the chain that ends at T: B is an ancestor of T (or T itself) and no block between them has a
slot below e's boundary. That is Casper's ancestry for checkpoints, and every finality rule asks it through
`CheckpointView`, which the node answers from its block database and the simulation from its in-memory tree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from btt_chain.consensus.validator_set import Validators, ValidatorSet
from btt_chain.primitives.block import Header
from btt_chain.primitives.vote import Checkpoint, Justification

MAX_OWN_JUSTIFICATIONS = 48
"""Justifications `CheckpointView.own_justifications` returns at most (the newest)."""


def epoch_of(slot: int, epoch_slots: int) -> int:
    return slot // epoch_slots


def checkpoint_for_epoch(
    epoch: int,
    headers_by_number: Callable[[int], Header | None],
    head_number: int,
    *,
    epoch_slots: int,
    lowest: int = 0,
) -> Checkpoint:
    """The checkpoint of `epoch` on the chain whose blocks `headers_by_number` returns (0..head_number).

    It is the block with the highest slot below epoch * epoch_slots, found by binary search (slots strictly
    increase along a chain); genesis (number 0) for epoch 0. If the head itself is below the boundary the
    head is returned: callers vote only once their head has entered `epoch`, when the answer is final.

    `lowest`: the first block after genesis the chain holds (a warp-synced database's base); a checkpoint below it is
    a LookupError, as is any block missing."""
    if epoch_slots <= 0:
        raise ValueError("epoch_slots must be positive")

    def header(n: int) -> Header:
        h = headers_by_number(n)
        if h is None:
            raise LookupError(f"no header at number {n} on this chain")
        return h

    if epoch == 0:
        return Checkpoint(0, header(0).hash())
    boundary = epoch * epoch_slots
    lo, hi = 0, head_number  # invariant: block lo has a slot below the boundary (genesis has slot 0)
    if lowest > 0:
        if header(lowest).slot >= boundary:
            raise LookupError(f"the checkpoint of epoch {epoch} is below block #{lowest}, the oldest this chain holds")
        lo = lowest
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if header(mid).slot < boundary:
            lo = mid
        else:
            hi = mid - 1
    return Checkpoint(epoch, header(lo).hash())


def checkpoint_block_by_walk(
    epoch: int, tip: bytes, slot_of: Callable[[bytes], int | None], parent_of: Callable[[bytes], bytes | None],
    genesis_hash: bytes, *, epoch_slots: int,
) -> bytes | None:
    """The hash of the checkpoint block of `epoch` on the chain ending at block `tip`, walking parents from `tip`; None
    when a block on the way is unknown. For trees held in memory (the simulation, tests); the node searches its
    canonical chain by number where it can."""
    if epoch == 0:
        return genesis_hash
    boundary = epoch * epoch_slots
    h: bytes | None = tip
    while h is not None:
        slot = slot_of(h)
        if slot is None:
            return None
        if slot < boundary:
            return h
        h = parent_of(h)
    return None


class CheckpointView(Protocol):
    """What the finality rules need to know of the block tree (the node's chain database, or a simulated tree)."""

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        """The set that votes for `target`: the set active in the target's epoch on the target's own chain. None while
        this view cannot tell (the block is unknown, not executed here, or not known to be that epoch's checkpoint).
        Its answer for a target, once given, never changes."""
        ...

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        """Whether `cp` is the checkpoint of epoch `cp.epoch` on the chain of `of` (so `cp` is `of` or its ancestor
        there). Asked only of an `of` whose voter set this view gave, whose ancestors it therefore knows."""
        ...

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        """The checkpoint of `epoch` (at most `of.epoch`) on the chain of `of`, a checkpoint whose block this node may
        hold (its finalized one; a block of another fork); None when it cannot tell (the block, or one between, is not
        held: below where this node's database starts, or a fork it never stored)."""
        ...

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        """The set this node trusts to weigh links of `epoch` whose target is not on its own chain (a fork that
        conflicts with its finality, whose blocks it never executes): the set that votes for its own canonical chain's
        checkpoint of `epoch` (of its head's epoch, for a later one). None when it has none."""
        ...

    def key_owner(self, key: bytes) -> bytes | None:
        """The account a session key signs for, as this node knows it beyond the sets it weighed: the key's
        authorization (the account's own signed `session.set_keys` naming it) seen in any block or fetched from a peer,
        which proves it on every fork alike; None if it has none."""
        ...

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        """The justifications this node stored beside the checkpoints of epochs `low_epoch`..`of.epoch` on the chain of
        `of` (its finalized checkpoint), oldest first, at most MAX_OWN_JUSTIFICATIONS (from `low_epoch` up): the
        evidence on its side of a finality conflict."""
        ...


class FixedSetView:
    """A view for a chain whose validator set never changes and whose checkpoints are told by `on_chain` (tests and
    tools): every target is voted for by the same set."""

    def __init__(self, validators: Validators, on_chain: Callable[[Checkpoint, Checkpoint], bool]) -> None:
        self._set = ValidatorSet.of(validators)
        self._on_chain = on_chain

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        return self._set

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        return cp.epoch <= of.epoch and self._on_chain(cp, of)

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        return None  # this view cannot name checkpoints, only test them

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        return self._set

    def key_owner(self, key: bytes) -> bytes | None:
        return None

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        return []
