"""Validators' hash chains: reveals link back to the commitment for every checkpoint spacing, exhaustion
and bad indices raise, the per-key cache shares one chain (and keeps a chain built elsewhere, within its bound), a
chain rebuilt from its checkpoints is the same chain and checkpoints that are not one are refused, and verify_reveal
rejects wrong values."""

from __future__ import annotations

import pytest

from btt_chain.primitives import hash_chain
from btt_chain.primitives.hash_chain import (
    HashChain,
    HashChainExhausted,
    cached_hash_chain,
    hash_chain_for,
    hash_chain_seed,
    mix_seed,
    remember_hash_chain,
    reveal_step,
    verify_reveal,
)
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair

SEED = blake2b_256(b"test hash chain seed")


def naive_reveal(seed: bytes, length: int, k: int) -> bytes:
    """step^(length - k)(seed), straight from the definition."""
    value = seed
    for _ in range(length - k):
        value = reveal_step(value)
    return value


def test_reveal_step_and_seed_are_domain_separated_blake2b() -> None:
    assert reveal_step(b"x") == blake2b_256(b"btt-reveal" + b"x")
    secret = bytes(range(32))
    assert hash_chain_seed(secret) == blake2b_256(b"btt-hash-chain" + secret)
    assert hash_chain_seed(secret) != secret
    assert mix_seed(b"s" * 32, b"r" * 32) == blake2b_256(b"btt-epoch-randomness" + b"s" * 32 + b"r" * 32)


@pytest.mark.parametrize("checkpoint_every", [1, 7, 1024])
@pytest.mark.parametrize("length", [1, 2, 7, 8, 50])
def test_reveals_link_back_to_the_commitment(length: int, checkpoint_every: int) -> None:
    chain = HashChain(SEED, length, checkpoint_every)
    assert chain.length == length
    assert chain.commitment == naive_reveal(SEED, length, 0)
    previous = chain.commitment
    for k in range(1, length + 1):
        value = chain.reveal(k)
        assert value == naive_reveal(SEED, length, k)
        assert verify_reveal(previous, value)
        assert reveal_step(value) == previous
        previous = value
    assert chain.reveal(length) == SEED  # the last reveal is the seed itself


def test_checkpoint_spacing_does_not_change_the_chain() -> None:
    chains = [HashChain(SEED, 100, every) for every in (1, 3, 7, 64, 99, 100, 101, 1024)]
    assert len({c.commitment for c in chains}) == 1
    for k in (1, 2, 50, 99, 100):
        assert len({c.reveal(k) for c in chains}) == 1


@pytest.mark.parametrize(("length", "every"), [(1, 1), (99, 7), (100, 7), (250, 64), (1025, 1024), (3000, 1024)])
def test_progress_is_reported_every_hundredth_and_does_not_change_the_chain(length: int, every: int) -> None:
    """The chain is built in runs between checkpoints and progress reports: the same checkpoints and commitment with
    or without a progress callback, which is called at each multiple of a hundredth of the length (at least 1)."""
    reported: list[tuple[int, int]] = []
    chain = HashChain(SEED, length, every, progress=lambda done, total: reported.append((done, total)))
    plain = HashChain(SEED, length, every)
    assert chain.checkpoints == plain.checkpoints and chain.commitment == plain.commitment
    points = range(length // every + 1)
    assert chain.checkpoints == tuple(naive_reveal(SEED, length, length - j * every) for j in points)
    assert chain.commitment == naive_reveal(SEED, length, 0)
    step = max(1, length // 100)
    assert reported == [(i, length) for i in range(step, length + 1, step)]


def test_exhaustion_and_bad_indices_raise() -> None:
    chain = HashChain(SEED, 5, 2)
    with pytest.raises(HashChainExhausted, match="exhausted: reveal 6 asked of a chain of 5"):
        chain.reveal(6)
    with pytest.raises(ValueError, match="exhausted"):  # HashChainExhausted is a ValueError
        chain.reveal(10**9)
    with pytest.raises(ValueError, match="at least 1 \\(reveal 0 is the commitment\\)"):
        chain.reveal(0)
    with pytest.raises(ValueError, match="at least 1"):
        chain.reveal(-1)
    with pytest.raises(ValueError, match="must be an integer"):
        chain.reveal(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seed", "length", "every", "message"),
    [
        (b"", 4, 1, "seed must be non-empty bytes"),
        ("seed", 4, 1, "seed must be non-empty bytes"),
        (SEED, 0, 1, "length must be a positive integer"),
        (SEED, -3, 1, "length must be a positive integer"),
        (SEED, 4, 0, "checkpoint_every must be a positive integer"),
    ],
)
def test_bad_chain_parameters_are_rejected(seed: bytes, length: int, every: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HashChain(seed, length, every)


def test_secret_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32-byte ed25519 seed"):
        hash_chain_seed(b"short")
    with pytest.raises(ValueError, match="32-byte ed25519 seed"):
        hash_chain_for(b"short", 4)


def test_repr_does_not_leak_the_seed() -> None:
    chain = HashChain(SEED, 3)
    assert SEED.hex() not in repr(chain)
    assert chain.commitment.hex() in repr(chain)


def test_cache_returns_the_same_chain_per_key_and_length() -> None:
    secret = dev_keypair("alice").seed
    chain = hash_chain_for(secret, 64)
    assert hash_chain_for(secret, 64) is chain
    assert hash_chain_for(secret, 32) is not chain
    assert hash_chain_for(dev_keypair("bob").seed, 64).commitment != chain.commitment
    assert chain.commitment == HashChain(hash_chain_seed(secret), 64).commitment


def test_verify_reveal_rejects_wrong_values() -> None:
    chain = HashChain(SEED, 10, 3)
    assert verify_reveal(chain.commitment, chain.reveal(1))
    assert not verify_reveal(chain.commitment, chain.reveal(2))  # skipping a reveal
    assert not verify_reveal(chain.reveal(1), chain.reveal(1))  # repeating one
    assert not verify_reveal(chain.reveal(2), chain.reveal(1))  # going backwards
    assert not verify_reveal(chain.commitment, b"\x00" * 32)
    assert not verify_reveal(chain.commitment, chain.commitment)


@pytest.mark.parametrize("length, every", [(1, 1), (7, 3), (8, 4), (50, 7), (2048, 1024), (5000, 1024)])
def test_a_chain_rebuilt_from_its_checkpoints_is_the_same_chain(length: int, every: int) -> None:
    built = HashChain(SEED, length, every)
    again = HashChain.from_checkpoints(built.checkpoints, length, built.commitment, every)
    assert again.commitment == built.commitment and again.checkpoints == built.checkpoints
    assert again.checkpoint_every == every and again.length == length
    ks = range(1, length + 1) if length <= 50 else (1, 2, every - 1, every, every + 1, length - every, length)
    assert [again.reveal(k) for k in ks] == [built.reveal(k) for k in ks]


def test_checkpoints_that_are_not_a_chain_are_refused() -> None:
    built = HashChain(SEED, 50, 7)
    points = list(built.checkpoints)
    with pytest.raises(ValueError, match="9 checkpoints, expected 8"):
        HashChain.from_checkpoints(points + [bytes(32)], 50, built.commitment, 7)
    with pytest.raises(ValueError, match="32-byte"):
        HashChain.from_checkpoints(points[:-1] + [b"short"], 50, built.commitment, 7)
    with pytest.raises(ValueError, match="32-byte"):
        HashChain.from_checkpoints(points, 50, built.commitment[:31], 7)
    with pytest.raises(ValueError, match="does not lead to the commitment"):
        HashChain.from_checkpoints(points[:-1] + [reveal_step(points[-1])], 50, built.commitment, 7)
    with pytest.raises(ValueError, match="does not lead to the commitment"):
        HashChain.from_checkpoints(points, 50, reveal_step(built.commitment), 7)
    with pytest.raises(ValueError, match="length"):
        HashChain.from_checkpoints(points, 0, built.commitment, 7)
    with pytest.raises(ValueError, match="checkpoint_every"):
        HashChain.from_checkpoints(points, 50, built.commitment, 0)


def test_a_chain_built_elsewhere_is_kept_and_the_cache_stays_bounded() -> None:
    secret = bytes(range(1, 33))
    elsewhere = HashChain(hash_chain_seed(secret, 2), 64)
    assert cached_hash_chain(secret, 64, 2) is None
    remember_hash_chain(secret, 2, elsewhere)
    assert cached_hash_chain(secret, 64, 2) is elsewhere and hash_chain_for(secret, 64, 2) is elsewhere
    assert cached_hash_chain(secret, 32, 2) is None and cached_hash_chain(secret, 64, 1) is None
    for i in range(hash_chain.CACHED_CHAINS):  # as many newer chains as the cache holds: the oldest goes
        hash_chain_for(bytes([i + 100]) * 32, 16)
    assert cached_hash_chain(secret, 64, 2) is None
    assert cached_hash_chain(bytes([100]) * 32, 16) is not None
