"""Account ids: ed25519 public keys for people, and keyless module accounts derived from a name."""

from __future__ import annotations

from btt_chain.primitives.hashing import blake2b_256

MODULE_ACCOUNTS = (
    "mining_pool",
    "community_incentives",
    "ecosystem_fund",
    "development_fund",
    "foundation",
    "operational_reserve",
    "strategic_reserve",
    "staker_rewards",
    "treasury",
)
"""Every module account the runtime knows. No private key exists for any of them."""


def module_account(name: str) -> bytes:
    """The 32-byte account id of module account `name` (blake2b-256 of b'modl/' + name)."""
    if name not in MODULE_ACCOUNTS:
        raise ValueError(f"unknown module account {name!r}; known: {', '.join(MODULE_ACCOUNTS)}")
    return blake2b_256(b"modl/" + name.encode())


def multisig_account(signatories: list[bytes] | tuple[bytes, ...], threshold: int) -> bytes:
    """The keyless account of a `threshold`-of-N multisig: blake2b-256 of b'multisig/' + threshold (u16,
    big-endian) + the signatories sorted and concatenated. The order they are given in does not matter."""
    if not 0 <= threshold <= 0xFFFF:
        raise ValueError(f"threshold {threshold} does not fit in a u16")
    return blake2b_256(b"multisig/" + threshold.to_bytes(2, "big") + b"".join(sorted(signatories)))
