"""Validators' hash chains: unique, ungrindable randomness reveals for block headers.

At bonding a validator commits to the end of a hash chain, `commitment = step^length(seed)`. Its k-th
authored block reveals `reveal(k) = step^(length - k)(seed)`, which links to the previous one by
`reveal_step(reveal(k)) == reveal(k - 1)` (with `reveal(0)` being the commitment). Each value is fixed by
the commitment, so an author cannot choose among reveals to grind the epoch seed; the runtime folds every
reveal into a running randomness with `mix_seed`.

The chain seed is derived from the session key's 32-byte ed25519 secret seed (`hash_chain_seed`) and is
never stored. `HashChain` keeps one checkpoint every `checkpoint_every` steps, so a reveal costs at most
`checkpoint_every - 1` hashes and memory is `length / checkpoint_every` hashes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from btt_chain.primitives.hashing import blake2b_256

REVEAL_DOMAIN = b"btt-reveal"
SEED_DOMAIN = b"btt-hash-chain"
RANDOMNESS_DOMAIN = b"btt-epoch-randomness"
DEFAULT_CHECKPOINT_EVERY = 1024
"""Checkpoint spacing: 2**20 reveals keep 1024 checkpoints (32 KiB) and cost at most 1023 hashes each."""


class HashChainExhausted(ValueError):
    """The hash chain has no reveal left at that index: register a new hash-chain commitment."""


def reveal_step(x: bytes) -> bytes:
    """One step of a hash chain: blake2b-256("btt-reveal" || x)."""
    return blake2b_256(REVEAL_DOMAIN + x)


def hash_chain_seed(secret_seed: bytes, generation: int = 0) -> bytes:
    """The seed of the session key's hash chain number `generation` (0 at registration; each rotation starts the
    next), derived from the key's 32-byte ed25519 secret seed (derive, never store)."""
    if type(secret_seed) is not bytes or len(secret_seed) != 32:
        raise ValueError("hash chain: the secret seed must be the 32-byte ed25519 seed of the session key")
    if type(generation) is not int or generation < 0:
        raise ValueError(f"hash chain: the generation must be a non-negative integer, got {generation!r}")
    if generation == 0:
        return blake2b_256(SEED_DOMAIN + secret_seed)
    return blake2b_256(SEED_DOMAIN + secret_seed + generation.to_bytes(8, "big"))


def verify_reveal(previous: bytes, reveal: bytes) -> bool:
    """Whether `reveal` is the preimage of `previous` (the commitment or the validator's last reveal)."""
    return reveal_step(reveal) == previous


def mix_seed(seed: bytes, reveal: bytes) -> bytes:
    """Fold one block's reveal into the running randomness: blake2b-256("btt-epoch-randomness" || seed || reveal)."""
    return blake2b_256(RANDOMNESS_DOMAIN + seed + reveal)


class HashChain:
    """A validator's hash chain of `length` reveals, with checkpoints to serve any reveal quickly."""

    __slots__ = ("_checkpoints", "_every", "commitment", "length")

    def __init__(self, seed: bytes, length: int, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if type(seed) is not bytes or len(seed) == 0:
            raise ValueError("hash chain: the seed must be non-empty bytes")
        if type(length) is not int or length < 1:
            raise ValueError(f"hash chain: length must be a positive integer, got {length!r}")
        if type(checkpoint_every) is not int or checkpoint_every < 1:
            raise ValueError(f"hash chain: checkpoint_every must be a positive integer, got {checkpoint_every!r}")
        self.length = length  # number of reveals the chain holds
        self._every = checkpoint_every
        # _checkpoints[j] = step^(j * every)(seed); one pass over the chain builds them and the commitment.
        checkpoints = [seed]
        value = seed
        step = blake2b_256
        report_every = max(1, length // 100) if progress is not None else length + 1
        for i in range(1, length + 1):
            value = step(REVEAL_DOMAIN + value)
            if i % checkpoint_every == 0:
                checkpoints.append(value)
            if i % report_every == 0 and progress is not None:
                progress(i, length)
        self._checkpoints: tuple[bytes, ...] = tuple(checkpoints)
        self.commitment: bytes = value  # step^length(seed): what the validator registers at bonding

    def __repr__(self) -> str:
        # Never print the seed or checkpoints: they are the validator's future reveals.
        return f"HashChain(length={self.length}, commitment={self.commitment.hex()})"

    def reveal(self, k: int) -> bytes:
        """The k-th reveal (1..length): step^(length - k)(seed), the preimage of reveal(k - 1).

        Raises HashChainExhausted when k > length and ValueError when k < 1.
        """
        if type(k) is not int:
            raise ValueError(f"hash chain: reveal index must be an integer, got {k!r}")
        if k < 1:
            raise ValueError(f"hash chain: reveal index must be at least 1 (reveal 0 is the commitment), got {k}")
        if k > self.length:
            raise HashChainExhausted(f"hash chain exhausted: reveal {k} asked of a chain of {self.length}")
        position = self.length - k
        value = self._checkpoints[position // self._every]
        for _ in range(position % self._every):
            value = reveal_step(value)
        return value


@functools.lru_cache(maxsize=8)
def hash_chain_for(secret_seed: bytes, length: int, generation: int = 0) -> HashChain:
    """A session key's hash chain of that generation, built once per process (nodes sharing a key share it)."""
    return HashChain(hash_chain_seed(secret_seed, generation), length)
