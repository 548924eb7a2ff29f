"""feature_genesis_fetch: a validator whose chain spec names a genesis state file it does not have joins by full sync
(the default) and fetches the file from a peer by its hash (issue 54, `genesis/state`) before its database is
initialised, in a child process with its own libp2p host; the node then reads the file as if it had been beside the
spec, reaches the same genesis, imports the chain and authors on it.

Two devnet validators: alice runs from a spec whose file is beside it, bob from a copy of the spec alone, alice his
bootnode. The attacks on the fetch (a liar's file, a liar alone, bounds, the server's refusals) are in-process tests:
tests/node/test_genesis_fetch.py.
"""

from __future__ import annotations

from pathlib import Path

from genesis.build import build_genesis
from genesis.loader import canonical_json, load_chain_spec
from genesis.snapshot_build import snapshot_from_listing
from tests.functional.framework import Harness, wait_until


def snapshot_spec(listing: Path, holder: Path, joiner: Path) -> None:
    """The listing spec rewritten to name its genesis state file: with the file in `holder`, alone in `joiner`."""
    spec = load_chain_spec(str(listing))
    doc = snapshot_from_listing(spec, build_genesis(spec), holder / "spec.state", "spec.state")
    for d in (holder, joiner):
        (d / "spec.json").write_bytes(canonical_json(doc))


def test_a_full_sync_joiner_fetches_the_genesis_state_file_from_a_peer_and_follows(harness: Harness) -> None:
    listing = harness.write_devnet_spec(2, start_in_s=6.0)
    holder, joiner = harness.root / "holder", harness.root / "joiner"
    holder.mkdir()
    joiner.mkdir()
    snapshot_spec(listing, holder, joiner)
    alice = harness.add_node(chain=str(holder / "spec.json"), validator_key="alice")
    bob = harness.add_node(chain=str(joiner / "spec.json"), validator_key="bob", bootnodes=[alice.multiaddr])
    alice.start()

    harness.log("bob starts without the file: it fetches it from alice, then starts")
    bob.start()
    log = bob.log_path.read_text()
    assert "is missing: fetching it from peers by its hash" in log, bob.log_tail()
    assert "fetched from peers and checked" in log, bob.log_tail()
    assert (joiner / "spec.state").read_bytes() == (holder / "spec.state").read_bytes()
    assert [p.name for p in joiner.iterdir() if p.name.endswith(".part")] == []
    assert bob.call("chain_getBlockHash", 0) == alice.call("chain_getBlockHash", 0)

    harness.log("it follows and authors: both chains go on together")
    start = alice.height()
    wait_until(lambda: min(alice.height(), bob.height()) >= start + 3, 90, what="both nodes 3 blocks further")
    harness.sync_all()
