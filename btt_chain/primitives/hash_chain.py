"""Validators' hash chains: unique, ungrindable randomness reveals for block headers.

At bonding a validator commits to the end of a hash chain, `commitment = step^length(seed)`. Its k-th
authored block reveals `reveal(k) = step^(length - k)(seed)`, which links to the previous one by
`reveal_step(reveal(k)) == reveal(k - 1)` (with `reveal(0)` being the commitment). Each value is fixed by
the commitment, so an author cannot choose among reveals to grind the epoch seed; the runtime folds every
reveal into a running randomness with `mix_seed`.

The chain seed is derived from the session key's 32-byte ed25519 secret seed (`hash_chain_seed`) and is
never stored. `HashChain` keeps one checkpoint every `checkpoint_every` steps, so a reveal costs at most
`checkpoint_every - 1` hashes and memory is `length / checkpoint_every` hashes.

Building a chain costs `length` hashes (2**20: ~0.2 s of CPU; 2**24: ~3.5 s), so a process keeps the last few it built
(`hash_chain_for`); a chain built elsewhere (a node builds a new key's chain in a child process:
`btt_chain.node.hash_chain_builder`) comes back as its checkpoints (`HashChain.from_checkpoints`) and is kept the same
way (`remember_hash_chain`), so the key's first block does not build it again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

from btt_chain.primitives.hashing import HASH_LEN, blake2b_256

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


_AFTER_DOMAIN = hashlib.blake2b(REVEAL_DOMAIN, digest_size=HASH_LEN)
"""blake2b's state after the reveal domain: a copy of it, then the value, is `reveal_step`'s digest (the same as
hashing both at once) at half the CPU of a call per step."""


def _steps(value: bytes, n: int) -> bytes:
    """`reveal_step` applied `n` times to `value`."""
    after_domain = _AFTER_DOMAIN
    for _ in range(n):
        h = after_domain.copy()
        h.update(value)
        value = h.digest()
    return value


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
        # _checkpoints[j] = step^(j * every)(seed); one pass over the chain builds them and the commitment, in runs
        # of `_steps` between checkpoints and progress reports (2**20 steps, a dev validator's start: 0.43 -> 0.21 s
        # against a `reveal_step` call per step).
        checkpoints = [seed]
        value = seed
        report_every = max(1, length // 100) if progress is not None else length + 1
        done = 0
        while done < length:
            run_to = min(length, (done // checkpoint_every + 1) * checkpoint_every,
                         (done // report_every + 1) * report_every)
            value = _steps(value, run_to - done)
            done = run_to
            if done % checkpoint_every == 0:
                checkpoints.append(value)
            if done % report_every == 0 and progress is not None:
                progress(done, length)
        self._checkpoints: tuple[bytes, ...] = tuple(checkpoints)
        self.commitment: bytes = value  # step^length(seed): what the validator registers at bonding

    @classmethod
    def from_checkpoints(cls, checkpoints: Sequence[bytes], length: int, commitment: bytes,
                         checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY) -> HashChain:
        """The chain whose one pass (elsewhere) gave these checkpoints and this commitment. Checks the shape and that
        the last checkpoint leads to the commitment (at most `checkpoint_every - 1` hashes); ValueError otherwise.
        Building it again would be the only full check: give only what `HashChain(...)` itself produced."""
        if type(length) is not int or length < 1:
            raise ValueError(f"hash chain: length must be a positive integer, got {length!r}")
        if type(checkpoint_every) is not int or checkpoint_every < 1:
            raise ValueError(f"hash chain: checkpoint_every must be a positive integer, got {checkpoint_every!r}")
        points = tuple(checkpoints)
        if len(points) != length // checkpoint_every + 1:
            raise ValueError(f"hash chain: {len(points)} checkpoints, expected {length // checkpoint_every + 1} for "
                             f"{length} reveals every {checkpoint_every}")
        if any(type(x) is not bytes or len(x) != 32 for x in points[1:]) or type(points[0]) is not bytes \
                or not points[0] or type(commitment) is not bytes or len(commitment) != 32:
            raise ValueError("hash chain: checkpoints and commitment must be 32-byte values (the seed non-empty bytes)")
        if _steps(points[-1], length % checkpoint_every) != commitment:
            raise ValueError("hash chain: the last checkpoint does not lead to the commitment")
        chain = cls.__new__(cls)
        chain.length = length
        chain._every = checkpoint_every
        chain._checkpoints = points
        chain.commitment = commitment
        return chain

    @property
    def checkpoints(self) -> tuple[bytes, ...]:
        """step^(j * checkpoint_every)(seed) for j = 0..length // checkpoint_every: the seed first. Secret: they are
        the validator's future reveals."""
        return self._checkpoints

    @property
    def checkpoint_every(self) -> int:
        return self._every

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
        return _steps(self._checkpoints[position // self._every], position % self._every)


CACHED_CHAINS = 8
"""Hash chains a process keeps (the least recently used goes first): a node's keys, their next generations, and
keys just made by `author_rotateKeys`. 2**20 reveals keep 32 KiB of checkpoints, 2**24 512 KiB."""
_cache: OrderedDict[tuple[bytes, int, int], HashChain] = OrderedDict()


def hash_chain_for(secret_seed: bytes, length: int, generation: int = 0) -> HashChain:
    """A session key's hash chain of that generation, built once per process (nodes sharing a key share it)."""
    chain = cached_hash_chain(secret_seed, length, generation)
    if chain is None:
        chain = HashChain(hash_chain_seed(secret_seed, generation), length)
        remember_hash_chain(secret_seed, generation, chain)
    return chain


def cached_hash_chain(secret_seed: bytes, length: int, generation: int = 0) -> HashChain | None:
    """The chain `hash_chain_for` would return, if this process holds it already (else None: nothing is built)."""
    chain = _cache.get((secret_seed, length, generation))
    if chain is not None:
        _cache.move_to_end((secret_seed, length, generation))
    return chain


def remember_hash_chain(secret_seed: bytes, generation: int, chain: HashChain) -> None:
    """Keep `chain` as the session key's chain of that generation (at its length), for `hash_chain_for`. The caller
    vouches that it was built from `hash_chain_seed(secret_seed, generation)`."""
    key = (secret_seed, chain.length, generation)
    _cache[key] = chain
    _cache.move_to_end(key)
    while len(_cache) > CACHED_CHAINS:
        _cache.popitem(last=False)
