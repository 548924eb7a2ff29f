"""Module `session`: the validator set (account, session key, bond) of the current epoch and the one queued
for the next (Substrate's session pallet with queued keys).

The set for epoch e + 1 is fixed at the first block of epoch e: there the queued set becomes active, the
bonds module computes the set to queue next, and the consensus module draws the next epoch's leader schedule
from exactly that queued set. So a validator leads slots exactly in the epochs in which it is active, and
the set that votes for the checkpoint of epoch e is the queued set in that checkpoint block's post-state.
Bonds are reserved balance of the validator's account.
"""
