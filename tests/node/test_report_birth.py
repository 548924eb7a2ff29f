"""The node's own slashing reports are born where no reorganisation reaches (`FinalityService._report_birth`, by
`born_at_finalized`): equivocations come with forks, and a report born on the fork that loses would be refused as a
bad signature everywhere, and never sent again (an offence gone unpunished)."""

from __future__ import annotations

from typing import Any

from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import REPORT_MORTALITY
from btt_chain.node.service import Node
from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis
from genesis.loader import parse_chain_spec
from storage.memory import MemoryStore
from tests.node.test_reorg_pool import node_and_doc  # noqa: F401  (the fixture: a node on the dev chain)

ALICE = dev_keypair("alice")


def test_a_report_on_a_fork_is_born_at_the_finalized_block(node_and_doc: tuple[Node, dict[str, Any]]) -> None:  # noqa: F811
    node, doc = node_and_doc
    fork = Chain(MemoryStore(), build_genesis(parse_chain_spec(doc)))
    x1 = fork.author_block(3, ALICE, [])[0].block  # a lone block at #1, the head, which a longer chain could retract
    node.import_block(x1.encode())
    assert node.chain.head_hash == x1.hash()
    assert node.finality._report_birth() == (0, node.chain.genesis_hash)  # finalized: genesis, not x1


def test_with_finality_far_behind_a_report_is_born_at_the_heads_parent(
    node_and_doc: tuple[Node, dict[str, Any]],  # noqa: F811
) -> None:
    node, doc = node_and_doc
    other = Chain(MemoryStore(), build_genesis(parse_chain_spec(doc)))
    blocks = [other.author_block(slot, ALICE, [])[0].block for slot in range(1, REPORT_MORTALITY // 2 + 3)]
    for i, block in enumerate(blocks):
        node.import_block(block.encode())
        lag = i + 1  # nothing is finalized: genesis stays the finalized block
        expected = (0, node.chain.genesis_hash) if lag <= REPORT_MORTALITY // 2 else (i, blocks[i - 1].hash())
        assert node.finality._report_birth() == expected, lag
