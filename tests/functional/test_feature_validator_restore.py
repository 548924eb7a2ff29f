"""feature_validator_restore (issue 49, finding 5): a validator restored after a disk loss, next to its peers, neither
votes nor authors slashably.

A three-validator devnet runs until it finalizes; one validator stops, its chain is exported from half its height (a
stale backup) and its signing records at that point; its base path is wiped but for the keystore and the stale chain
is imported again. Started without its signing records and before it reaches a peer, it signs nothing on its stale
head (before, it voted a link surrounding its own earlier vote at once: issue 49's `572 -> 601` around `591 -> 592`).
Started next to its peers it catches up, watches two epochs for a second signer of its key, then signs; restored
again from the same stale export with the records imported, it signs once caught up, without the watch. Across its
four lives its votes hold no double or surround pair and its blocks no repeated slot; no node logs or reports an
equivocation, and nobody is slashed.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from btt_chain.primitives.evidence import surrounds
from tests.functional.framework import Harness, NodeProcess, wait_until
from tests.support.cli_runner import run

VOTED = re.compile(r"btt\.finality: voted (\d+):0x([0-9a-f]+) -> (\d+):0x([0-9a-f]+)")
AUTHORED = re.compile(r"btt\.node: authored #(\d+) 0x[0-9a-f]+ slot (\d+)")
START = "--- start:"
EQUIVOCATION_LINES = ("signed two blocks", "reported 0x", "FINALITY CONFLICT", "DOPPELGANGER", "equivocat")


def lives(node: NodeProcess) -> list[str]:
    """The node's log, one text per process it ran (the framework marks each start)."""
    return node.log_path.read_text(errors="replace").split(START)[1:]


def votes_and_slots(text: str) -> tuple[list[tuple[int, str, int, str]], list[int]]:
    votes = [(int(s), sh, int(t), th) for s, sh, t, th in VOTED.findall(text)]
    return votes, [int(slot) for _, slot in AUTHORED.findall(text)]


def first_index(text: str, pattern: str) -> int:
    at = text.find(pattern)
    assert at >= 0, f"{pattern!r} not in the log"
    return at


def wipe_but_keystore(node: NodeProcess, chain_id: str) -> None:
    """A disk loss: the chain's directory goes, all but the keystore (the node's log and node key sit outside it)."""
    data = node.datadir / "chains" / chain_id
    for entry in data.iterdir():
        if entry.name != "keystore":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def restore(node: NodeProcess, spec: Path, blocks: Path, capsys, records: Path | None = None) -> None:
    wipe_but_keystore(node, "devnet")
    code, _, err = run(capsys, "import-blocks", "--chain", str(spec), "--base-path", str(node.datadir), str(blocks))
    assert code == 0, err
    if records is not None:
        code, _, err = run(capsys, "signing-records", "import", "--chain", str(spec), "--base-path",
                           str(node.datadir), "--file", str(records))
        assert code == 0, err


def epoch_now(spec: Path) -> int:
    """The chain's current epoch by this machine's clock."""
    from genesis.loader import load_chain_spec

    s = load_chain_spec(str(spec))
    return (int(time.time() * 1000) - s.genesis_time_ms) // s.consensus.slot_ms // s.consensus.epoch_slots


def test_a_validator_restored_from_an_export_neither_votes_nor_authors_slashably(harness: Harness, capsys) -> None:
    nodes = harness.add_devnet(3, epoch_slots=4)
    spec = harness.spec_path
    victim = nodes[2]
    victim.doppelganger_epochs = None  # the node's default watch: what this test is about
    harness.log("three validators run until they finalize")
    harness.start_all(nodes)
    wait_until(lambda: min(n.finalized_number() for n in nodes) >= 4, 90, what="finalized #4 everywhere")
    wait_until(lambda: VOTED.search(victim.log_path.read_text()), 60, what="the victim voted")

    harness.log("the victim stops; a stale backup of its chain (half its height) and its signing records")
    height = victim.height()
    victim.stop()
    stale = harness.root / "stale.blocks"
    code, _, err = run(capsys, "export-blocks", "--chain", str(spec), "--base-path", str(victim.datadir), "--to",
                       str(height // 2), "-o", str(stale))
    assert code == 0, err
    records = harness.root / "records.json"
    code, _, err = run(capsys, "signing-records", "export", "--chain", str(spec), "--base-path", str(victim.datadir),
                       "--public-key", "charlie", "--file", str(records))
    assert code == 0, err

    harness.log("disk loss: the victim's chain is restored from the stale export, without its signing records")
    restore(victim, spec, stale, capsys)
    harness.log("started alone first (no peer reached yet): its head is stale, and it signs nothing")
    bootnodes, node_key = victim.bootnodes, victim.node_key_file
    victim.bootnodes, victim.node_key_file = [], victim.datadir / "unknown-node-key"  # nobody knows or dials it
    victim.start()
    alone = lambda: lives(victim)[-1]  # noqa: E731
    wait_until(lambda: "not signing yet: no peer" in alone(), 30, what="the victim waits for a peer")
    boundary = epoch_now(spec) + 1
    wait_until(lambda: epoch_now(spec) > boundary, 30, what="an epoch boundary passes while it is alone")
    assert f"head #{height // 2} " in alone(), "the victim did not start from the stale export"
    assert not VOTED.search(alone()) and not AUTHORED.search(alone()), "signed on its stale head"
    victim.stop()

    harness.log("started next to its peers: it catches up, watches two epochs for a second signer, then signs")
    victim.bootnodes, victim.node_key_file = bootnodes, node_key
    victim.start()
    beside = lambda: lives(victim)[-1]  # noqa: E731
    wait_until(lambda: "doppelganger watch passed clean" in beside(), 60, what="the victim caught up and watched")
    wait_until(lambda: VOTED.search(beside().split("doppelganger watch passed clean")[1]), 30,
               what="the victim votes again")
    text = beside()
    caught_up = first_index(text, "caught up with")
    assert first_index(text, "not signing yet") < caught_up < first_index(text, "watching the network for 2 epochs")
    first_signature = min(m.start() for m in (*VOTED.finditer(text), *AUTHORED.finditer(text)))
    assert first_signature > first_index(text, "doppelganger watch passed clean")

    harness.log("and again from the same stale export, its signing records imported: no watch")
    victim.stop()
    restore(victim, spec, stale, capsys, records)
    victim.start()
    wait_until(lambda: VOTED.search(lives(victim)[-1]), 60, what="the victim votes with its records")
    text = lives(victim)[-1]
    assert "watching the network" not in text
    assert min(m.start() for m in (*VOTED.finditer(text), *AUTHORED.finditer(text))) > first_index(text, "caught up")
    harness.sync_all(60)

    harness.log("no double or surround vote, no slot signed twice, across the victim's four lives")
    votes: list[tuple[int, str, int, str]] = []
    slots: list[int] = []
    for life in lives(victim):
        v, s = votes_and_slots(life)
        votes += v
        slots += s
    assert len(votes) >= 3 and len(slots) == len(set(slots)), (votes, slots)
    for i, (s1, sh1, t1, th1) in enumerate(votes):
        for s2, sh2, t2, th2 in votes[i + 1:]:
            assert not (t1 == t2 and (s1, sh1, th1) != (s2, sh2, th2)), f"double vote {s1}->{t1} / {s2}->{t2}"
            assert not surrounds(s1, t1, s2, t2) and not surrounds(s2, t2, s1, t1), f"surround {s1}->{t1} {s2}->{t2}"

    harness.log("nobody saw, reported or was slashed for an equivocation")
    for n in nodes:
        log = n.log_path.read_text(errors="replace")
        found = [line for line in EQUIVOCATION_LINES if line in log]
        assert not found, (n.index, found)
    validators = nodes[0].call("btt_validators")
    assert len(validators) == 3 and len({v["bond"] for v in validators}) == 1, validators
    for number in range(nodes[0].height() + 1):
        events = nodes[0].call("btt_events", nodes[0].call("chain_getBlockHash", number))
        assert not [e for e in events if "evidence" in str(e).lower() or "slash" in str(e).lower()], (number, events)
