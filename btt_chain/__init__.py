"""btt-chain: the node package. Imports nothing, so `btt_chain.primitives` loads without the node."""
