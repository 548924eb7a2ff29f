"""Validators' hash-chain commitments against the keys they come from: what `genesis validate --key` and
`build-spec` check in a chain spec. A commitment is the end of the session key's hash chain after
`consensus.hash_chain_length` steps, so a commitment computed at another length (the trap of a key inspected at the
default length for a chain of 2**24 reveals) belongs to no chain the key can reveal: the validator could never
author. Only the key's owner can compute it; with the key in hand anyone can check it."""

from __future__ import annotations

import json
from collections.abc import Callable

from btt_chain.primitives.hash_chain import HashChain, hash_chain_for, hash_chain_seed
from btt_chain.primitives.keys import Keypair, dev_keypair, is_dev_name
from genesis.spec import ChainSpec

Progress = Callable[[int, int], None]


def commitment_at(pair: Keypair, length: int, generation: int = 0, progress: Progress | None = None) -> bytes:
    """The commitment of `pair`'s hash chain number `generation` of `length` reveals. Without `progress` the chain is
    built once per process (`hash_chain_for`), so a node that checks its key at start does not build it twice; with
    it, `progress(done, total)` is called while the chain is built (seconds for 2**24 reveals)."""
    if progress is None:
        return hash_chain_for(pair.seed, length, generation).commitment
    return HashChain(hash_chain_seed(pair.seed, generation), length, progress=progress).commitment


def inspect_hint(length: int) -> str:
    """The command that prints a key's commitment for a chain of `length` reveals."""
    return f"`btt-chain key inspect KEY --hash-chain --chain SPEC` (or --hash-chain-length {length})"


def commitment_mismatch(label: str, length: int, computed: bytes, registered: bytes) -> str:
    return (f"{label}'s hash chain at consensus.hash_chain_length {length:,} ends in 0x{computed.hex()}, not the "
            f"0x{registered.hex()} registered: computed at another length, or from another key? {inspect_hint(length)} "
            "prints the right one, and `btt-chain build-spec --validator KEYFILE:BOND` writes it")


def check_key(spec: ChainSpec, pair: Keypair, label: str, progress: Progress | None = None) -> list[str]:
    """Problems of `pair` as a validator of `spec`: not one of its validators, its account's validator signing
    with another session key, or a commitment its hash chain does not end in. Empty when it can author."""
    for i, v in enumerate(spec.validators):
        if v.session_key == pair.public:
            computed = commitment_at(pair, spec.consensus.hash_chain_length, 0, progress)
            if computed != v.hash_chain_commitment:
                return [f"validators[{i}].hash_chain_commitment: "
                        + commitment_mismatch(label, spec.consensus.hash_chain_length, computed,
                                              v.hash_chain_commitment)]
            return []
    for i, v in enumerate(spec.validators):
        if v.account == pair.public:
            return [f"validators[{i}].session_key: {label} is this validator's account, but its session key is "
                    f"0x{v.session_key.hex()}: check (and validate with) that key"]
    return [f"{label} (0x{pair.public.hex()}) is no validator's session key in {spec.id}"]


def check_dev_commitments(spec: ChainSpec) -> list[str]:
    """Problems of commitments written out for dev-named session keys (dev and local chains): anyone can derive
    those keys, so each is checked. Commitments of other keys need the key (`genesis validate --key`)."""
    problems = []
    raw = spec.raw.get("validators")
    if spec.chain_type == "live" or not isinstance(raw, list):
        return []
    for i, (entry, v) in enumerate(zip(raw, spec.validators, strict=False)):
        if not isinstance(entry, dict) or "hash_chain_commitment" not in entry:
            continue  # derived by the loader: right by construction
        name = entry.get("session_key", entry.get("account"))
        if not isinstance(name, str) or not is_dev_name(name):
            continue
        computed = commitment_at(dev_keypair(name), spec.consensus.hash_chain_length)
        if computed != v.hash_chain_commitment:
            problems.append(f"validators[{i}].hash_chain_commitment: "
                            + commitment_mismatch(json.dumps(name), spec.consensus.hash_chain_length, computed,
                                                  v.hash_chain_commitment))
    return problems
