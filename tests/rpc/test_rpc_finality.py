"""RPC: btt_finality reports what the node's finality rules hold now (the finalized checkpoint, the justified ones,
the fork choice's anchor, held votes, and the finality alarm), the same objects the node enforces."""

from __future__ import annotations

import pytest

from btt_chain.consensus.finality import FinalityConflict
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote

from .harness import RpcHarness


@pytest.mark.asyncio
async def test_btt_finality_reports_the_trackers_state_and_the_alarm(rpc: RpcHarness) -> None:
    assert "btt_finality" in (await rpc.call("btt_rpcMethods"))["methods"]
    chain = rpc.node.chain
    genesis = "0x" + chain.genesis_hash.hex()
    doc = await rpc.call("btt_finality")
    assert doc["finalized"] == {"epoch": 0, "hash": genesis, "number": 0}
    assert doc["justified"] == [doc["finalized"]]
    assert doc["anchor"] == {"epoch": 0, "hash": genesis, "number": 0}
    assert doc["conflict"] is None and doc["heldVotes"] == 0

    g = Checkpoint(0, chain.genesis_hash)
    x1, y1 = Checkpoint(1, b"\x01" * 32), Checkpoint(1, b"\x02" * 32)
    both = tuple(
        Justification(t, g, tuple(sign_vote(dev_keypair(n), chain.genesis_hash, g, t) for n in ("alice", "bob")))
        for t in (x1, y1)
    )
    rpc.node.finality.tracker.conflict = FinalityConflict(g, x1, both)
    doc = await rpc.call("btt_finality")
    conflict = doc["conflict"]
    assert conflict["finalized"]["hash"] == genesis and conflict["conflicting"]["number"] is None
    assert conflict["offenders"] == sorted("0x" + dev_keypair(n).public.hex() for n in ("alice", "bob"))
    assert "2 validator accounts double or surround voted" in conflict["message"]
