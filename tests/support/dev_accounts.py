"""The dev chain's well-known accounts by name (alice, bob, ...), as the tests write them."""

from __future__ import annotations

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair

SS58_PREFIX = 42
"""The dev chain's SS58 prefix (Substrate's generic one)."""


def dev_address(name: str, prefix: int = SS58_PREFIX) -> str:
    """The SS58 address of the dev account `name`."""
    return encode_address(dev_keypair(name).public, prefix)
