"""Unchanged Substrate clients across a runtime upgrade (issue 50: "unchanged @polkadot/api, polkadot-api, SubQuery and
Subsquid keep working across it"), each connected before the boundary and never restarted.

One real dev node, born at spec 11 (its chain spec says so), with 2-slot epochs (papi's CLI needs a finalized block
past genesis: it comes in seconds), a 10-second voting period (the dev preset's minimum) and no enactment delay.
Once polkadot-api's CLI has generated its descriptors from the spec-11 node, alice proposes
`system.schedule_spec(12, AT)` on the emergency track and bob, charlie (holders) and dave (an institution) vote
aye, signed here as a wallet signs; the referendum closes and is enacted ten seconds later, a few blocks before AT.
Meanwhile every client connects and the JavaScript ones sign a transfer that is included before the boundary:

- @polkadot/api 16 (tests/substrate/js/upgrade_boundary.mjs): one ApiPromise subscribed to the runtime version
  and to new heads. It sees the version change to 12 once, exactly at the boundary (with the head of block AT-1,
  whose child runs spec 12: the runtime *at* a block is its `:code`), updates its own runtime, reads 11/12/12 at
  AT-2/AT-1/AT, computes the hashes of the headers around the boundary (AT-1's carries RuntimeEnvironmentUpdated),
  decodes each block's events with the runtime at its parent (AT's SpecUpgraded, both MigrationCompleted and
  MigrationsCompleted, the blocks before as spec 11 wrote them), and its second transfer, signed for spec 12, is
  included.
- polkadot-api 2 (tests/substrate/papi/upgrade_boundary.mjs), with the descriptors made before the upgrade: one
  client learns of the new runtime from the chain itself (over a legacy node, only from a header's
  RuntimeEnvironmentUpdated item: block AT-1 carries it; papi then reads `:code`'s hash, keys the runtime by it and
  reads the metadata again), reads System.Version and the events of every block around the boundary with the
  runtime it holds for it, and its second transfer, built at a spec-12 block, is included.
- substrate-interface 1.8 (Python), connected before the boundary: the runtime version at blocks before and after,
  both blocks' events (each decoded with the runtime at its parent), and a transfer after the boundary.

Every client's events are held to the node's own (btt_events), every transfer to btt_extrinsicStatus, every hash a
client computed to the node's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from btt_chain.client.calls import CallTable
from btt_chain.primitives.extrinsic import Call, Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.loader import canonical_json, load_chain_spec_doc
from tests.functional.framework import Harness, NodeProcess, free_port, wait_until
from tests.substrate.test_subquery import SCHEMA, SUBQUERY, empty_dictionary_registry, subquery_first_error
from tests.substrate.test_subsquid import SQUID, squid_first_error
from tests.substrate.tools import (
    SUBSTRATE,
    PgCluster,
    ToolProcess,
    first_error,
    name_key,
    node_block_view,
    node_missing,
    node_options_for_websocket,
    packages_missing,
    pg_cluster,
    postgres_missing,
    tool_process,
    wait_for_indexer,
)
from tests.support.wait_limits import scaled

OLD, NEW = 11, 12
UNIT = 10**18
JS = SUBSTRATE / "js"
PAPI = SUBSTRATE / "papi"
LEAD_BLOCKS = 15
"""AT is this many blocks above the head the proposal is signed at: it is included a block later, its referendum
closes and is enacted ten one-second slots after that (fewer blocks if slots are missed), and meanwhile every client
connects and sends its first transfer (a few seconds)."""
UPGRADE_EVENTS = ["system.SpecUpgraded", "system.MigrationCompleted", "system.MigrationCompleted",
                  "system.MigrationsCompleted"]
"""What block AT emits first: the new spec, spec 12's two migrations (session, evidence), all of them done."""
RUNTIME_ENVIRONMENT_UPDATED = "0x08"
"""The digest item (its SCALE encoding) a header carries when the block's child runs another runtime."""


def write_chain_spec(harness: Harness) -> Path:
    """The dev preset, born at spec 11, with 2-slot epochs, a 10-second voting period and no enactment delay."""
    doc = load_chain_spec_doc("dev")
    doc["spec_version"] = OLD
    doc["consensus"]["epoch_slots"] = 2
    doc["parameters"]["governance.voting_period_ms"]["value"] = 10_000
    doc["parameters"]["governance.enactment_delay_ms"]["value"] = 0
    path = harness.root / "dev-born-at-spec-11.json"
    path.write_bytes(canonical_json(doc))
    return path


# the referendum ------------------------------------------------------------------------------------------------


def signed(node: NodeProcess, pair: Keypair, call: Call, nonce_offset: int = 0) -> Extrinsic:
    """`pair`'s transaction (its next nonce, plus `nonce_offset` for a second one in the same batch), signed for the
    spec of the next block, as every btt wallet signs."""
    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    spec = int(node.call("state_getRuntimeVersion")["specVersion"])
    nonce = int(node.call("system_accountNextIndex", "0x" + pair.public.hex())) + nonce_offset
    return sign_extrinsic(pair, call, nonce, genesis, spec)


def include(node: NodeProcess, xts: list[Extrinsic], what: str) -> list[dict[str, Any]]:
    """Submit them together; their statuses once each is included (each must have succeeded)."""
    for xt in xts:
        node.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    hashes = ["0x" + xt.hash().hex() for xt in xts]

    def included() -> list[dict[str, Any]] | None:
        statuses = [node.call("btt_extrinsicStatus", h) for h in hashes]
        return statuses if all(s is not None and s.get("status") == "included" for s in statuses) else None

    statuses: list[dict[str, Any]] = wait_until(included, 60, 0.2, what)
    failed = [s.get("error") for s in statuses if not s.get("success")]
    assert not failed, f"{what}: {failed}"
    return statuses


def schedule_upgrade_by_referendum(node: NodeProcess) -> int:
    """Alice sends dave (an institution: its allocation is still locked) a little for fees and proposes
    `system.schedule_spec(12, AT)` on the emergency track at its minimum deposit; bob, charlie and dave vote aye with
    all they have. Returns AT."""
    calls = CallTable(node.call("btt_callTable"))
    alice = dev_keypair("alice")
    params = {row["name"]: row["value"] for row in node.call("btt_params")}
    deposit = int(params["governance.emergency_deposit"])
    at = node.height() + LEAD_BLOCKS
    upgrade = calls.build_call("system.schedule_spec", NEW, at)
    include(node, [
        signed(node, alice, calls.build_call("balances.transfer_keep_alive", dev_keypair("dave").public, 10 * UNIT)),
        signed(node, alice, calls.build_call("governance.propose", upgrade, blake2b_256(b"spec 12"), deposit, True),
               nonce_offset=1),
    ], "the proposal included")
    ref_id = int(node.call("btt_referenda")[0]["id"])  # newest first: the only one
    include(node, [signed(node, dev_keypair(voter), calls.build_call("governance.vote", ref_id, True, 2**128 - 1))
                   for voter in ("bob", "charlie", "dave")], "the votes included")
    return at


# the clients ---------------------------------------------------------------------------------------------------


@pytest.fixture
def papi_workdir(harness: Harness) -> Iterator[Path]:
    """A directory for `papi add`'s config and descriptors, with the pinned packages linked in (the link goes when the
    test ends: a failed test's data is kept, and it would copy them)."""
    work = harness.root / "papi"
    (work / ".papi").mkdir(parents=True)
    config = {"version": 0, "descriptorPath": ".papi/descriptors", "entries": {},
              "options": {"noDescriptorsPackage": True}}
    (work / ".papi" / "polkadot-api.json").write_text(json.dumps(config))
    modules = work / "node_modules"
    modules.symlink_to(PAPI / "node_modules")
    try:
        yield work
    finally:
        modules.unlink()


def papi_add(node: NodeProcess, work: Path, harness: Harness, env: dict[str, str]) -> Path:
    """`papi add btt -w ws://...` (polkadot-api's CLI generates the chain's descriptors from the node's metadata):
    the generated module's path."""
    url = f"ws://127.0.0.1:{node.rpc_port}"
    with tool_process([str(PAPI / "node_modules" / ".bin" / "papi"), "add", "btt", "-w", url], work,
                      harness.root / "papi-add.log", env) as add:
        code = add.wait(120, f"papi add btt -w {url}")
        assert code == 0, f"papi add exited with {code}:\n{add.tail()}"
    descriptors = work / ".papi" / "descriptors" / "dist" / "index.js"
    assert descriptors.exists(), f"papi add wrote no descriptors:\n{add.tail()}"
    return descriptors


def findings(tool: ToolProcess, what: str) -> dict[str, Any]:
    """The JSON line a client script printed last; it must not have failed."""
    lines = [line for line in tool.output().splitlines() if line.startswith("{")]
    assert lines, f"{what} printed no findings; first error: {first_error(tool.output())}\n{tool.tail()}"
    out: dict[str, Any] = json.loads(lines[-1])
    assert "failure" not in out, (f"{what} failed at {out['steps'][-1:]}: {out['failure']}\n"
                                  f"(warnings: {out['warnings']})")
    return out


def substrate_interface_across(substrate: Any, at: int, hashes: dict[int, str]) -> dict[str, Any]:
    """After the boundary, by the instance connected before it: the runtime version at AT-2, AT-1 and AT, the
    events of AT-1 and AT, and a transfer by alice (its vote lock ended with the voting), signed for the head."""
    from substrateinterface import Keypair as SiKeypair
    from substrateinterface import KeypairType

    out: dict[str, Any] = {
        "versionAt": {n: substrate.get_block_runtime_version(hashes[n])["specVersion"] for n in (at - 2, at - 1, at)},
        "events": {},
    }
    for n in (at - 1, at):
        records = substrate.get_events(block_hash=hashes[n])
        out["events"][n] = [
            {"name": f"{e.value['module_id']}.{e.value['event_id']}",
             "phase": e.value["extrinsic_idx"] if e.value["phase"] == "ApplyExtrinsic" else e.value["phase"]}
            for e in records]
        out.setdefault("decodedWithSpec", {})[n] = substrate.runtime_version
    header = substrate.get_block(block_hash=hashes[at - 1])["header"]
    out["headerAtBoundary"] = {"hash": header["hash"], "logs": [str(log) for log in header["digest"]["logs"]]}
    pair = dev_keypair("alice")
    alice = SiKeypair.create_from_seed(pair.seed.hex(), ss58_format=substrate.ss58_format,
                                       crypto_type=KeypairType.ED25519)
    call = substrate.compose_call("Balances", "transfer_keep_alive",
                                  {"dest": "0x" + dev_keypair("bob").public.hex(), "value": UNIT})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=alice),
                                         wait_for_inclusion=True)
    out["transfer"] = {"success": receipt.is_success, "error": receipt.error_message, "block": receipt.block_hash,
                       "hash": receipt.extrinsic_hash, "signedWithSpec": substrate.runtime_version}
    return out


# the indexers --------------------------------------------------------------------------------------------------


@dataclass
class Indexers:
    pg: PgCluster
    squid: ToolProcess
    subquery: ToolProcess

    def rows(self, number: int) -> dict[str, list[dict[str, Any]]]:
        """Each indexer's rows of block `number` (the projects of tests/substrate/indexers: every event of every
        block), by event index."""
        columns = "block_number, block_hash, event_index, phase, extrinsic_index, name"
        found = {
            "the squid": self.pg.rows("squid", f"SELECT {columns} FROM indexed_event WHERE block_number = {number}"),
            "SubQuery": self.pg.rows("subquery", f"SELECT {columns} FROM {SCHEMA}.indexed_events "
                                                 f"WHERE block_number = {number} AND upper_inf(_block_range)"),
        }
        return {tool: sorted(rows, key=lambda r: int(r["event_index"])) for tool, rows in found.items()}

    def wait_for(self, number: int) -> None:
        """Until both have indexed block `number` (by their own progress rows)."""
        wait_for_indexer(self.pg, "squid", self.squid, "SELECT height FROM squid_processor.status WHERE id = 0",
                         number, "the squid", squid_first_error)
        wait_for_indexer(self.pg, "subquery", self.subquery,
                         f"SELECT value AS height FROM {SCHEMA}._metadata WHERE key = 'lastProcessedHeight'",
                         number, "SubQuery", subquery_first_error)


@contextlib.contextmanager
def indexers(node: NodeProcess, harness: Harness, start: int) -> Iterator[Indexers]:
    """The squid (squid-sdk's substrate processor, which follows finalized blocks) and SubQuery (@subql/node, which
    runs @polkadot/api inside and indexes the best chain), as tests/substrate/test_subsquid.py and test_subquery.py
    run them, both from block `start` and on one throwaway PostgreSQL cluster."""
    url = f"ws://127.0.0.1:{node.rpc_port}"
    project = harness.root / "subquery-project"
    project.mkdir()
    for name in ("schema.graphql", "mappings.js"):
        shutil.copy(SUBQUERY / name, project / name)
    manifest = (SUBQUERY / "project.yaml.in").read_text()
    for key, value in (("GENESIS_HASH", node.call("chain_getBlockHash", 0)), ("ENDPOINT", url),
                       ("START_BLOCK", str(start))):
        manifest = manifest.replace(f"@{key}@", value)
    (project / "project.yaml").write_text(manifest)
    with pg_cluster(harness.root) as pg, empty_dictionary_registry() as registry:
        for database in ("squid", "subquery"):
            pg.create_database(database)
        pg.psql("subquery", "CREATE EXTENSION IF NOT EXISTS btree_gist")
        squid_env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg.port), "DB_NAME": "squid", "DB_USER": pg.user,
                     "DB_PASS": "postgres", "BTT_RPC_URL": url, "BTT_FROM_BLOCK": str(start),
                     "SQD_DEBUG": "sqd:processor:rpc"}  # every RPC call and answer in its log, to name the first error
        applied = subprocess.run([str(SQUID / "node_modules" / ".bin" / "squid-typeorm-migration"), "apply"],
                                 cwd=SQUID, env={**os.environ, **squid_env}, capture_output=True, text=True,
                                 timeout=scaled(120))
        assert applied.returncode == 0, f"squid-typeorm-migration apply failed:\n{applied.stdout}\n{applied.stderr}"
        subquery_env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg.port), "DB_DATABASE": "subquery",
                        "DB_USER": pg.user, "DB_PASS": "postgres", "TZ": "UTC"}  # SubQuery refuses to start outside UTC
        subql_argv = [str(SUBQUERY / "node_modules" / ".bin" / "subql-node"), "-f", str(project),
                      f"--db-schema={SCHEMA}", f"--port={free_port()}", f"--dictionary-registry={registry}",
                      "--output-fmt=json"]
        with tool_process(["node", "lib/main.js"], SQUID, harness.root / "squid.log", squid_env) as squid, \
                tool_process(subql_argv, project, harness.root / "subquery.log", subquery_env) as subquery:
            yield Indexers(pg, squid, subquery)


# what the node says --------------------------------------------------------------------------------------------


def node_events(node: NodeProcess, number: int) -> list[tuple[str, Any]]:
    """The node's own events of block `number`: (event name, phase: the extrinsic's index or FRAME's phase name)."""
    view = node_block_view(node, node.call("chain_getBlockHash", number))
    return [(e.name.split(".")[1], e.extrinsic if e.extrinsic is not None else e.phase) for e in view.events]


def names_and_phases(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(name_key(e["name"])[1], e["phase"]) for e in events]


def pallets(events: list[dict[str, Any]]) -> list[str]:
    """`pallet.Event` in one spelling whatever the client's (`system.SpecUpgraded`)."""
    return [".".join(name_key(e["name"])) for e in events]


def upgrade_names() -> list[str]:
    return [".".join(name_key(n)) for n in UPGRADE_EVENTS]


def assert_included_after(node: NodeProcess, tx_hash: str, block_hash: str, at: int, what: str) -> int:
    """The node's own status of a client's transaction: included in `block_hash`, above the boundary, succeeded."""
    status = node.call("btt_extrinsicStatus", tx_hash)
    assert status is not None and status.get("status") == "included" and status["success"], (what, status)
    assert status["blockHash"] == block_hash, (what, status)
    number = int(status["blockNumber"])
    assert number >= at, f"{what} is in block #{number}, not after the boundary #{at}"
    return number


# the test ------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
@pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing()))
def test_unchanged_clients_follow_the_upgrade_without_a_restart(harness: Harness, papi_workdir: Path) -> None:
    from substrateinterface import SubstrateInterface

    for directory, packages in ((JS, ("@polkadot/api",)),
                                (PAPI, ("polkadot-api", "@polkadot-labs/hdkd", "@polkadot-labs/hdkd-helpers")),
                                (SQUID, ("@subsquid/substrate-processor", "@subsquid/typeorm-store",
                                         "@subsquid/typeorm-migration", "pg")),
                                (SUBQUERY, ("@subql/node",))):
        missing = packages_missing(directory, *packages)
        assert missing is None, missing
    began = time.monotonic()
    node = harness.add_node(chain=str(write_chain_spec(harness)), extra_args=["--no-p2p", "--state-pruning", "archive"])
    node.start()
    url = f"ws://127.0.0.1:{node.rpc_port}"
    env = {"NODE_OPTIONS": node_options_for_websocket()}
    assert node.call("state_getRuntimeVersion")["specVersion"] == OLD
    # papi reads the genesis hash from System.BlockHash(0) at the finalized block, a placeholder at genesis
    wait_until(lambda: node.finalized_number() >= 1, 60, 0.2, "finality past genesis")
    descriptors = papi_add(node, papi_workdir, harness, env)

    at = schedule_upgrade_by_referendum(node)
    harness.log(f"the referendum schedules spec {NEW} at block #{at}; head #{node.height()}, "
                f"{time.monotonic() - began:.1f} s in")
    substrate = SubstrateInterface(url=url)
    with contextlib.ExitStack() as stack:
        stack.callback(substrate.close)
        substrate.init_runtime()
        si_spec_before = substrate.runtime_version
        pjs = stack.enter_context(tool_process(["node", str(JS / "upgrade_boundary.mjs"), url, str(at), "//Eve"], JS,
                                               harness.root / "polkadot-js.log"))
        papi = stack.enter_context(tool_process(
            ["node", str(PAPI / "upgrade_boundary.mjs"), url, str(descriptors), str(at), "//Ferdie"], PAPI,
            harness.root / "papi.log", env))
        indexed = stack.enter_context(indexers(node, harness, node.finalized_number()))
        wait_until(lambda: node.height() >= at + 1, 120, 0.2, f"block #{at + 1}")
        assert node.call("state_getRuntimeVersion")["specVersion"] == NEW, (
            f"no upgrade at block #{at}: the referendum {node.call('btt_referenda')[0]}")
        hashes = {n: node.call("chain_getBlockHash", n) for n in range(at - 3, at + 2)}
        si = substrate_interface_across(substrate, at, hashes)
        pjs.wait(120, "the @polkadot/api client")
        papi.wait(120, "the polkadot-api client")
        js, pa = findings(pjs, "@polkadot/api"), findings(papi, "polkadot-api")
        harness.log(f"the clients are done, {time.monotonic() - began:.1f} s in")
        indexed.wait_for(at + 1)
        rows = {n: indexed.rows(n) for n in (at - 1, at)}
    harness.log(f"past the boundary, every client done, in {time.monotonic() - began:.1f} s")

    # the chain: block AT ran the upgrade; block AT-1, whose child runs spec 12, alone says so in its header
    expected = {n: node_events(node, n) for n in (at - 1, at)}
    assert [name for name, _ in expected[at][:4]] == [n.split(".")[1] for n in UPGRADE_EVENTS], expected[at]
    logs = {n: node.call("chain_getHeader", hashes[n])["digest"]["logs"] for n in hashes}
    assert [n for n in logs if RUNTIME_ENVIRONMENT_UPDATED in logs[n]] == [at - 1], logs
    harness.log(json.dumps({"polkadot-js": js, "papi": pa, "substrate-interface": si}, default=str)[:20000])

    # @polkadot/api
    assert js["warnings"] == [], js["warnings"]
    assert js["specAtStart"] == OLD
    versions = [note for note in js["notes"] if note["kind"] == "version"]
    assert [v["spec"] for v in versions] == [OLD, NEW], versions  # announced once, never again
    assert at - 2 <= versions[1]["afterHead"] <= at - 1, versions  # with the head of AT-1, none before or after
    assert (js["specAfter"], js["constsVersionAfter"]) == (NEW, NEW)
    assert js["versionAt"] == {str(at - 2): OLD, str(at - 1): NEW, str(at): NEW}
    assert {int(n): head["hash"] for n, head in js["heads"].items()} == {n: hashes[n] for n in (at - 2, at - 1, at)}
    assert "RuntimeEnvironmentUpdated" in js["heads"][str(at - 1)]["logs"]
    before = js["before"]
    assert before["success"] and before["specAtSigning"] == OLD and before["blockNumber"] < at, before
    decoded = {b["number"]: b for b in js["blocks"]}
    assert decoded[before["blockNumber"]]["decodedWithSpec"] == OLD
    assert names_and_phases(decoded[before["blockNumber"]]["events"]) == node_events(node, before["blockNumber"])
    for n in (at - 1, at):
        assert decoded[n]["hash"] == hashes[n]
        assert names_and_phases(decoded[n]["events"]) == expected[n], (n, decoded[n]["events"])
    assert (decoded[at - 1]["decodedWithSpec"], decoded[at]["decodedWithSpec"], decoded[at + 1]["decodedWithSpec"]) \
        == (OLD, NEW, NEW)
    assert pallets(decoded[at]["events"])[:4] == upgrade_names(), decoded[at]["events"]
    upgraded = decoded[at]["events"][0]["data"]
    assert upgraded == [OLD, NEW] or upgraded == {"fromSpec": OLD, "to": NEW}, upgraded
    after = js["after"]
    assert after["success"] and after["specAtSigning"] == NEW, after
    assert "balances.Transfer" in after["events"]
    assert_included_after(node, after["txHash"], after["blockHash"], at, "@polkadot/api's transfer")

    # polkadot-api
    assert pa["warnings"] == [], pa["warnings"]
    assert pa["before"]["ok"] and pa["before"]["block"]["number"] < at, pa["before"]
    blocks = {int(n): b for n, b in pa["blocks"].items()}
    assert [n for n in sorted(blocks) if blocks[n]["hasNewRuntime"]] == [at - 1], blocks
    for n in range(at - 2, at + 2):
        assert blocks[n]["hash"] == hashes[n], (n, blocks[n])
        assert "error" not in blocks[n], (n, blocks[n]["error"])
        # the runtime papi holds for a block is the one at it (its :code): AT-1's is already spec 12
        assert blocks[n]["spec"] == (OLD if n < at - 1 else NEW), (n, blocks[n])
    for n in (at - 1, at):
        assert names_and_phases(blocks[n]["events"]) == expected[n], (n, blocks[n]["events"])
    assert pallets(blocks[at]["events"])[:4] == upgrade_names(), blocks[at]["events"]
    assert pa["specAtBuild"] == NEW and pa["after"]["ok"], pa["after"]
    assert_included_after(node, pa["after"]["txHash"], pa["after"]["block"]["hash"], at, "polkadot-api's transfer")

    # substrate-interface
    assert si_spec_before == OLD
    assert si["headerAtBoundary"]["hash"] == hashes[at - 1], si["headerAtBoundary"]
    assert any("RuntimeEnvironmentUpdated" in log for log in si["headerAtBoundary"]["logs"]), si["headerAtBoundary"]
    assert si["versionAt"] == {at - 2: OLD, at - 1: NEW, at: NEW}
    assert si["decodedWithSpec"] == {at - 1: OLD, at: NEW}  # each block with the runtime at its parent
    for n in (at - 1, at):
        assert names_and_phases(si["events"][n]) == expected[n], (n, si["events"][n])
    assert pallets(si["events"][at])[:4] == upgrade_names(), si["events"][at]
    transfer = si["transfer"]
    assert transfer["success"] and transfer["signedWithSpec"] == NEW, transfer
    assert_included_after(node, transfer["hash"], transfer["block"], at, "substrate-interface's transfer")

    # the indexers: the blocks on both sides of the boundary, each event as the node reports it
    for n in (at - 1, at):
        for tool, found in rows[n].items():
            assert {r["block_hash"] for r in found} == {hashes[n]}, (tool, n, found)
            events = [{"name": r["name"], "phase": r["phase"] if r["extrinsic_index"] is None
                       else int(r["extrinsic_index"])} for r in found]
            assert names_and_phases(events) == expected[n], (tool, n, found)
            if n == at:
                assert pallets(events)[:4] == upgrade_names(), (tool, events)
