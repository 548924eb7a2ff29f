"""A randomized adversarial simulation of the finality protocol, in one process, on the node's own rules.

Every simulated node runs the real `VoteTracker`, `SignedVotes`, `choose_vote` and `choose_head` over an in-memory
block tree; only the network, the clock, block production and the Byzantine validators are simulated. Modules:

- `blocks`: simulated blocks and a node's block tree (with the orphan buffer and checkpoint ancestry);
- `view`: each node's `CheckpointView`, the simulated counterpart of the node's `ChainTargetSets`;
- `validators`: keys, the validator set of every epoch, churn and Byzantine stake in exact fractions;
- `schedule`: one run's description as plain data (replayable JSON); `generator` draws them from (seed, index);
- `draws`: the seeded hashing every random choice of a run comes from;
- `network`: the event queue, message delays, drops, partitions and the GST bound;
- `node`: an honest node (validator or observer); `adversary`: the Byzantine validators;
- `engine`: runs a schedule; `checks`: the safety, accountability, honesty and liveness properties;
- `shrink`: reduces a failing schedule; `scenarios`: the two scripted attacks; `campaign`: many schedules on
  several processes, summed up into figures.

Where it is simpler than the node: votes are signed for real (ed25519, one key per validator) but handed to trackers
with `signature_checked=True`, as the node's signature workers would; blocks carry no state, so a block known is a
block executed; justifications travel only with sync, as in the node, and a sync response is the serving peer's state
when the request is made; only honest nodes serve syncs; the Byzantine validators run no node of their own but act
as one adversary that sees everything.
"""
