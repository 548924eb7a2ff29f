"""Module `bonds`: slashable validator and compute-provider bonds, unbonding, and validator registration.

One bond ledger per account (validators and compute providers share it; the compute module reads
`logic.bonded`). Bonded amounts are reserved balance. `unbond` moves part of the bond into an unlocking
chunk that matures after `bonds.unbonding_period_ms`, which genesis requires to be longer than the
evidence window `bonds.evidence_window_ms`: an offence reported within the window can still slash
funds that are already unbonding. Registered validators enter the session sets only at epoch boundaries
(`logic.rotate_session`): queued at the first block of epoch e, active in epoch e + 1.
"""
