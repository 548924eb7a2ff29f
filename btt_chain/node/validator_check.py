"""A validator's key against its registration on chain, checked when `btt-chain node --validator` starts: a key
whose hash chain does not end in the commitment the chain holds for it (computed at another
`consensus.hash_chain_length`, or from another key) could never author a block, so the node refuses to start as a
validator, in one line, instead of failing every slot it leads.

Read from the head's state: `consensus.reveals` (the session key's hash chain as far as blocks have revealed it).
On a first start, before the database exists, the same is checked against the chain spec's validators (the
registration its genesis writes), so that a refusal comes before anything is created or logged. A key that is no
session key on chain is no disagreement: a stash whose node signs with its keystore's session keys, or a key to be
registered later (`bonds.register_validator`, `session.set_keys`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.keys import Keypair
from genesis.spec import ChainSpec
from runtime.consensus import storage as consensus
from runtime.consensus.types import RevealState
from runtime.overlay import Overlay

if TYPE_CHECKING:
    from btt_chain.node.service import Node


def refuse_if_genesis_disagrees(spec: ChainSpec, pair: Keypair, base_path: Path | None) -> None:
    """On a first start (no database under `base_path` yet): ConfigError, one line, when `pair` disagrees with the
    spec's genesis registration. Before anything is created or logged."""
    if base_path is not None and (base_path / "chains" / spec.id / "db").exists():
        return  # a restart: checked against the head once the database is open
    problem = genesis_key_problem(spec, pair)
    if problem is not None:
        raise ConfigError(f"refusing to start as a validator: {problem}")


def refuse_if_key_disagrees(node: Node, pair: Keypair) -> None:
    """Once the node's database is open: ConfigError, one line, when `pair` disagrees with its registration at the
    head (the node is closed first)."""
    problem = validator_key_problem(node.chain.state(), pair, node.spec)
    if problem is not None:
        node.close()
        raise ConfigError(f"refusing to start as a validator: {problem}")


def validator_key_problem(state: Overlay, pair: Keypair, spec: ChainSpec) -> str | None:
    """Why `pair` cannot author on this chain as registered in `state` (the head's), in one line; None when it can
    (or when it is no session key there, which is not a disagreement)."""
    return _problem(pair, consensus.reveals.get(state, pair.public), spec)


def genesis_key_problem(spec: ChainSpec, pair: Keypair) -> str | None:
    """The same against the genesis registration the spec writes (a first start, before any database exists)."""
    revealed = next((RevealState(v.hash_chain_commitment, 0, 0) for v in spec.validators
                     if v.session_key == pair.public), None)
    return _problem(pair, revealed, spec)


def _problem(pair: Keypair, revealed: RevealState | None, spec: ChainSpec) -> str | None:
    who = f"the validator key {encode_address(pair.public, spec.ss58_prefix)}"
    length = spec.consensus.hash_chain_length
    if revealed is None:
        return None  # not a session key here (yet): a stash beside its keystore's keys, or one to register later
    chain = hash_chain_for(pair.seed, length, revealed.generation)
    if revealed.count == 0:
        if chain.commitment == revealed.last:
            return None
        return (f"{who} does not match its registration on {spec.id}: its hash chain (generation "
                f"{revealed.generation}) at consensus.hash_chain_length {length:,} ends in "
                f"0x{chain.commitment.hex()[:16]}…, the chain registered 0x{revealed.last.hex()[:16]}… (a commitment "
                f"computed at another length, or from another key): this node could never author a block; register "
                f"the right commitment (`btt-chain build-spec --validator KEYFILE:BOND` writes it into a chain spec; "
                f"`btt-chain genesis validate SPEC --key KEYFILE` checks one), or start without --validator")
    if revealed.count > length:
        return None  # used up: the node says so and rotates; not a disagreement of keys
    if chain.reveal(revealed.count) == revealed.last:
        return None
    return (f"{who} does not match its registration on {spec.id}: the chain's last reveal of this session key "
            f"(number {revealed.count} of hash chain {revealed.generation}) is not on this key's hash chain at "
            f"consensus.hash_chain_length {length:,}: is this the key that signed those blocks? Start with that key, "
            "or without --validator")
