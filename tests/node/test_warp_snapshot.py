"""A node whose chain spec names its genesis state file joins by warp without the file (issue 54): the genesis block
comes from the spec's state root, and the only genesis record a warp from genesis trusts, the validator set it
queues, from the spec's validators (`genesis.build.queued_state`, which every node that reads the file checks
against it). The warp then takes the finalized state from peers, each chunk checked against the target's root: a
peer serving a wrong chunk is banned and nothing it sent is kept. The warp child is handed this genesis
(`warp_start.warp_genesis`) and reads neither the spec's accounts nor the file."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from btt_chain.node.chain import Chain
from btt_chain.node.warp_serve import STATE_PROTOCOL
from btt_chain.node.warp_sync import WarpSync
from genesis.build import Genesis, build_genesis, queued_state
from genesis.loader import canonical_json, load_chain_spec
from genesis.snapshot_build import snapshot_from_listing
from storage.memory import MemoryStore
from tests.node.test_warp_sync import (
    GAP,
    Net,
    Served,
    assert_same_state,
    change_value,
    finalized_chain,
    lying,
    young_clock,
)


def snapshot_genesis(served: Served, where: Path) -> tuple[Path, Genesis]:
    """The served chain's spec rewritten to name its genesis state file, and the genesis a node builds from it; the
    file is then removed (the joiner does not have it)."""
    spec = served.genesis.spec
    doc = snapshot_from_listing(spec, served.genesis, where / "spec.state", "spec.state")
    (where / "spec.json").write_bytes(canonical_json(doc))
    genesis = build_genesis(load_chain_spec(str(where / "spec.json")))
    (where / "spec.state").unlink()
    return where / "spec.json", genesis


def test_a_joiner_without_the_state_file_warps_to_the_same_state_and_a_wrong_chunk_is_refused(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path)
    _, genesis = snapshot_genesis(served, tmp_path)
    assert genesis.hash == served.genesis.hash and genesis.state == queued_state(genesis.spec)
    net = Net(served)
    lying(net, "liar", STATE_PROTOCOL, change_value)  # every state chunk it serves has a value changed
    net.honest("honest")
    kv = MemoryStore()
    sync = WarpSync(net, kv, genesis, None, GAP, now_ms=young_clock(served.genesis),  # type: ignore[arg-type]
                    evidence_dir=None, say=lambda _line: None, second_peer_wait_s=0.3)
    asyncio.run(sync.run(limit_s=30))
    joined = Chain(kv, genesis)  # the database holds its genesis and target: the missing file is never asked for
    assert joined.genesis_hash == served.chain.genesis_hash
    assert_same_state(served, joined)
    assert "liar" in net.banned and "honest" not in net.banned


def test_the_warp_child_is_given_the_genesis_without_reading_the_file(tmp_path: Path) -> None:
    from btt_chain.node.service import NodeConfig
    from btt_chain.node.warp_start import warp_genesis
    from tests.functional.framework import free_port

    served = finalized_chain(tmp_path)
    spec_path, genesis = snapshot_genesis(served, tmp_path)
    config = NodeConfig(chain=str(spec_path), base_path=tmp_path / "node", tmp=False, validator_key=None,
                        p2p_port=free_port())
    given = warp_genesis(config)
    assert given.hash == served.genesis.hash and given.state == genesis.state and given.leaves == b""
    # of a spec that lists its holders the same function gives the same light genesis (the node hands it over only
    # for a spec naming its file: building a listed state in the node process would keep it there through the warp)
    listed = dataclasses.replace(served.genesis)
    (tmp_path / "listing.json").write_bytes(canonical_json(listed.spec.raw))
    config = dataclasses.replace(config, chain=str(tmp_path / "listing.json"), base_path=tmp_path / "node2")
    given = warp_genesis(config)
    assert given.hash == served.genesis.hash and given.state == queued_state(listed.spec) and given.leaves == b""
