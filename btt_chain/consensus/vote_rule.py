"""The vote rule: which finality link a validator signs, as one pure function of what it knows.

    source = the latest justified checkpoint on the head's chain
    target = the head's checkpoint of the head's epoch

The validator abstains (no vote) when the source would not come before the target (the target, or a later checkpoint
of this chain, is justified already), and when its own signed record forbids the link: a vote that is a double or
surround vote with one it signed before is never signed. Because the source is the checkpoint of its epoch on the
head's chain and the target is the head's own checkpoint, the source is always an ancestor of the target: a link no
node could count is never signed.

When: once per epoch, not at the first block of it but `vote_delay` slots into it (`voting_epoch`), by the head's
slot or the clock's, whichever comes first. The target is the last block before the epoch's first slot, so a fork
there (a block of the epoch's last slots arriving late, from a slow clock or a slow link, beside one built without it)
split the votes of validators that voted on the first block they saw: the longest chain settles that within a slot
or two, and votes cast after it agree. The wait delays every finalization by as many slots (two seconds on the
devnet's 1 s slots, `btt-chain bench network`) and skips no epoch: the next epoch's votes wait as long, so the source
they name is the justification this epoch's votes made.

With the fork choice from the latest justified checkpoint (`fork_choice`), an honest validator's source epoch never
falls and its target epoch rises, so its record never forbids the rule's link: it abstains only when it has nothing to
add, or after its record and its finality state drifted apart (a validator restored from an older database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.primitives.vote import Checkpoint

Link = tuple[Checkpoint, Checkpoint]

VOTE_DELAY_SLOTS = 2
"""Slots into an epoch a validator waits before it votes (less in an epoch of two slots or fewer): enough for a
block of the last slot before it, a slot late, to arrive and the fork choice to settle."""


def vote_delay(epoch_slots: int) -> int:
    """The slots into an epoch a validator waits before it votes: VOTE_DELAY_SLOTS, within the epoch."""
    return max(0, min(VOTE_DELAY_SLOTS, epoch_slots - 1))


def voting_epoch(head_slot: int, clock_slot: int, epoch_slots: int, delay: int) -> int | None:
    """The epoch a validator votes in now: its head's, once the head or the clock is `delay` slots into that epoch
    (`vote_delay`); None before, and in epoch 0 (genesis is justified). A head behind the clock (a node catching up)
    votes in its own epoch at once, as its clock is past the delay."""
    epoch = head_slot // epoch_slots
    if epoch <= 0:
        return None
    due = epoch * epoch_slots + delay
    return epoch if max(head_slot, clock_slot) >= due else None


@dataclass(frozen=True)
class VoteChoice:
    """The rule's answer: a link to sign, or why not."""

    link: Link | None
    reason: str | None = None
    """Why no vote (None when there is one)."""


def choose_vote(
    epoch: int,
    head_checkpoint: Callable[[int], Checkpoint],
    justified: Iterable[Checkpoint],
    signed: SignedVotes,
) -> VoteChoice:
    """The link to sign in `epoch` (the head's epoch, above 0).

    `head_checkpoint(e)`: the checkpoint of epoch e on the head's chain, for 0 <= e <= epoch. `justified`: the
    checkpoints this node holds justified (on its finalized chain). `signed`: this validator's signed record."""
    if epoch <= 0:
        return VoteChoice(None, "epoch 0 has no vote (genesis is justified)")
    target = head_checkpoint(epoch)
    source: Checkpoint | None = None
    for cp in sorted(justified, key=lambda c: c.epoch, reverse=True):
        if cp.epoch <= epoch and head_checkpoint(cp.epoch) == cp:
            source = cp
            break
    if source is None:
        return VoteChoice(None, "no justified checkpoint is on the head's chain")
    if source.epoch >= target.epoch:
        return VoteChoice(None, f"the head's checkpoint of epoch {target.epoch} is justified already")
    refusal = signed.refusal(source.epoch, target.epoch)
    if refusal is not None:
        return VoteChoice(None, f"abstaining from {source.epoch} -> {target.epoch}: {refusal}")
    return VoteChoice((source, target))
