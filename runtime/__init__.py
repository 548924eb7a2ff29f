"""The state transition: executive, storage overlay, dispatch table and one package per module.

Pure and deterministic: no clock, network, disk or randomness except what the block carries.
May import `btt_chain.primitives` only.
"""
