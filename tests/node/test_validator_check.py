"""A validator's key against its registration, as `btt-chain node --validator` checks it at start (issue 43, item
1): the genesis registration a chain spec writes, and the head's state after blocks (reveals made, a rotation)."""

from __future__ import annotations

import copy

import pytest

from btt_chain.node.validator_check import genesis_key_problem, validator_key_problem
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from genesis.spec import ChainSpec
from runtime.consensus import storage as consensus
from runtime.consensus.types import RevealState
from runtime.overlay import DictState, Overlay

LENGTH = 64


def spec(**validator: str) -> ChainSpec:
    doc = copy.deepcopy(load_chain_spec_doc("dev"))
    doc["consensus"]["hash_chain_length"] = LENGTH
    doc["validators"] = [{"account": "alice", "bond": "10", **validator}]
    return parse_chain_spec(materialise(doc, 1_000))


@pytest.fixture(scope="module")
def genesis_state() -> tuple[ChainSpec, dict[bytes, bytes]]:
    s = spec()
    return s, build_genesis(s).state


def chain(name: str, generation: int = 0) -> bytes:
    return hash_chain_for(dev_keypair(name).seed, LENGTH, generation).commitment


def test_the_genesis_registration() -> None:
    alice = dev_keypair("alice")
    assert genesis_key_problem(spec(), alice) is None
    assert genesis_key_problem(spec(), dev_keypair("bob")) is None  # not registered: no disagreement
    wrong = "0x" + hash_chain_for(alice.seed, 2 * LENGTH).commitment.hex()
    problem = genesis_key_problem(spec(hash_chain_commitment=wrong), alice)
    assert problem is not None and "does not match its registration on dev" in problem
    assert f"at consensus.hash_chain_length {LENGTH} ends in 0x{chain('alice').hex()[:16]}…" in problem
    assert f"the chain registered 0x{wrong[2:18]}…" in problem
    other = spec(session_key="charlie")  # alice's stash beside charlie's session key: the session key is checked
    assert genesis_key_problem(other, alice) is None and genesis_key_problem(other, dev_keypair("charlie")) is None
    wrong_charlie = "0x" + hash_chain_for(dev_keypair("charlie").seed, 2 * LENGTH).commitment.hex()
    assert genesis_key_problem(spec(session_key="charlie", hash_chain_commitment=wrong_charlie),
                               dev_keypair("charlie")) is not None


def test_the_heads_registration(genesis_state: tuple[ChainSpec, dict[bytes, bytes]]) -> None:
    s, state = genesis_state
    alice = dev_keypair("alice")
    view = Overlay(DictState(state))
    assert validator_key_problem(view, alice, s) is None
    assert validator_key_problem(view, dev_keypair("bob"), s) is None
    full = hash_chain_for(alice.seed, LENGTH)
    consensus.reveals.put(view, alice.public, RevealState(full.reveal(3), 3, 0))  # three blocks authored
    assert validator_key_problem(view, alice, s) is None
    consensus.reveals.put(view, alice.public, RevealState(full.reveal(4), 3, 0))  # not what this key revealed
    problem = validator_key_problem(view, alice, s)
    assert problem is not None and "the chain's last reveal of this session key (number 3 of hash chain 0)" in problem
    consensus.reveals.put(view, alice.public, RevealState(chain("alice", 1), 0, 1))  # rotated to its chain 1
    assert validator_key_problem(view, alice, s) is None
    consensus.reveals.put(view, alice.public, RevealState(chain("bob", 1), 0, 1))
    problem = validator_key_problem(view, alice, s)
    assert problem is not None and "its hash chain (generation 1)" in problem
    consensus.reveals.put(view, alice.public, RevealState(b"\x00" * 32, LENGTH + 1, 0))  # used up: the node rotates
    assert validator_key_problem(view, alice, s) is None
