"""A wallet's extrinsic is born where no reorganisation reaches (`btt_chain.client.submit.signing_header`): at the
finalized block while finality keeps within half the era of the head, else at the head's parent (as `@polkadot/api`
signs). Born on the head instead, a transaction signed just before a reorganisation can never be included: every node
finds its birth hash differs and refuses it as a bad signature (seen: `set-keys` on a loaded devnet)."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.client.chain import ChainInfo
from btt_chain.client.submit import DEFAULT_MORTALITY, sign_call, signing_header
from btt_chain.node.chain import Chain
from btt_chain.node.service import Node
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.render import render_header
from genesis.build import build_genesis
from genesis.loader import parse_chain_spec
from runtime.modules import RUNTIME
from storage.memory import MemoryStore
from tests.node.test_reorg_pool import node_and_doc  # noqa: F401  (the fixture: a node on the dev chain)

DAVE = dev_keypair("dave")


class NodeRpc:
    """The few RPC methods signing reads, answered from an in-process node as its server would."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.calls: list[str] = []

    def call(self, method: str, *params: Any) -> Any:
        self.calls.append(method)
        chain = self.node.chain
        if method == "chain_getHeader":
            header = chain.db.get_header(bytes.fromhex(params[0][2:]) if params else chain.head_hash)
            return None if header is None else render_header(header)
        if method == "chain_getFinalizedHead":
            return "0x" + chain.db.finalized_hash().hex()
        if method == "system_accountNextIndex":
            return self.node.next_account_index(bytes.fromhex(params[0][2:]))
        raise AssertionError(f"unexpected call {method}")


def info_of(node: Node) -> ChainInfo:
    return ChainInfo(node.chain.genesis_hash, 42, "Development", RUNTIME.spec_version, 18, "BTT")


def test_a_transfer_signed_on_a_fork_survives_the_reorganisation(
    node_and_doc: tuple[Node, dict[str, Any]],  # noqa: F811
) -> None:
    node, doc = node_and_doc
    fork, main = (Chain(MemoryStore(), build_genesis(parse_chain_spec(doc))) for _ in range(2))
    x1 = fork.author_block(3, dev_keypair("alice"), [])[0].block  # a lone block at #1
    y1, y2 = (main.author_block(slot, dev_keypair("alice"), [])[0].block for slot in (1, 2))  # the longer chain
    node.import_block(x1.encode())
    assert node.chain.head_hash == x1.hash()
    rpc = NodeRpc(node)
    born = signing_header(rpc)  # type: ignore[arg-type]
    assert born == render_header(node.chain.db.get_header(node.chain.genesis_hash))  # finalized: #0, not the head
    call = RUNTIME.call("balances.transfer_allow_death", DAVE.public, 10**16)
    xt = sign_call(rpc, info_of(node), dev_keypair("bob"), call)  # type: ignore[arg-type]
    on_head = sign_call(rpc, info_of(node), dev_keypair("charlie"), call,  # type: ignore[arg-type]
                        header=render_header(x1.header))  # what signing at the head gave
    for tx in (xt, on_head):
        node.pool.submit(tx.encode())
    node.import_block(y1.encode())
    node.import_block(y2.encode())
    assert node.chain.head_hash == y2.hash() and not node.chain.is_canonical(x1.hash(), 1)
    assert xt.hash() in node.pool  # still includable on the new chain
    assert on_head.hash() not in node.pool  # the attack on the old way: dropped, never includable
    with pytest.raises(InvalidExtrinsic):
        node.pool.submit(on_head.encode())


class FakeRpc:
    """A best head at `best` and the finalized block at `finalized` (numbers), headers by hash."""

    def __init__(self, best: int, finalized: int) -> None:
        def block_hash(n: int) -> str:
            return f"0x{n + 1:064x}"

        # only what signing reads: each header's number and parent (a real one's hash is its bytes' hash)
        self.headers = {block_hash(n): {"number": hex(n), "parentHash": block_hash(n - 1) if n else "0x" + "00" * 32}
                        for n in range(best + 1)}
        self.best = self.headers[block_hash(best)]
        self.finalized = block_hash(finalized)

    def call(self, method: str, *params: Any) -> Any:
        if method == "chain_getHeader":
            return self.headers[params[0]] if params else self.best
        if method == "chain_getFinalizedHead":
            return self.finalized
        raise AssertionError(method)


@pytest.mark.parametrize("best, finalized, born", [
    (0, 0, 0),  # a fresh chain: genesis
    (10, 4, 4),  # a devnet: finality a few blocks behind
    (40, 8, 8),  # exactly half the era behind: still the finalized block
    (41, 8, 40),  # more: the head's parent (the era must still run its blocks from there)
    (1_500, 300, 1_499),  # btt-21m, finality epochs behind
])
def test_the_birth_is_the_finalized_block_within_half_the_era_else_the_heads_parent(
    best: int, finalized: int, born: int
) -> None:
    header = signing_header(FakeRpc(best, finalized), DEFAULT_MORTALITY)  # type: ignore[arg-type]
    assert int(header["number"], 16) == born


def test_a_node_that_cannot_give_the_finalized_header_gives_the_heads_parent() -> None:
    rpc = FakeRpc(10, 4)
    rpc.finalized = "0x" + "ee" * 32  # a hash it has no header for
    rpc.headers[rpc.finalized] = None  # type: ignore[assignment]
    assert int(signing_header(rpc)["number"], 16) == 9  # type: ignore[arg-type]


def test_a_shorter_era_moves_the_threshold() -> None:
    rpc = FakeRpc(20, 10)
    assert int(signing_header(rpc, 32)["number"], 16) == 10  # type: ignore[arg-type]
    assert int(signing_header(rpc, 16)["number"], 16) == 19  # type: ignore[arg-type]
