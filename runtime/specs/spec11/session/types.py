"""Types of the session module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, Struct


@dataclass(frozen=True)
class ValidatorInfo(Struct):
    account: bytes
    """Whose reserved balance is the bond."""
    session_key: bytes
    """The ed25519 key that signs blocks (and, later, votes)."""
    bond: int
    payee: bytes
    """Where the author's share of fees goes (Substrate's reward destination); the account itself by default."""
    WIRE = (("account", ACCOUNT), ("session_key", HASH), ("bond", AMOUNT), ("payee", ACCOUNT))


@dataclass(frozen=True)
class SessionKeys(Struct):
    """A validator's session keys as `session.set_keys` takes them and `author_rotateKeys` returns them (64 bytes of
    SCALE): the ed25519 key that signs blocks and finality votes, and the commitment (the end) of the hash chain its
    blocks reveal, at the key's next generation."""

    session_key: bytes
    hash_chain_commitment: bytes
    WIRE = (("session_key", HASH), ("hash_chain_commitment", HASH))

    def ownership_message(self, owner: bytes) -> bytes:
        """What the session key signs to show `set_keys` that its holder lets `owner` use it (proof of possession:
        nobody registers a key it does not hold, so nobody can take another node's freshly rotated key)."""
        return b"btt-session-keys" + owner + self.session_key + self.hash_chain_commitment
