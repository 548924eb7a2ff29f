"""A mortal transaction signed against a block that a reorganisation retracts can never be included: the pool drops
it as invalid (its watcher hears so) instead of keeping it "ready" for ever (found by the `clock` testnet, where a
validator whose clock is off makes short forks). Transactions the reorganisation does not touch stay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.node.chain import Chain
from btt_chain.node.service import Node, NodeConfig, now_ms
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Era, Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis
from genesis.loader import canonical_json, load_chain_spec, materialise, parse_chain_spec
from runtime.modules import RUNTIME
from storage.memory import MemoryStore

ALICE, BOB, CHARLIE, DAVE = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave"))


@pytest.fixture
def node_and_doc(tmp_path: Path) -> Iterator[tuple[Node, dict[str, Any]]]:
    doc = materialise(load_chain_spec("dev").raw, (now_ms() // 1000 - 60) * 1000)
    spec = tmp_path / "spec.json"
    spec.write_bytes(canonical_json(doc) + b"\n")
    node = Node(NodeConfig(chain=str(spec), base_path=tmp_path / "n", tmp=False, validator_key=None, p2p_port=None))
    try:
        yield node, doc
    finally:
        node.close()


def transfer(node: Node, who: str, era: Era, birth: bytes | None) -> Extrinsic:
    pair = dev_keypair(who)
    call = RUNTIME.call("balances.transfer_allow_death", DAVE.public, 10**16)
    return sign_extrinsic(pair, call, node.next_account_index(pair.public), node.chain.genesis_hash,
                          RUNTIME.spec_version, era=era, birth_hash=birth)


def test_a_transaction_born_on_a_retracted_block_is_dropped_as_invalid(
    node_and_doc: tuple[Node, dict[str, Any]]
) -> None:
    node, doc = node_and_doc
    fork, main = (Chain(MemoryStore(), build_genesis(parse_chain_spec(doc))) for _ in range(2))
    x1 = fork.author_block(3, ALICE, [])[0].block  # a lone block at #1 (slot 3)
    y1, y2 = (main.author_block(slot, ALICE, [])[0].block for slot in (1, 2))  # the longer chain #1, #2
    dropped: list[tuple[bytes, str]] = []
    node.pool.on_dropped = lambda h, why: dropped.append((h, why))
    node.import_block(x1.encode())
    assert node.chain.head_hash == x1.hash()
    born_on_x1 = transfer(node, "bob", Era.mortal(64, 1), x1.hash())
    immortal = transfer(node, "charlie", Era(), None)
    born_on_genesis = transfer(node, "alice", Era.mortal(64, 0), node.chain.genesis_hash)
    for xt in (born_on_x1, immortal, born_on_genesis):
        node.pool.submit(xt.encode())
    assert len(node.pool) == 3

    node.import_block(y1.encode())  # a tie at #1 (the lower hash wins): x1 may be retracted here already
    node.import_block(y2.encode())
    assert node.chain.head_hash == y2.hash() and not node.chain.is_canonical(x1.hash(), 1)
    assert born_on_x1.hash() not in node.pool
    assert [(h, why.split(":")[0]) for h, why in dropped] == [(born_on_x1.hash(), "invalid")]
    assert immortal.hash() in node.pool and born_on_genesis.hash() in node.pool
    # banned for a while, as any invalid transaction: gossip cannot bring it back
    with pytest.raises(InvalidExtrinsic, match="banned"):
        node.pool.submit(born_on_x1.encode())
