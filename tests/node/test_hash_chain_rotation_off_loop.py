"""A validator whose hash chain runs out rotates to the next one without building it on the event loop (issue 49,
finding 7: a chain of 2^24 takes about 7 s of CPU; built on the loop at the moment the rotation is due, it cost a
run of missed slots). The node starts the build in a child process and submits the rotation after a later block."""

from __future__ import annotations

from pathlib import Path

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.hash_chain import cached_hash_chain
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import canonical_json, load_chain_spec, materialise
from runtime.modules import RUNTIME
from tests.support.node_builder import GENESIS_TIME_MS

LENGTH = 32


async def test_the_next_hash_chain_is_built_off_the_loop_before_the_rotation_is_submitted(tmp_path: Path) -> None:
    doc = materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS)
    doc["consensus"]["hash_chain_length"] = LENGTH
    spec = tmp_path / "spec.json"
    spec.write_bytes(canonical_json(doc))
    alice = dev_keypair("alice")
    node = Node(NodeConfig(chain=str(spec), base_path=tmp_path / "node", tmp=False, validator_key=alice,
                           p2p_port=None))
    try:
        chain = node.chain
        while chain.rotation_generation(alice) is None:
            chain.author_block(chain.head.slot + 1, alice, [])
        generation = chain.rotation_generation(alice)
        assert generation == 1 and cached_hash_chain(alice.seed, LENGTH, generation) is None
        node._rotate_hash_chain_if_due(alice)  # noqa: SLF001 - the author loop's step after each block
        task = node._building_next_chain  # noqa: SLF001
        assert task is not None and len(node.pool) == 0, "nothing submitted while the chain is being built"
        assert cached_hash_chain(alice.seed, LENGTH, generation) is None, "not built on the loop"
        await task
        assert cached_hash_chain(alice.seed, LENGTH, generation) is not None
        node._rotate_hash_chain_if_due(alice)  # noqa: SLF001 - after the next block: the chain is there
        pooled = [t.xt.call for t in node.pool.pending()]
        built = cached_hash_chain(alice.seed, LENGTH, generation)
        assert built is not None and pooled == [RUNTIME.call("consensus.rotate_hash_chain", built.commitment)]
    finally:
        node.close()
