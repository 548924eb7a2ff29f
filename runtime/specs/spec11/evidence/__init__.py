"""Module `evidence`: anyone may report a validator's block equivocation or double/surround vote; the
offender's bond is slashed (part to the reporter, the rest burned) and a validator left with no bond
leaves the set."""
