"""Module `consensus`: the epoch power table, the epoch seed from hash-chain reveals, the slot leader check."""
