"""p2p: the libp2p host, gossip topics, request/response sync, peer scoring (arrives with the networking issue).

Knows bytes and peers, never runtime rules. May import `btt_chain.primitives` only.
"""
