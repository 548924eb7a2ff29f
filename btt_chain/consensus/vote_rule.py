"""The vote rule: which finality link a validator signs, as one pure function of what it knows.

    source = the latest justified checkpoint on the head's chain
    target = the head's checkpoint of the head's epoch

The validator abstains (no vote) when the source would not come before the target (the target, or a later checkpoint
of this chain, is justified already), and when its own signed record forbids the link: a vote that is a double or
surround vote with one it signed before is never signed. Because the source is the checkpoint of its epoch on the
head's chain and the target is the head's own checkpoint, the source is always an ancestor of the target: a link no
node could count is never signed.

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
