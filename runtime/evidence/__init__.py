"""Module `evidence`: anyone may report an account's block equivocation or double/surround vote, signed with any
of its session keys, within the evidence window; the account's bond (active, then unlocking) is slashed, part to the
reporter and the rest burned, whether or not it is still a validator, and a validator left with no bond leaves the
active set."""
