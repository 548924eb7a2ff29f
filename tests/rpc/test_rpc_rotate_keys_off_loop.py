"""`author_rotateKeys` never stalls the node (issue 49, finding 7): the new key's hash chain is built in a child
process while the server goes on answering (another call is answered while the build is held running), its
commitment is the one this process computes itself, a full builder answers "busy" (-32001) at once with no key made,
a failed build leaves no key, `author_insertKey` builds the inserted key's chain ahead the same way,
`btt_sessionKeysProof` proves only keys whose commitment ends the key's chain (building it off the loop if need be),
and `btt_localSessionKeys` names the validator each held key signs for. The RPC server is driven in-process; ordering is
asserted by events (a child held at a gate), never by the clock."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from btt_chain.node.hash_chain_builder import HashChainBuilder, builder_of, use_builder
from btt_chain.node.keystore import DIRECTORY as KEYSTORE_DIR
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives import ed25519
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hash_chain import HashChain, cached_hash_chain, hash_chain_seed
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.errors import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, SERVER_BUSY
from btt_chain.rpc.protocol import Dispatcher
from btt_chain.rpc.registry import RpcContext
from btt_chain.rpc.server import RpcServer
from runtime.session.types import SessionKeys
from tests.support.gated_builder import children_at, gated_builder, let_through, open_gate, wait_for

from .conftest import dev_harness
from .harness import RpcHarness, free_port

ALICE = dev_keypair("alice")
SHORT = 4096
"""The test chain's `consensus.hash_chain_length` (the dev preset's 2**20 costs 0.45 s a build; one test keeps it)."""


def short_chain_spec(directory: Path) -> Path:
    """The dev preset with hash chains of SHORT reveals."""
    from genesis.loader import canonical_json, load_chain_spec_doc

    doc = copy.deepcopy(load_chain_spec_doc("dev"))
    doc["consensus"]["hash_chain_length"] = SHORT
    path = directory / "dev-short-chains.json"
    path.write_bytes(canonical_json(doc))
    return path


async def serve(node: Node, unsafe: bool = True) -> AsyncIterator[RpcHarness]:
    server = RpcServer(node, "127.0.0.1", node.config.rpc_port or free_port(), unsafe=unsafe)
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            yield RpcHarness(node, server, session, ALICE)
    finally:
        await server.stop()
        node.close()


@pytest_asyncio.fixture
async def short(tmp_path: Path) -> AsyncIterator[RpcHarness]:
    """A dev node (alice's key) with short hash chains, its unsafe methods served to loopback."""
    node = Node(NodeConfig(chain=str(short_chain_spec(tmp_path)), base_path=None, tmp=True, validator_key=ALICE,
                           rpc_port=free_port()))
    async for harness in serve(node):
        yield harness


def key_files(node: Node) -> list[str]:
    """The files in the node's keystore directory (alice's `--key` is held in memory only)."""
    return sorted(p.name for p in (node.data_dir / KEYSTORE_DIR).glob("*"))


async def call_as(rpc: RpcHarness, request_id: int, method: str) -> str:
    """One call under its own id (the harness's `call` numbers calls one after another: not for calls at once)."""
    status, body = await rpc.post({"jsonrpc": "2.0", "id": request_id, "method": method, "params": []})
    assert status == 200 and body["id"] == request_id and "result" in body, body
    return str(body["result"])


def decode(answer: str) -> SessionKeys:
    return SessionKeys.decode(bytes.fromhex(answer[2:]))


@pytest.mark.asyncio
async def test_the_commitment_is_the_one_this_process_computes_at_the_dev_length() -> None:
    async for rpc in dev_harness(unsafe=True):
        node = rpc.node
        length = node.chain.genesis.spec.consensus.hash_chain_length
        assert length == 2**20
        keys = decode(await rpc.call("author_rotateKeys"))
        pair = node.keys.get(keys.session_key)
        assert pair is not None and builder_of(node).built == 1
        own = HashChain(hash_chain_seed(pair.seed, 0), length)  # built here, from the definition
        assert keys.hash_chain_commitment == own.commitment
        held = cached_hash_chain(pair.seed, length, 0)  # the child's chain is kept: the first block builds nothing
        assert held is not None and held.checkpoints == own.checkpoints and held.reveal(1) == own.reveal(1)


@pytest.mark.asyncio
async def test_the_server_answers_other_calls_while_a_build_runs_in_another_process(
    short: RpcHarness, tmp_path: Path,
) -> None:
    rpc, node = short, short.node
    gate = tmp_path / "gate"
    builder = gated_builder(gate)
    use_builder(node, builder)
    events: list[str] = []

    async def rotate() -> str:
        answer = await call_as(rpc, 1000, "author_rotateKeys")
        events.append("rotated")
        return answer

    rotating = asyncio.create_task(rotate())
    await wait_for(lambda: builder.running is not None, "the build's child")
    child = builder.running
    assert child is not None and child != os.getpid() and children_at(gate) == [child]
    events.append("building")
    head = await rpc.call("chain_getHeader")  # the loop serves while the child builds (held at the gate)
    events.append("answered")
    assert head["number"] == "0x0" and not rotating.done() and builder.running == child
    await open_gate(gate)
    keys = decode(await rotating)
    assert events == ["building", "answered", "rotated"]
    pair = node.keys.get(keys.session_key)
    assert pair is not None and keys.hash_chain_commitment == HashChain(hash_chain_seed(pair.seed, 0), SHORT).commitment
    assert children_at(gate) == [] and builder.running is None


@pytest.mark.asyncio
async def test_a_full_builder_answers_busy_at_once_and_makes_no_key(short: RpcHarness, tmp_path: Path) -> None:
    rpc, node = short, short.node
    gate = tmp_path / "gate"
    builder = gated_builder(gate, max_waiting=1)
    use_builder(node, builder)
    before = set(node.keys.publics())
    first = asyncio.create_task(call_as(rpc, 1000, "author_rotateKeys"))
    second = asyncio.create_task(call_as(rpc, 1001, "author_rotateKeys"))
    await wait_for(lambda: builder.pending == 2 and builder.running is not None, "one build running, one waiting")
    assert set(node.keys.publics()) == before  # a key is kept only once its chain is built
    for _ in range(2):
        refused = await rpc.assert_raises_rpc_error(SERVER_BUSY, "busy", "author_rotateKeys")
        assert "try again" in refused.message
    assert set(node.keys.publics()) == before and builder.pending == 2 and key_files(node) == []
    await let_through(builder, gate)
    await let_through(builder, gate)
    made = [decode(a).session_key for a in await asyncio.gather(first, second)]
    assert set(node.keys.publics()) == before | set(made) and len(set(made)) == 2
    assert builder.built == 2 and builder.pending == 0


@pytest.mark.asyncio
async def test_a_failed_build_is_an_error_and_leaves_no_key(short: RpcHarness) -> None:
    rpc, node = short, short.node
    use_builder(node, HashChainBuilder(command=(sys.executable, "-c", "raise SystemExit('out of memory')")))
    before = set(node.keys.publics())
    failed = await rpc.assert_raises_rpc_error(INTERNAL_ERROR, "out of memory", "author_rotateKeys")
    assert "no key was made" in failed.message
    assert set(node.keys.publics()) == before and key_files(node) == []


@pytest.mark.asyncio
async def test_an_inserted_key_has_its_chain_built_ahead_off_the_loop(short: RpcHarness) -> None:
    rpc, node = short, short.node
    pair = Keypair.generate()
    assert await rpc.call("author_insertKey", "sess", "0x" + pair.seed.hex(), "0x" + pair.public.hex()) is None
    held = cached_hash_chain(pair.seed, SHORT, 0)
    assert held is not None and held.commitment == HashChain(hash_chain_seed(pair.seed, 0), SHORT).commitment
    assert builder_of(node).built == 1 and pair.public in node.keys


@pytest.mark.asyncio
async def test_local_session_keys_name_the_validator_each_key_signs_for(short: RpcHarness) -> None:
    rpc, node = short, short.node
    prefix = node.spec.ss58_prefix
    keys = decode(await rpc.call("author_rotateKeys"))
    listed = {k["sessionKey"]: k["account"] for k in await rpc.call("btt_localSessionKeys")}
    assert listed == {"0x" + ALICE.public.hex(): encode_address(ALICE.public, prefix),  # --key: alice's
                      "0x" + keys.session_key.hex(): None}  # a key the chain does not know yet


@pytest.mark.asyncio
async def test_local_session_keys_are_not_served_without_unsafe_methods(tmp_path: Path) -> None:
    node = Node(NodeConfig(chain=str(short_chain_spec(tmp_path)), base_path=None, tmp=True, validator_key=ALICE,
                           rpc_port=free_port()))
    async for rpc in serve(node, unsafe=False):
        for name in ("btt_localSessionKeys", "author_rotateKeys"):
            await rpc.assert_raises_rpc_error(METHOD_NOT_FOUND, name, name)
        assert builder_of(node).built == 0 and list(node.keys.publics()) == [ALICE.public]


def test_the_sync_dispatcher_refuses_a_later_answer_and_starts_nothing(tmp_path: Path) -> None:
    node = Node(NodeConfig(chain=str(short_chain_spec(tmp_path)), base_path=None, tmp=True, validator_key=ALICE,
                           rpc_port=free_port()))
    try:
        request = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "author_rotateKeys", "params": []})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a coroutine left unawaited would warn
            reply = json.loads(Dispatcher().handle(request, RpcContext(node, unsafe_allowed=True)) or "")
        assert reply["id"] == 7 and reply["error"]["code"] == INTERNAL_ERROR
        assert "answers later" in reply["error"]["message"]
        assert list(node.keys.publics()) == [ALICE.public] and builder_of(node).built == 0
    finally:
        node.close()



@pytest.mark.asyncio
async def test_a_proof_is_given_only_for_keys_whose_commitment_ends_the_keys_chain(
    short: RpcHarness, tmp_path: Path,
) -> None:
    rpc, node = short, short.node
    held, fresh = Keypair.generate(), Keypair.generate()
    owner = "0x" + ALICE.public.hex()
    right = SessionKeys(held.public, HashChain(hash_chain_seed(held.seed, 0), SHORT).commitment)
    wrong = SessionKeys(held.public, HashChain(hash_chain_seed(held.seed, 0), 2 * SHORT).commitment)  # another length
    assert await rpc.call("author_insertKey", "sess", "0x" + held.seed.hex(), "0x" + held.public.hex()) is None
    refused = await rpc.assert_raises_rpc_error(INVALID_PARAMS, "keys: the commitment", "btt_sessionKeysProof",
                                                "0x" + wrong.encode().hex(), owner)
    assert "could never reveal" in refused.message
    proof = bytes.fromhex((await rpc.call("btt_sessionKeysProof", "0x" + right.encode().hex(), owner))[2:])
    assert ed25519.verify(held.public, right.ownership_message(ALICE.public), proof)
    # a key put in the keystore without its chain: the proof builds it (off the loop) and keeps it
    node.keys.insert(fresh)
    fresh_keys = SessionKeys(fresh.public, HashChain(hash_chain_seed(fresh.seed, 0), SHORT).commitment)
    built = builder_of(node).built
    await rpc.call("btt_sessionKeysProof", "0x" + fresh_keys.encode().hex(), owner)
    assert builder_of(node).built == built + 1 and cached_hash_chain(fresh.seed, SHORT, 0) is not None
    # with the builder full, a key whose chain is held is still proved; one whose chain is not is told to try again
    gate = tmp_path / "gate"
    builder = gated_builder(gate, max_waiting=0)
    use_builder(node, builder)
    rotating = asyncio.create_task(call_as(rpc, 1000, "author_rotateKeys"))
    await wait_for(lambda: builder.running is not None, "a build running")
    await rpc.call("btt_sessionKeysProof", "0x" + right.encode().hex(), owner)
    stranger = Keypair.generate()
    node.keys.insert(stranger)
    await rpc.assert_raises_rpc_error(SERVER_BUSY, "busy", "btt_sessionKeysProof",
                                      "0x" + SessionKeys(stranger.public, bytes(32)).encode().hex(), owner)
    await let_through(builder, gate)
    await rotating
