"""feature_checkpoint: real node processes with `--checkpoint`. A node whose checkpoint is on the network's chain
syncs it (and treats the checkpoint as final); a node whose checkpoint is not refuses the peer's chain with a
clear log line, bans the peer and imports nothing."""

from __future__ import annotations

from tests.functional.framework import Harness, NodeProcess, wait_until

CHECKPOINT_NUMBER = 3


def log_text(node: NodeProcess) -> str:
    return node.log_path.read_text(errors="replace")


def test_checkpoint_on_the_chain_syncs_and_a_conflicting_one_is_refused(harness: Harness) -> None:
    [source] = harness.add_devnet(1)
    harness.log("start a one-validator devnet and let it pass the checkpoint's height")
    source.start()
    wait_until(lambda: source.height() >= CHECKPOINT_NUMBER + 2, 60, what=f"height {CHECKPOINT_NUMBER + 2}")
    real = source.call("chain_getBlockHash", CHECKPOINT_NUMBER)
    spec, boot = str(harness.spec_path), [source.multiaddr]
    source_peer = source.multiaddr.rsplit("/", 1)[1]

    harness.log("a node with a checkpoint on the chain syncs it and takes the checkpoint as final")
    good = harness.add_node(chain=spec, validator_key=None, bootnodes=boot,
                            extra_args=["--checkpoint", f"{real}@{CHECKPOINT_NUMBER}"])
    good.start()
    wait_until(lambda: good.height() >= CHECKPOINT_NUMBER + 2, 60, what="the good node synced past the checkpoint")
    assert good.call("chain_getBlockHash", CHECKPOINT_NUMBER) == real
    assert good.finalized_number() >= CHECKPOINT_NUMBER
    assert good.call("btt_checkpoint") == {"hash": real, "number": CHECKPOINT_NUMBER, "source": "--checkpoint",
                                           "reached": True}
    assert "checkpoint conflict" not in log_text(good)

    harness.log("a node with a checkpoint the network does not have refuses its chain and bans the peer")
    wrong = "0x" + "5a" * 32
    bad = harness.add_node(chain=spec, validator_key=None, bootnodes=boot,
                           extra_args=["--checkpoint", f"{wrong}@{CHECKPOINT_NUMBER}"])
    bad.start()
    # seen in the peer's status when it has finalized exactly the checkpoint's number by then ("offered a chain
    # finalized at #N HASH by status"), else when its block at that number is fetched ("offered block #N HASH")
    offered, at_number = f"checkpoint conflict: peer {source_peer} offered ", f"#{CHECKPOINT_NUMBER} {real}"

    def conflict_line() -> str | None:
        return next((x for x in log_text(bad).splitlines() if offered in x and at_number in x), None)

    line = wait_until(conflict_line, 60, what="the conflict log line")
    assert f"our trusted checkpoint {wrong}@{CHECKPOINT_NUMBER} (from --checkpoint)" in line
    assert "banning it" in line
    wait_until(lambda: bad.peers() == 0, 60, what="the peer banned and disconnected")
    assert bad.height() == 0, "no block of the conflicting chain may be imported"
    assert bad.call("btt_checkpoint")["reached"] is False
