"""Module `balances`: transfers, burns, the existential deposit, and reserve/freeze primitives for other modules."""
