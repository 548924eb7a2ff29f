"""The RPC, the CLI and the explorer across an upgrade (issue 50: "the metadata and state_getRuntimeVersion at a block
are those of its rules", "Substrate clients follow the boundary", "the explorer, RPC and CLI show a scheduled
upgrade"), on an in-process node born at spec 11 whose chain takes spec 12 at block AT by an emergency referendum.

The rule (Substrate's, polkadot.js's): the runtime *at* block B is the one that runs B's child, so block AT - 1 (the
last spec-11 block) already gives spec 12, and every block decoded with the version at its parent is decoded with the
spec that ran it. Attacks: a call only the new spec has is not priced before the boundary; malformed and unknown `at`
are refused with the reason and nothing changes; a node that cannot run the next spec says so (one line naming the
spec) instead of describing a runtime it does not have.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc import block_spec
from btt_chain.rpc.errors import INVALID_PARAMS, UNSUPPORTED_SPEC, RpcError
from btt_chain.rpc.registry import REGISTRY, RpcContext, Stepwise
from btt_chain.rpc.server import RpcServer
from cli.main import main
from cli.query_upgrade_cmd import describe
from genesis.loader import as_of_spec, canonical_json, load_chain_spec_doc
from runtime import specs
from runtime.evidence.calls import WEIGHT_WITH_KEYS
from runtime.specs import runtime_of
from tests.support.cli_runner import assert_one_error_line, run

from .harness import UNIT, free_port

OLD, NEW = 11, 12
AT = 8
"""The first block under spec 12. Blocks 1-5 carry the referendum (a transfer to dave, the proposal, the votes, the
close, the enactment): the schedule is in effect from block 5."""
ENACTED = 5
CODE = "0x" + b":code".hex()
NEW_ONLY = "report_block_equivocation_with_keys"
"""A call spec 12 added (evidence, call 2)."""
ALICE = dev_keypair("alice")


# the chain -----------------------------------------------------------------------------------------------------


def born_at_11(where: Path) -> Node:
    """A dev node (alice validates) whose chain spec names no spec version: born at spec 11, as every chain was
    before specs were recorded."""
    doc = as_of_spec(load_chain_spec_doc("dev"), 11)
    path = where / "spec11.json"
    path.write_bytes(canonical_json(doc))
    return Node(NodeConfig(chain=str(path), base_path=where / "node", tmp=False, validator_key=ALICE,
                           rpc_port=free_port()))


def call(node: Node, name: str, *params: Any) -> Any:
    """A method called as the server calls it (its parameters parsed first)."""
    ctx = RpcContext(node)
    method = REGISTRY.get(name)
    assert method is not None, name
    out = method.handler(ctx, *method.bind(list(params), ctx))
    return out.finish() if isinstance(out, Stepwise) else out  # a method worked out in steps: all of them


def refused(node: Node, code: int, fragment: str, name: str, *params: Any) -> str:
    """`name` fails with `code` and `fragment` in its message, and the node's head and pool are as they were."""
    before = (node.chain.head_hash, len(node.pool))
    with pytest.raises(RpcError) as exc:
        call(node, name, *params)
    assert exc.value.code == code, exc.value.to_json()
    assert fragment.lower() in exc.value.message.lower(), exc.value.message
    assert (node.chain.head_hash, len(node.pool)) == before, "a refused call changed the node"
    return exc.value.message


def submit(node: Node, pair: Keypair, name: str, *args: Any) -> None:
    """Sign with the runtime of the next block (what the node checks transactions against) and pool it."""
    runtime = node.chain.runtime
    xt = sign_extrinsic(pair, runtime.call(name, *args), node.next_account_index(pair.public),
                        node.chain.genesis_hash, runtime.spec_version)
    node.submit_extrinsic(xt.encode())


def author(node: Node, slot: int | None = None) -> None:
    chain, pool = node.chain, node.pool
    imported, dropped = chain.author_block(slot or chain.head.slot + 1, ALICE,
                                           [(t.xt, len(t.encoded)) for t in pool.ready()])
    pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])


def author_at_time(node: Node, at_ms: int) -> None:
    clock = node.chain.clock
    author(node, max(node.chain.head.slot + 1, -(-(at_ms - clock.genesis_time_ms) // clock.slot_ms)))


def schedule_by_referendum(node: Node) -> None:
    """Blocks 1-5: an emergency referendum to schedule spec 12 at block AT passes (dave as an institution, bob and
    charlie as holders) and is enacted in block 5."""
    deposit = int(next(r["value"] for r in call(node, "btt_params") if r["name"] == "governance.emergency_deposit"))
    submit(node, ALICE, "balances.transfer_allow_death", dev_keypair("dave").public, 10 * UNIT)
    author(node)
    upgrade = node.chain.runtime.call("system.schedule_spec", NEW, AT)
    submit(node, ALICE, "governance.propose", upgrade, blake2b_256(b"spec 12"), deposit, True)
    author(node)
    for voter in ("bob", "charlie", "dave"):
        submit(node, dev_keypair(voter), "governance.vote", 0, True, 2**128 - 1)
    author(node)
    ref = call(node, "btt_referendum", 0)
    assert ref["track"] == "emergency" and ref["liveTally"]["verdict"] == "passed", ref
    author_at_time(node, ref["votingEndsMs"])
    author_at_time(node, call(node, "btt_referendum", 0)["enactAtMs"])
    assert call(node, "btt_referendum", 0)["status"] == "enacted"
    assert node.chain.head.number == ENACTED


@dataclass
class Upgraded:
    node: Node

    def hash(self, number: int) -> str:
        h = self.node.chain.db.canonical_hash(number)
        assert h is not None
        return "0x" + h.hex()

    def call(self, name: str, *params: Any) -> Any:
        return call(self.node, name, *params)


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgraded]:
    node = born_at_11(tmp_path_factory.mktemp("upgrade"))
    try:
        schedule_by_referendum(node)
        while node.chain.head.number < AT + 2:
            author(node)
        yield Upgraded(node)
    finally:
        node.close()


@pytest.fixture
def no_limit() -> Iterator[None]:
    yield
    specs.limit(None)


def expected_at(number: int) -> int:
    """The spec of the runtime at block `number`: the one its child runs."""
    return OLD if number + 1 < AT else NEW


def raw(value: str) -> bytes:
    return bytes.fromhex(value[2:])


# the runtime at a block ---------------------------------------------------------------------------------------


def test_the_runtime_version_at_a_block_is_the_spec_that_runs_its_child(upgraded: Upgraded) -> None:
    head = upgraded.node.chain.head.number
    for n in range(head + 1):
        at = upgraded.hash(n)
        version = upgraded.call("state_getRuntimeVersion", at)
        assert version["specVersion"] == expected_at(n), n
        assert upgraded.call("chain_getRuntimeVersion", at) == version
        assert version["specName"] == "btt"
        assert version["transactionVersion"] == runtime_of(expected_at(n)).transaction_version
        # Core_version (SCALE) says the same
        core = raw(upgraded.call("state_call", "Core_version", "0x", at))
        assert int.from_bytes(core[len(b"\x0cbtt\x24btt-chain") + 4:][:4], "little") == expected_at(n)
    assert upgraded.call("state_getRuntimeVersion")["specVersion"] == NEW
    assert upgraded.call("state_getRuntimeVersion", upgraded.hash(AT - 2))["specVersion"] == OLD
    assert upgraded.call("state_getRuntimeVersion", upgraded.hash(AT - 1))["specVersion"] == NEW


def test_polkadot_js_decodes_every_block_with_the_spec_that_ran_it(upgraded: Upgraded) -> None:
    """polkadot.js reads a block's runtime version at its parent: it must be the spec that ran the block."""
    for n in range(1, upgraded.node.chain.head.number + 1):
        ran = upgraded.call("btt_upgrade", upgraded.hash(n))["specVersion"]
        assert ran == (OLD if n < AT else NEW), n
        assert upgraded.call("state_getRuntimeVersion", upgraded.hash(n - 1))["specVersion"] == ran, n


def test_the_metadata_at_a_block_is_its_runtimes(upgraded: Upgraded) -> None:
    before, boundary = upgraded.hash(AT - 2), upgraded.hash(AT - 1)
    old, new = raw(upgraded.call("state_getMetadata", before)), raw(upgraded.call("state_getMetadata", boundary))
    assert old[:5] == new[:5] == b"meta\x0e" and old != new
    assert NEW_ONLY.encode() not in old and NEW_ONLY.encode() in new  # each spec lists its own calls
    for at, meta in ((before, old), (boundary, new)):
        # System.Version inside the metadata is the runtime's version; Metadata_metadata is the same bytes
        assert raw(upgraded.call("state_call", "Core_version", "0x", at)) in meta
        assert raw(upgraded.call("state_call", "Metadata_metadata", "0x", at)).endswith(meta)
        assert raw(upgraded.call("state_call", "Metadata_metadata_at_version", "0x0e000000", at)).endswith(meta)
    assert raw(upgraded.call("state_call", "Core_version", "0x", before)) not in new
    assert upgraded.call("state_getMetadata", upgraded.hash(0)) == "0x" + old.hex()  # genesis: spec 11 too
    assert upgraded.call("state_getMetadata") == "0x" + new.hex()  # the head: the same figures, the same spec
    # the call table btt's own clients sign with
    tables = {at: upgraded.call("btt_callTable", at) for at in (before, boundary)}
    assert tables[before]["spec_version"] == OLD and tables[boundary]["spec_version"] == NEW
    for at, present in ((before, False), (boundary, True)):
        evidence = next(m for m in tables[at]["modules"] if m["name"] == "evidence")
        assert (NEW_ONLY in [c["name"] for c in evidence["calls"]]) is present


def test_code_changes_with_the_spec_at_the_block_before_the_boundary(upgraded: Upgraded) -> None:
    """polkadot-api keys its runtimes by the hash of `:code`: it must change where the runtime does, and only
    there."""
    codes = [upgraded.call("state_getStorage", CODE, upgraded.hash(n)) for n in range(AT + 3)]
    assert len(set(codes[:AT - 1])) == 1 and len(set(codes[AT - 1:])) == 1 and codes[AT - 2] != codes[AT - 1]
    assert upgraded.call("state_getStorage", CODE) == codes[-1]
    for n in (AT - 2, AT - 1):
        at = upgraded.hash(n)
        code = raw(codes[n])
        version = raw(upgraded.call("state_call", "Core_version", "0x", at))
        metadata = raw(upgraded.call("state_getMetadata", at))
        assert code == version + hashlib.blake2b(metadata, digest_size=32).digest()
        assert upgraded.call("state_getStorageHash", CODE, at) == "0x" + blake2b_256(code).hex()
    hashes = {upgraded.call("state_getStorageHash", CODE, upgraded.hash(n)) for n in (AT - 2, AT - 1)}
    assert len(hashes) == 2


def test_fees_are_weighed_by_the_runtime_of_the_block_the_extrinsic_would_go_in(upgraded: Upgraded) -> None:
    """A call only spec 12 has is priced from the last spec-11 block on (its child runs spec 12), and refused
    before: spec 11 has no such call."""
    new = runtime_of(NEW)
    report = new.call(f"evidence.{NEW_ONLY}", b"a", b"b", ())
    xt = sign_extrinsic(dev_keypair("bob"), report, 0, upgraded.node.chain.genesis_hash, NEW)
    encoded = "0x" + xt.encode().hex()
    length = len(xt.encode()).to_bytes(4, "little").hex()
    before, boundary = upgraded.hash(AT - 2), upgraded.hash(AT - 1)
    for method, args in (("payment_queryInfo", (encoded,)), ("payment_queryFeeDetails", (encoded,)),
                         ("state_call", ("TransactionPaymentApi_query_info", encoded + length))):
        refused(upgraded.node, INVALID_PARAMS, "no call at index", method, *args, before)
        assert upgraded.call(method, *args, boundary)
    assert upgraded.call("payment_queryInfo", encoded, boundary)["weight"]["refTime"] == WEIGHT_WITH_KEYS
    assert upgraded.call("payment_queryInfo", encoded)["weight"]["refTime"] == WEIGHT_WITH_KEYS
    # a transfer, which both specs have, is priced at either
    transfer = sign_extrinsic(dev_keypair("bob"), new.call("balances.transfer_allow_death", ALICE.public, UNIT), 0,
                              upgraded.node.chain.genesis_hash, OLD)
    for at in (before, boundary):
        assert int(upgraded.call("payment_queryInfo", "0x" + transfer.encode().hex(), at)["partialFee"]) > 0


# btt_upgrade, the referendum, the explorer --------------------------------------------------------------------


def test_btt_upgrade_shows_the_schedule_until_it_takes_effect(upgraded: Upgraded) -> None:
    def at(n: int) -> dict[str, Any]:
        found = upgraded.call("btt_upgrade", upgraded.hash(n))
        assert found["blockNumber"] == n and found["blockHash"] == upgraded.hash(n)
        assert found["supported"] == sorted(specs.PACKAGES) and found["migration"] is None
        return dict(found)

    assert at(ENACTED - 1) | {"blockNumber": 0, "blockHash": ""} == {
        "blockNumber": 0, "blockHash": "", "specVersion": OLD, "nextBlockSpec": OLD, "scheduled": None,
        "migration": None, "supported": sorted(specs.PACKAGES)}
    for n in range(ENACTED, AT):
        found = at(n)
        assert found["specVersion"] == OLD and found["nextBlockSpec"] == (NEW if n == AT - 1 else OLD)
        assert found["scheduled"] == {"spec": NEW, "at": AT, "blocksToGo": AT - n, "supported": True}
    for n in (AT, AT + 1):
        found = at(n)
        assert (found["specVersion"], found["nextBlockSpec"], found["scheduled"]) == (NEW, NEW, None)
    assert upgraded.call("btt_upgrade")["blockNumber"] == upgraded.node.chain.head.number


def test_the_referendum_that_scheduled_it_decodes_at_every_block(upgraded: Upgraded) -> None:
    expected = {"name": "system.schedule_spec", "module": runtime_of(OLD).lookup("system.schedule_spec")[0].index,
                "function": runtime_of(OLD).lookup("system.schedule_spec")[1].index, "args": {"spec": NEW, "at": AT}}
    for n in (3, AT - 1, AT + 2):
        assert upgraded.call("btt_referendum", 0, upgraded.hash(n))["call"] == expected
        assert upgraded.call("btt_referenda", None, upgraded.hash(n))[0]["call"] == expected


def test_the_explorer_decodes_each_block_with_its_spec_and_reads_locks_with_the_runtime_at_the_block(
    upgraded: Upgraded,
) -> None:
    node = upgraded.node
    block_spec._known.clear()
    specs_ = block_spec.BlockSpecs(RpcContext(node))
    header = {n: node.chain.db.get_header(raw(upgraded.hash(n))) for n in range(AT + 3)}
    assert [specs_.spec_of(raw(upgraded.hash(n)), header[n]) for n in (0, AT - 1, AT, AT + 1)] == [OLD, OLD, NEW, NEW]
    assert specs_.spec_of(raw(upgraded.hash(2)), header[2]) == OLD  # the fourth read of parent states in this call
    assert specs_.spec_of(raw(upgraded.hash(3)), header[3]) is None  # the budget is spent: not read
    assert specs_.runtime_of(raw(upgraded.hash(3)), header[3]).spec_version == specs.NEWEST  # the newest decodes older
    # calls
    assert specs_.spec_of(raw(upgraded.hash(AT)), header[AT]) == NEW  # kept
    proposal = upgraded.call("btt_explorerBlock", 2)["extrinsicList"]
    assert [x["call"]["name"] for x in proposal] == ["timestamp.set", "governance.propose"]
    assert proposal[1]["call"]["args"]["call"] == {"module": 0, "function": 1, "args": "0x0c00000008000000"}
    for n in (AT - 2, AT + 1):  # dave's vesting lock, by spec 11's lock sources and then by spec 12's
        locks = upgraded.call("btt_explorerLocks", "0x" + dev_keypair("dave").public.hex(), upgraded.hash(n))
        assert [lock["source"] for lock in locks["locks"]] == ["vesting"], locks
        assert locks["frozen"] == locks["locks"][0]["amount"] != "0"
    assert upgraded.call("btt_explorerEvents", ["evidence"], 20)["events"] == []


def test_malformed_and_unknown_blocks_are_refused_clearly(upgraded: Upgraded) -> None:
    node = upgraded.node
    unknown = "0x" + "ab" * 32
    for method, args in (("state_getRuntimeVersion", ()), ("state_getMetadata", ()), ("btt_upgrade", ()),
                         ("btt_callTable", ()), ("state_getStorage", (CODE,)), ("state_call", ("Core_version", "0x"))):
        refused(node, INVALID_PARAMS, "block hash: expected 32 bytes", method, *args, "0x1234")
        refused(node, INVALID_PARAMS, "not valid hex", method, *args, "0x" + "zz" * 32)
        refused(node, INVALID_PARAMS, "expected a 0x-prefixed hex string", method, *args, 7)
        refused(node, INVALID_PARAMS, "expected a 0x-prefixed hex string", method, *args, "ab" * 32)
        refused(node, INVALID_PARAMS, "unknown block", method, *args, unknown)
    refused(node, INVALID_PARAMS, "btt_upgrade takes at most 1 parameters", "btt_upgrade", upgraded.hash(1), 2)


def test_a_node_that_cannot_run_the_next_spec_says_so(upgraded: Upgraded, no_limit: None) -> None:
    """A node limited to spec 11 (standing in for an older release) describes the blocks it can run and refuses the
    runtime at the last spec-11 block with one line naming the spec and what to install, instead of describing a
    runtime it does not have."""
    specs.limit(OLD)
    node = upgraded.node
    before, boundary = upgraded.hash(AT - 2), upgraded.hash(AT - 1)
    assert upgraded.call("state_getRuntimeVersion", before)["specVersion"] == OLD
    for method, args in (("state_getRuntimeVersion", ()), ("state_getMetadata", ()), ("state_getStorage", (CODE,)),
                         ("state_call", ("Core_version", "0x")), ("btt_callTable", ())):
        message = refused(node, UNSUPPORTED_SPEC, "spec 12", method, *args, boundary)
        assert "install a btt-chain release that runs spec 12" in message and "\n" not in message
    shown = upgraded.call("btt_upgrade", upgraded.hash(ENACTED))
    assert shown["supported"] == [OLD] and shown["scheduled"]["supported"] is False
    lines = dict(describe(shown))
    assert lines["scheduled upgrade"] == (f"spec {NEW} at block #{AT} ({AT - ENACTED} blocks to go); this node cannot "
                                          f"run spec {NEW} and stops before block #{AT}: install a btt-chain release "
                                          "that runs it")
    assert lines["this node runs specs"] == str(OLD)
    # what the chain stopped on still reads: the referendum decodes with the spec that ran the block
    assert upgraded.call("btt_referendum", 0, boundary)["call"]["name"] == "system.schedule_spec"


# the CLI --------------------------------------------------------------------------------------------------------


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`btt-chain ARGV` in a worker thread (this loop serves it meanwhile): exit code, stdout, stderr."""
    capsys.readouterr()

    def go() -> int:
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    code = await asyncio.get_running_loop().run_in_executor(None, go)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.asyncio
async def test_btt_chain_query_upgrade(upgraded: Upgraded, capsys: pytest.CaptureFixture[str]) -> None:
    server = RpcServer(upgraded.node, "127.0.0.1", free_port())
    await server.start()
    try:
        code, out, err = await _cli(capsys, "query", "upgrade", "--at", str(ENACTED), "--rpc", server.url)
        assert code == 0, err
        width = len("this node runs specs")
        lines = {line[:width].strip(): line[width + 2:] for line in out.splitlines()}
        assert lines["block"] == f"#{ENACTED} {upgraded.hash(ENACTED)}"
        assert (lines["spec"], lines["next block's spec"]) == (str(OLD), str(OLD))
        assert lines["scheduled upgrade"] == f"spec {NEW} at block #{AT} ({AT - ENACTED} blocks to go)"
        runs = ", ".join(map(str, sorted(specs.PACKAGES)))
        assert (lines["migrations"], lines["this node runs specs"]) == ("none", runs)
        code, out, err = await _cli(capsys, "query", "upgrade", "--json", "--at", upgraded.hash(AT), "--rpc",
                                    server.url)
        assert code == 0, err
        assert json.loads(out) == upgraded.call("btt_upgrade", upgraded.hash(AT))
        code, out, _ = await _cli(capsys, "query", "upgrade", "--rpc", server.url)
        assert "scheduled upgrade     none\n" in out and f"next block's spec     {NEW}\n" in out
        for argv, fragment in ((["--at", "soon"], "neither a block number nor a 0x block hash"),
                               (["--at", "999999"], "no block #999999"),
                               (["--at", "0x12"], "block hash: expected 32 bytes"),
                               (["--at", "0x" + "ab" * 32], "unknown block")):
            code, _, err = await _cli(capsys, "query", "upgrade", *argv, "--rpc", server.url)
            assert_one_error_line(code, err, fragment)
    finally:
        await server.stop()


def test_query_upgrade_without_a_node_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "query", "upgrade", "--rpc", f"http://127.0.0.1:{free_port()}")
    assert_one_error_line(code, err, "cannot reach a node")


# the subscription -----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_runtime_version_subscription_announces_the_new_spec_once_at_the_boundary(tmp_path: Path) -> None:
    """Subscribed to the runtime version, `:code` and new heads on one connection: the version comes first (11),
    then again once, with the head that is the last spec-11 block (its child runs 12), together with the new
    `:code`; never again after."""
    node = born_at_11(tmp_path)
    server = RpcServer(node, "127.0.0.1", free_port())
    try:
        schedule_by_referendum(node)
        await server.start()
        async with aiohttp.ClientSession() as session, session.ws_connect(server.url) as ws:
            async def receive() -> dict[str, Any]:
                msg = await ws.receive(timeout=10)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                return json.loads(msg.data)  # type: ignore[no-any-return]

            subscriptions = {}
            for i, (method, params) in enumerate((("state_subscribeRuntimeVersion", []),
                                                  ("state_subscribeStorage", [[CODE]]),
                                                  ("chain_subscribeNewHeads", []))):
                await ws.send_json({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
                reply = await receive()
                subscriptions[reply["result"]] = method
                first = await receive()
                assert first["params"]["subscription"] == reply["result"]
                if method == "state_subscribeRuntimeVersion":
                    assert first["params"]["result"]["specVersion"] == OLD
            versions: list[tuple[int, int]] = []
            codes: list[tuple[int, str]] = []
            while node.chain.head.number < AT + 3:
                author(node)
                number = node.chain.head.number
                while True:  # this block's notes, up to its new head
                    note = await receive()
                    kind = subscriptions[note["params"]["subscription"]]
                    result = note["params"]["result"]
                    if kind == "chain_subscribeNewHeads":
                        assert int(result["number"], 16) == number
                        break
                    if kind == "state_subscribeRuntimeVersion":
                        versions.append((number, result["specVersion"]))
                    else:
                        codes.append((number, result["changes"][0][1]))
            assert versions == [(AT - 1, NEW)]
            assert [n for n, _ in codes] == [AT - 1]
            assert codes[0][1] == call(node, "state_getStorage", CODE)
    finally:
        await server.stop()
        node.close()
