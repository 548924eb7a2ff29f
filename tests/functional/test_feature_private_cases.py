"""A clinic's own cases posted privately on a 3-validator devnet with two miners, end to end (issue 51's "done when").

Ferdie writes 12 random cases to an .npz and posts them through node 0 with `btt-chain job post --cases`: the
command mixes in decoys from the model's generator, seals every item to the provider drawn, gives the nodes only the
sealed items, reveals the decoys after the provider committed and reads the results sealed back to it. After the job
settles with its decoys checked, no node that is not the provider's holds any case's bytes anywhere under its base
directory (its LevelDB read key by key, every other file byte by byte), no RPC answer about the job or its blocks
carries one, and no block the provider's node exports does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from btt_chain.models.case_files import write_case_file
from storage.leveldb_build import plyvel
from tests.functional.framework import REPO, Harness, NodeProcess, cli_process, scaled, wait_until

CASES = 12
WIDTH = 30
"""breast-cancer-v1's input: 30 int8 values."""


LEVELDB_FILE = re.compile(r"^(\d+\.(ldb|sst|log)|MANIFEST-\d+|CURRENT|LOCK|LOG|LOG\.old)$")


def every_byte_under(base: Path) -> bytes:
    """Everything a node keeps under its base directory: each LevelDB read key by key and value by value (its files
    may be compressed), every other file (block bodies' blob logs, keys, logs, ...) as it is on disk."""
    databases = {p.parent for p in base.rglob("CURRENT")}
    chunks = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and not (path.parent in databases and LEVELDB_FILE.match(path.name)):
            chunks.append(path.read_bytes())
    for db_dir in databases:
        db = plyvel.DB(str(db_dir), create_if_missing=False)
        try:
            chunks += [k + b"\x00" + v for k, v in db.iterator()]
        finally:
            db.close()
    return b"\x00".join(chunks)


def rpc_answers(node: NodeProcess, job_id: int, provider: str, first_block: int) -> str:
    """What the node's RPC says of the job, its inputs, outputs and results, and every block since it was posted."""
    answers = [node.call("btt_job", job_id), node.call("btt_jobInputs", job_id), node.call("btt_jobResults", job_id),
               node.call("btt_jobOutputs", job_id, provider)]
    for n in range(first_block, node.height() + 1):
        h = node.call("chain_getBlockHash", n)
        answers += [node.call("chain_getBlock", h), node.call("btt_events", h)]
    return json.dumps(answers)


def test_a_clinics_own_cases_stay_sealed_everywhere_but_at_the_provider(harness: Harness, tmp_path: Path) -> None:
    rng = np.random.default_rng(51)
    cases = rng.integers(-128, 128, size=(CASES, WIDTH), dtype=np.int8)
    rows = [r.tobytes() for r in cases]
    case_file = tmp_path / "clinic" / "cases.npz"
    case_file.parent.mkdir()
    write_case_file(case_file, cases, rng.integers(0, 2, size=CASES))

    nodes = harness.add_devnet(3, parameters={"compute.commit_window_slots": 5})  # the sealing and commit windows
    harness.start_all(nodes)
    wait_until(lambda: all(n.peers() >= 2 for n in nodes), 60, 0.5, "a full mesh of 3 nodes")
    wait_until(lambda: nodes[0].height() >= 2, 60, 0.5, "the devnet authors blocks")
    first = nodes[0].height()

    harness.log("bob's miner serves through node 1, charlie's through node 2; ferdie posts 12 cases through node 0")
    miners = {"bob": nodes[1], "charlie": nodes[2]}
    with cli_process(harness.root / "miner-bob.log", "miner", "--key", "bob", "--bond", "200", "--data-dir",
                     str(harness.root / "miner-bob"), "--interval", "0.3", "--rpc", nodes[1].rpc.url), \
            cli_process(harness.root / "miner-charlie.log", "miner", "--key", "charlie", "--bond", "200",
                        "--data-dir", str(harness.root / "miner-charlie"), "--interval", "0.3", "--rpc",
                        nodes[2].rpc.url):
        wait_until(lambda: len([p for p in nodes[0].call("btt_providers") if p["registered"]]) == 2, 90, 0.5,
                   "both miners registered")
        post = subprocess.run(
            [sys.executable, "-m", "cli", "job", "post", "--cases", str(case_file), "--model", "breast-cancer-v1",
             "--price", "2", "--key", "ferdie", "--data-dir", str(tmp_path / "clinic" / "orders"), "--rpc",
             nodes[0].rpc.url], cwd=REPO, capture_output=True, text=True, timeout=scaled(300))
        (harness.root / "clinic.log").write_text(post.stdout + post.stderr)
        assert post.returncode == 0, post.stdout + post.stderr
    out = post.stdout
    assert "posted private job #" in out and "revealed its 8 decoys" in out and "read 20 of 20 results" in out, out
    job_id = int(out.split("posted private job #")[1].split(":")[0])
    # the command ends once the clinic has read its verified results; the provider is paid when the window closes
    job = wait_until(lambda: (j := nodes[0].call("btt_job", job_id))["assignments"][0]["state"] == "settled" and j,
                     60, 0.5, f"job #{job_id} settled")
    a = job["assignments"][0]
    assert job["private"]["outcome"] == "checked" and a["state"] == "settled", job
    provider = a["provider"]
    provider_name = next(name for name in miners if _address(nodes[0], name) == provider)
    provider_node = miners[provider_name]
    others = [n for n in nodes if n is not provider_node]
    harness.log(f"job #{job_id} settled, checked on its decoys; provider {provider_name} (node "
                f"{provider_node.index}); looking for the cases on nodes {[n.index for n in others]}")

    (order_file,) = (tmp_path / "clinic" / "orders").rglob(f"job-{job_id}.json")
    order = json.loads(order_file.read_text())
    decoys = [bytes.fromhex(order["items"][p]) for p in order["positions"]]
    assert not set(decoys) & set(rows) and [bytes.fromhex(order["items"][i]) for i in range(len(order["items"]))
                                            if i not in order["positions"]] == rows
    needles_hex = [r.hex() for r in rows]
    for n in nodes:
        said = rpc_answers(n, job_id, provider, first)
        assert [i for i, x in enumerate(needles_hex) if x in said] == [], f"node{n.index}'s RPC shows a case"

    harness.sync_all()
    harness.stop_all(nodes)
    # one export, from the provider's node, whose base directory is not searched below: the other two's are, byte by
    # byte, and hold every block they would export (one chain on all three after sync_all)
    exported = subprocess.run([sys.executable, "-m", "cli", "export-blocks", "--chain", str(harness.spec_path),
                               "--base-path", str(provider_node.datadir)], cwd=REPO, capture_output=True,
                              timeout=scaled(120))
    assert exported.returncode == 0, exported.stderr.decode()
    assert exported.stdout and [i for i, r in enumerate(rows) if r in exported.stdout] == []
    assert all(d in exported.stdout for d in decoys)  # the search sees raw items: the revealed decoys are there
    for n in others:
        held = every_byte_under(n.datadir)
        assert [i for i, r in enumerate(rows) if r in held] == [], f"node{n.index} holds a case's bytes"
        assert all(d in held for d in decoys)  # the decoys, revealed in a block body, are found the same way


def _address(node: NodeProcess, name: str) -> str:
    from btt_chain.primitives.address import encode_address
    from btt_chain.primitives.keys import dev_keypair

    return encode_address(dev_keypair(name).public, int(node.call("system_properties")["ss58Format"]))
