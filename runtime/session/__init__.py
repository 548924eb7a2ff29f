"""Module `session`: the active validator set (account, session key, bond), from genesis.

Bonds are reserved balance of the validator's account. The leader schedule is drawn over this set by
bond (work weighting arrives with the compute module; bonding and rotation with staking).
"""
