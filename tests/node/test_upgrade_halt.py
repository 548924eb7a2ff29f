"""A node that cannot follow an upgrade (issue 50, "operators are never surprised").

A node limited to spec 11 (`--max-spec 11`, standing in for an older release) on a chain that schedules spec 12 says
so once, from the moment the schedule is in its best chain (a WARNING line, `/health`, the metrics), and stops before
the upgrade's block with one ERROR line naming the spec and what to install: it blames nobody for the block (no ban,
no penalty), imports and authors nothing more, never writes a thing of the new spec, and starts again from its last
block once a release that runs the spec is installed. A failing migration stops a node the same way, the line naming
the spec, the migration and why. The node, chain and network code are the real ones; the peer is in-process.

The schedule is written into the genesis state, exactly as the emergency referendum writes it
(`system.scheduled_spec`): a referendum takes many blocks, and the node reads only the state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import runtime.specs
from btt_chain.node import service
from btt_chain.node.chain import Chain
from btt_chain.node.health import get_health
from btt_chain.node.metrics import NodeMetrics
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, NodeConfig, now_ms
from btt_chain.node.upgrades import UpgradeHalt
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.build import Genesis, build_genesis
from genesis.loader import as_of_spec, load_chain_spec, materialise, parse_chain_spec
from runtime import specs
from runtime.migration import Migration
from runtime.overlay import DictState, Overlay
from runtime.system import storage as system
from runtime.system.types import ScheduledSpec
from storage.memory import MemoryStore
from storage.state_tree import leaf_records, tree_root
from tests.node.test_future_blocks import recent_genesis_ms, write_spec
from tests.support.long_range import FakeP2P, RemotePeer, block_gossip
from tests.support.node_builder import author_next, block_bytes, transfer

OLD, NEW = 11, 12
AT = 4
"""The block the schedule names: the first to run under spec 12."""
PEER = "12D3KooWNewerPeer"
FAST_SLOT_MS = 200
"""Slots of the chain a validator authors in real time (the upgrade is a few of them away)."""
WAIT_LIMIT_S = 60.0
INSTALL = "install a btt-chain release that runs spec 12"


@pytest.fixture(autouse=True)
def no_limit() -> Iterator[None]:
    yield
    specs.limit(None)


def scheduling(genesis: Genesis, spec: int, at: int) -> Genesis:
    """`genesis` with `spec` scheduled at block `at` in its state (what the referendum leaves)."""
    state = dict(genesis.state)
    view = Overlay(DictState(state))
    system.scheduled_spec.put(view, ScheduledSpec(spec, at))
    for key, value in view.changes().items():
        assert value is not None
        state[key] = value
    leaves = leaf_records(state)
    header = genesis.block.header.replace(state_root=tree_root(leaves))
    return Genesis(genesis.spec, genesis.spec_json, state, leaves, Block(header, ()))


class Setup:
    """A spec-11 dev chain scheduling spec 12 at block AT: an authoring chain that runs every spec (the network),
    and nodes on the same genesis under `tmp_path`."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slot_ms: int | None = None) -> None:
        raw = as_of_spec(load_chain_spec("dev").raw, 11)  # born at spec 11
        if slot_ms is not None:
            raw["consensus"] = {**raw["consensus"], "slot_ms": slot_ms, "max_drift_ms": slot_ms // 2}
        doc = materialise(raw, recent_genesis_ms())
        self.spec_file = write_spec(tmp_path / "spec.json", doc)
        self.base = tmp_path / "node"
        self.genesis = genesis = scheduling(build_genesis(parse_chain_spec(doc)), NEW, AT)
        monkeypatch.setattr(service, "build_genesis", lambda _spec: genesis)
        self.author = Chain(MemoryStore(), genesis)
        self.nodes: list[Node] = []

    def author_to(self, number: int) -> list[bytes]:
        """Blocks 1..number of the network's chain (the author runs spec 12 from block AT)."""
        while self.author.head.number < number:
            author_next(self.author)
        return [block_bytes(self.author, n) for n in range(1, number + 1)]

    def node(self, validator: str | None = None) -> Node:
        key = None if validator is None else dev_keypair(validator)
        node = Node(NodeConfig(chain=str(self.spec_file), base_path=self.base, tmp=False, validator_key=key,
                               validator=key is not None, p2p_port=None, doppelganger_epochs=0))
        self.nodes.append(node)
        return node

    def close(self) -> None:
        for node in self.nodes:
            node.close()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    s = Setup(tmp_path, monkeypatch)
    try:
        yield s
    finally:
        s.close()


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def gauges(node: Node) -> dict[str, float]:
    metrics = NodeMetrics()
    metrics.attach(node)
    found = {}
    for line in metrics.render().decode().splitlines():
        name = line.split("{")[0]
        if name.startswith(("btt_upgrade_", "btt_spec_")):
            found[name] = float(line.rsplit(" ", 1)[1])
    return found


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]


def bridge_of(node: Node, peers: dict[str, RemotePeer] | None = None) -> tuple[NetworkBridge, FakeP2P]:
    p2p = FakeP2P(peers or {})
    return NetworkBridge(node, p2p, now_ms), p2p  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ a spec it does not run


async def test_a_node_limited_to_spec_11_warns_once_then_stops_before_the_block_blaming_nobody(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "btt")
    blocks = setup.author_to(AT + 1)
    specs.limit(OLD)
    node = setup.node()
    [warning] = lines(caplog, logging.WARNING)  # said from the start: the schedule is in its best chain
    assert f"spec 12 is scheduled at block #{AT}, {AT} blocks from the head #0" in warning and INSTALL in warning
    healthy, body = get_health(node)
    assert healthy and body["halted"] is None and (body["specVersion"], body["specs"]) == (OLD, [OLD])
    assert body["upgrade"] == {"spec": NEW, "at": AT, "supported": False, "blocksToGo": AT}
    assert gauges(node) == {"btt_spec_version": 11, "btt_spec_newest_supported": 11, "btt_upgrade_scheduled_spec": 12,
                            "btt_upgrade_scheduled_block": AT, "btt_upgrade_supported": 0, "btt_upgrade_halted": 0}

    bridge, p2p = bridge_of(node)
    for raw in blocks[:AT - 2]:
        assert await bridge._import_from(PEER, raw, via="gossip") is True
    assert node.chain.halt is None and len(lines(caplog, logging.WARNING)) == 1  # not said again per block
    assert await bridge._import_from(PEER, blocks[AT - 2], via="gossip") is True
    # at the block before the upgrade it stops: the next block needs spec 12
    [error] = lines(caplog, logging.ERROR)
    assert f"stopped at block #{AT - 1}" in error and f"block #{AT} cannot be executed" in error
    assert "spec 12" in error and INSTALL in error
    for raw in blocks[AT - 1:]:  # the upgrade's block and the one after: refused unjudged, nobody blamed
        assert await bridge._import_from(PEER, raw, via="gossip") is None
        assert await bridge._on_block_gossip(PEER, block_gossip(Block.decode(raw))) is None
    assert p2p.banned == {} and p2p.penalised == []
    assert node.chain.head.number == AT - 1 and node.upgrades.head_spec == OLD
    assert len(lines(caplog, logging.ERROR)) == 1
    assert_no_traceback(caplog)
    healthy, body = get_health(node)
    assert not healthy and body["best"] == AT - 1
    assert body["halted"] == {"block": AT, "spec": NEW, "migration": None, "message": node.chain.halt.describe()}
    assert gauges(node)["btt_upgrade_halted"] == 1
    with pytest.raises(InvalidExtrinsic, match="the next block runs spec 12, which this node cannot run"):
        node.pool.submit(transfer(node.chain, "alice", "bob", 1).encode())
    with pytest.raises(UpgradeHalt):  # nor does it author
        node.chain.author_block(node.chain.head.slot + 1, dev_keypair("alice"), [])
    assert node.chain.head.number == AT - 1

    # the operator installs a release that runs spec 12: the node goes on from its last block
    node.close()
    specs.limit(None)
    caplog.clear()
    again = setup.node()
    assert again.chain.halt is None and again.chain.head.number == AT - 1
    for raw in blocks[AT - 1:]:
        again.import_block(raw)
    assert again.chain.head_hash == setup.author.head_hash and again.upgrades.head_spec == NEW
    assert get_health(again)[1]["upgrade"] is None and lines(caplog, logging.WARNING) == []


async def test_sync_from_a_peer_stops_quietly_at_the_block_and_fetches_nothing_more(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "btt")
    setup.author_to(AT + 3)
    specs.limit(OLD)
    node = setup.node()
    peer = RemotePeer(setup.author)  # serves the four-field status of an older release
    bridge, p2p = bridge_of(node, {PEER: peer})
    await bridge.sync_once()
    assert node.chain.head.number == AT - 1 and node.chain.halt is not None and node.chain.halt.number == AT
    assert p2p.banned == {} and p2p.penalised == []
    assert ("sync/status", b"\x91\x01") in peer.requests  # it asks for the spec fields; the older peer ignores it
    peer.requests.clear()
    await bridge.sync_once()
    assert not [r for r in peer.requests if r[0] in ("sync/blocks", "sync/block")]  # stopped: fetches nothing more
    assert len(lines(caplog, logging.ERROR)) == 1 and len(lines(caplog, logging.WARNING)) == 1
    assert_no_traceback(caplog)


def test_the_chain_refuses_the_block_unjudged_changes_nothing_and_takes_it_under_a_release_that_runs_it(
        setup: Setup) -> None:
    blocks = setup.author_to(AT + 1)
    specs.limit(OLD)
    kv = MemoryStore()
    chain = Chain(kv, setup.genesis)
    heard: list[Any] = []
    chain.on_halt(heard.append)
    for raw in blocks[:AT - 1]:
        chain.import_block(raw, now_ms())
    head, root = chain.head_hash, chain.head.state_root
    with pytest.raises(UpgradeHalt, match=f"block #{AT} cannot be executed.*spec 12 from block {AT}.*{INSTALL}"):
        chain.import_block(blocks[AT - 1], now_ms())  # executed: its spec is one this node does not run
    assert [h.number for h in heard] == [AT] and chain.halt is not None and chain.halt.spec == NEW
    with pytest.raises(UpgradeHalt):
        chain.import_block(blocks[AT - 1], now_ms())  # again: refused before anything, not heard of twice
    with pytest.raises(UpgradeHalt):
        chain.import_block(blocks[AT], now_ms())  # above it, even with its parent unknown
    assert len(heard) == 1
    assert (chain.head_hash, chain.head.state_root) == (head, root)
    assert not chain.knows(Block.decode(blocks[AT - 1]).hash())  # stored nowhere, remembered as bad nowhere

    specs.limit(None)  # a release that runs spec 12, on the same database
    later = Chain(kv, setup.genesis)
    assert later.import_block(blocks[AT - 1], now_ms()).status == "best"
    assert later.import_block(blocks[AT], now_ms()).status == "best"


async def test_a_node_restarted_with_an_older_release_past_the_upgrade_starts_stopped_and_serves_rpc(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    import aiohttp

    from btt_chain.rpc.server import RpcServer

    caplog.set_level(logging.INFO, "btt")
    blocks = setup.author_to(AT + 1)
    node = setup.node()
    for raw in blocks:
        node.import_block(raw)
    assert node.upgrades.head_spec == NEW and lines(caplog, logging.WARNING) == []
    node.close()
    specs.limit(OLD)
    again = setup.node()  # it starts, serves its last block, and says why it goes no further
    [error] = lines(caplog, logging.ERROR)
    assert f"stopped at block #{AT + 1}" in error and "the chain runs spec 12, which this node cannot run" in error
    assert again.chain.head.number == AT + 1 and again.chain.halt is not None
    server = RpcServer(again, "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/health") as resp:
                assert resp.status == 503 and (await resp.json())["halted"]["block"] == AT + 2
            call = {"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}
            async with session.post(server.url, json=call) as resp:
                assert int((await resp.json())["result"]["number"], 16) == AT + 1  # its last block
    finally:
        await server.stop()
    assert_no_traceback(caplog)


def test_a_peer_whose_head_runs_a_spec_this_node_cannot_is_said_once_and_never_blamed(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    from btt_chain.node.sync import PeerStatus

    caplog.set_level(logging.INFO, "btt")
    specs.limit(OLD)
    node = setup.node()
    caplog.clear()
    h = bytes(32)
    older, same = PeerStatus(9, h, 0, h), PeerStatus(9, h, 0, h, OLD, (OLD,))
    newer = PeerStatus(9, h, 0, h, NEW, (NEW,))
    for status in (older, same, newer, newer):
        node.upgrades.observe_peer("12D3KooWA", status)
    node.upgrades.observe_peer("12D3KooWB", PeerStatus(10, h, 0, h, NEW, (NEW,)))
    [warning] = lines(caplog, logging.WARNING)
    assert "12D3KooWA"[-8:] in warning and "runs spec 12, which this node cannot run" in warning and INSTALL in warning


# ------------------------------------------------------------------------------------------ a failing migration


def _failing_step(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    raise ValueError("a record it cannot read")


@pytest.fixture
def failing_migration(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Give spec 12 one migration that raises (on every node that runs this release: the chain stops)."""
    def install() -> None:
        original = runtime.specs.runtime_of
        failing = replace(original(NEW), migrations=(Migration("session", 0, 1, "test: fails", _failing_step, 40,
                                                               lambda s: 1),), storage_versions={"session": 1})
        monkeypatch.setattr(runtime.specs, "runtime_of", lambda spec: failing if spec == NEW else original(spec))
    return install


async def test_a_failing_migration_stops_the_node_before_its_block_with_one_line_blaming_nobody(
        setup: Setup, failing_migration: Callable[[], None], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "btt")
    blocks = setup.author_to(AT + 1)  # by a release whose migration runs
    failing_migration()
    node = setup.node()
    bridge, p2p = bridge_of(node)
    for raw in blocks[:AT - 1]:
        assert await bridge._import_from(PEER, raw, via="gossip") is True
    assert node.chain.halt is None and lines(caplog, logging.WARNING) == []  # spec 12 is one it runs
    assert await bridge._import_from(PEER, blocks[AT - 1], via="gossip") is None
    [error] = lines(caplog, logging.ERROR)
    assert "spec 12's migration 'test: fails' failed: ValueError: a record it cannot read" in error
    assert f"stopped at block #{AT - 1}" in error and "nothing forks" in error
    assert await bridge._import_from(PEER, blocks[AT], via="gossip") is None
    assert p2p.banned == {} and p2p.penalised == [] and len(lines(caplog, logging.ERROR)) == 1
    assert node.chain.head.number == AT - 1 and node.upgrades.head_spec == OLD
    assert get_health(node)[1]["halted"]["migration"] == "test: fails"
    assert_no_traceback(caplog)


async def test_a_validator_whose_migration_fails_stops_authoring_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_migration: Callable[[], None],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "btt")
    setup = Setup(tmp_path, monkeypatch, slot_ms=FAST_SLOT_MS)
    failing_migration()
    node = setup.node(validator="alice")
    clock = node.chain.clock
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT_S
    authoring = asyncio.create_task(node._author_loop())  # its slots, as the running node's
    try:
        while node.chain.halt is None:
            assert loop.time() < deadline and not authoring.done(), "the validator did not reach the upgrade"
            await asyncio.sleep(0.02)
        stopped_in = clock.slot_at(now_ms())
        while clock.slot_at(now_ms()) < stopped_in + 3:  # three more of its slots go by
            assert loop.time() < deadline and not authoring.done()
            await asyncio.sleep(0.02)
    finally:
        authoring.cancel()
        await asyncio.gather(authoring, return_exceptions=True)
        node.close()
    assert node.chain.head.number == AT - 1
    [error] = lines(caplog, logging.ERROR)
    assert "spec 12's migration 'test: fails' failed" in error and f"block #{AT} cannot be executed" in error
    assert_no_traceback(caplog)


def test_a_validator_whose_migration_fails_authors_nothing_and_writes_nothing(
        setup: Setup, failing_migration: Callable[[], None]) -> None:
    failing_migration()
    chain = setup.author
    while chain.head.number < AT - 1:
        author_next(chain)
    head, root = chain.head_hash, chain.head.state_root
    with pytest.raises(UpgradeHalt, match="migration 'test: fails' failed") as stopped:
        author_next(chain)
    assert stopped.value.halt.number == AT and stopped.value.halt.migration == "test: fails"
    assert (chain.head_hash, chain.head.state_root, chain.tree.root) == (head, root, root)
    with pytest.raises(UpgradeHalt):
        author_next(chain)


# ------------------------------------------------------------------------------------------ the operator's block tools


def test_import_blocks_and_check_block_stop_at_the_block_with_one_line(
        setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import genesis.build
    from btt_chain.node.block_io import export_blocks
    from tests.support.cli_runner import assert_one_error_line, run

    setup.author_to(AT + 1)
    exported = tmp_path / "blocks.bin"
    with exported.open("wb") as out:
        export_blocks(setup.author, out, 1, None)
    monkeypatch.setattr(genesis.build, "build_genesis", lambda _spec, _config=None: setup.genesis)
    where = ("--chain", str(setup.spec_file), "--base-path", str(setup.base))
    specs.limit(OLD)  # an older release
    code, _, err = run(capsys, "import-blocks", *where, str(exported))
    assert_one_error_line(code, err, f"block #{AT} cannot be executed by this node: the chain runs spec 12")
    assert INSTALL in err
    code, _, err = run(capsys, "check-block", *where, str(AT - 1))  # what it imported stays, and checks
    assert code == 0, err
    specs.limit(None)  # the release that runs spec 12 goes on from there
    code, _, err = run(capsys, "import-blocks", *where, str(exported))
    assert code == 0 and f"#{AT + 1}" in err, err
    specs.limit(OLD)
    code, _, err = run(capsys, "check-block", *where, str(AT))
    assert_one_error_line(code, err, f"block #{AT} cannot be executed by this node")
    assert "spec 12" in err and INSTALL in err
