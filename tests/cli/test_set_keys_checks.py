"""`btt-chain set-keys` checks everything it can before the signing node makes a key (issue 49, finding 7): a stash
that is no registered validator, or cannot pay the fee, a `--node-rpc` on another chain, and a `--node-rpc` that
already holds a session key the chain gives to another validator (one process would sign for two) are each refused
in one line, and then the node's keystore holds no new key, its builder built nothing, nothing was submitted, and
`author_rotateKeys` was never called (every JSON-RPC call the command makes is recorded). An unreachable
`--node-rpc` is named as such. The good path sets the key, and then the same node is refused to the
next validator. In-process dev nodes served over RPC; the command runs in a thread while the test authors blocks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.client.rpc import RpcClient
from btt_chain.node.hash_chain_builder import builder_of
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hash_chain import HashChain, hash_chain_seed
from btt_chain.primitives.keys import Keypair, dev_keypair
from cli.main import main
from runtime.bonds import storage as bonds
from tests.functional.framework import free_port
from tests.rpc.harness import RpcHarness
from tests.rpc.test_rpc_rotate_keys_off_loop import SHORT, key_files, serve, short_chain_spec
from tests.support.cli_runner import assert_one_error_line, run_authoring
from tests.support.session_proof import registration

UNIT = 10**18
"""A bound on one command (its own wait for inclusion is 60 s): only a hung test reaches it."""
ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")
CALLS: list[tuple[str, str]] = []
"""Every JSON-RPC call the commands of the running test made: (the option naming the node, method)."""
CHECKS = ("btt_bonds", "btt_dryRun", "chain_getBlockHash", "btt_validators", "btt_localSessionKeys")
"""What set-keys asks before it may ask the signing node for a key."""
MAKES_A_KEY = "author_rotateKeys"
"""What a refused set-keys must never have asked (a key left in the keystore, a hash chain built for nothing)."""


@pytest.fixture(autouse=True)
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every call the light client's RpcClient makes (the command runs in a thread: a class attribute)."""
    CALLS.clear()
    real = RpcClient.call

    def call(self: RpcClient, method: str, *params: Any) -> Any:
        CALLS.append((self.option, method))
        return real(self, method, *params)

    monkeypatch.setattr(RpcClient, "call", call)


@pytest_asyncio.fixture
async def keyless(tmp_path: Path) -> AsyncIterator[RpcHarness]:
    """A dev node (short hash chains) with an empty keystore and unsafe methods on loopback, on which bob is a
    registered validator (not yet in the active set); the test authors its blocks as alice."""
    node = Node(NodeConfig(chain=str(short_chain_spec(tmp_path)), base_path=None, tmp=True, validator_key=None,
                           rpc_port=free_port()))
    async for rpc in serve(node):
        first = Keypair.generate()
        commitment = HashChain(hash_chain_seed(first.seed, 0), SHORT).commitment
        await rpc.submit_in_block(BOB, "bonds.bond", 10_000 * UNIT)
        await rpc.submit_in_block(BOB, "bonds.register_validator", *registration(first, BOB.public, commitment))
        assert registered_key(rpc, BOB) == first.public and not list(node.keys)
        yield rpc


def registered_key(rpc: RpcHarness, who: Keypair) -> bytes | None:
    reg = bonds.validators.get(rpc.node.chain.state(), who.public)
    return None if reg is None else reg.session_key


def address(rpc: RpcHarness, who: Keypair) -> str:
    return encode_address(who.public, rpc.node.spec.ss58_prefix)


async def set_keys(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], sender: str, node_rpc: str | None = None,
                   *extra: str) -> tuple[int, str, str]:
    """`btt-chain set-keys --from SENDER --node-rpc NODE_RPC --rpc URL ...`: (exit code, stdout, stderr)."""
    return await run_authoring(rpc, capsys, "set-keys", "--from", sender, "--node-rpc", node_rpc or rpc.url,
                               "--rpc", rpc.url, *extra)


class Untouched:
    """What a refused set-keys must leave as it was: the node's keys (in memory and on disk), its builder's count,
    the pool, the head, and bob's registration."""

    def __init__(self, rpc: RpcHarness) -> None:
        self.rpc = rpc
        self.before = self.snapshot()
        self.calls = len(CALLS)

    def snapshot(self) -> tuple[Any, ...]:
        node = self.rpc.node
        return (sorted(node.keys.publics()), key_files(node), builder_of(node).built, len(node.pool),
                node.chain.head_hash, registered_key(self.rpc, BOB))

    def check(self) -> None:
        assert self.snapshot() == self.before, "a refused set-keys changed something"
        asked = [method for _, method in CALLS[self.calls:]]
        assert asked, "the command asked nothing: the refusal was not the one under test"
        assert MAKES_A_KEY not in asked, f"a refused set-keys asked {asked}"


@pytest.mark.asyncio
async def test_a_stash_that_is_no_validator_is_refused_before_any_key(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    untouched = Untouched(keyless)
    code, _, err = await set_keys(keyless, capsys, "charlie")
    assert_one_error_line(code, err, f"{address(keyless, dev_keypair('charlie'))} (--from) is not a registered "
                                     "validator")
    assert "nothing was made or submitted" in err
    untouched.check()


@pytest.mark.asyncio
async def test_a_validator_that_cannot_pay_the_fee_is_refused_before_any_key(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    await keyless.submit_in_block(BOB, "balances.transfer_all", dev_keypair("ferdie").public, False)
    untouched = Untouched(keyless)
    code, _, err = await set_keys(keyless, capsys, "bob")
    assert_one_error_line(code, err, "(--from) cannot set session keys now")
    assert "nothing was made or submitted" in err
    untouched.check()


@pytest.mark.asyncio
async def test_a_node_that_signs_for_another_validator_is_refused(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = keyless
    assert await rpc.call("author_insertKey", "sess", "//Alice", "0x" + ALICE.public.hex()) is None
    untouched = Untouched(rpc)
    code, _, err = await set_keys(rpc, capsys, "bob")
    assert_one_error_line(code, err, f"already signs for validator {address(rpc, ALICE)}")
    assert "one process would sign for two validators" in err
    assert f"point --node-rpc at {address(rpc, BOB)}'s own signing node" in err
    untouched.check()


@pytest.mark.asyncio
async def test_the_good_path_sets_the_key_and_then_the_node_is_refused_to_the_next_validator(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = keyless
    code, out, err = await set_keys(rpc, capsys, "bob", None, "--json")
    assert code == 0, err
    rotations = [i for i, call in enumerate(CALLS) if call == ("--node-rpc", MAKES_A_KEY)]
    assert len(rotations) == 1 and all(m in [m for _, m in CALLS[:rotations[0]]] for m in CHECKS), CALLS
    assert ("--rpc", "btt_dryRun") in CALLS[:rotations[0]]  # the fee was judged before the key was made
    result = json.loads(out)
    new_key = bytes.fromhex(result["sessionKey"][2:])
    assert result["success"] is True and result["stash"] == address(rpc, BOB)
    assert list(rpc.node.keys.publics()) == [new_key] and registered_key(rpc, BOB) == new_key
    assert builder_of(rpc.node).built == 1
    listed = await rpc.call("btt_localSessionKeys")
    assert listed == [{"sessionKey": result["sessionKey"], "account": address(rpc, BOB)}]
    # bob again, on the node that signs for bob: its own node, so it rotates there
    code, out, err = await set_keys(rpc, capsys, "bob", None, "--json")
    assert code == 0, err
    newer = bytes.fromhex(json.loads(out)["sessionKey"][2:])
    assert set(rpc.node.keys.publics()) == {new_key, newer} and registered_key(rpc, BOB) == newer
    # alice (a genesis validator) pointing at bob's signing node: refused, naming bob
    untouched = Untouched(rpc)
    code, _, err = await set_keys(rpc, capsys, "alice")
    assert_one_error_line(code, err, f"already signs for validator {address(rpc, BOB)}")
    assert f"point --node-rpc at {address(rpc, ALICE)}'s own signing node" in err
    untouched.check()


@pytest.mark.asyncio
async def test_keys_whose_commitment_the_node_cannot_reveal_from_are_not_set(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = keyless
    pair = Keypair.generate()
    assert await rpc.call("author_insertKey", "sess", "0x" + pair.seed.hex(), "0x" + pair.public.hex()) is None
    wrong = pair.public + HashChain(hash_chain_seed(pair.seed, 0), SHORT // 2).commitment  # at another length
    untouched = Untouched(rpc)
    code, _, err = await set_keys(rpc, capsys, "bob", None, "--keys", "0x" + wrong.hex())
    assert_one_error_line(code, err, "refused btt_sessionKeysProof: keys: the commitment")
    untouched.check()


@pytest.mark.asyncio
async def test_a_node_rpc_on_another_chain_or_out_of_reach_is_named(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    rpc = keyless
    untouched = Untouched(rpc)
    down = f"http://127.0.0.1:{free_port()}"
    code, _, err = await set_keys(rpc, capsys, "bob", down)
    assert_one_error_line(code, err, f"cannot reach a node at {down}")
    assert "(--node-rpc URL)" in err and "(--rpc URL)" not in err
    other = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=None, rpc_port=free_port()))
    async for elsewhere in serve(other):
        code, _, err = await set_keys(rpc, capsys, "bob", elsewhere.url)
        assert_one_error_line(code, err, f"the node at --node-rpc {elsewhere.url} follows another chain")
        assert not list(other.keys) and builder_of(other).built == 0
    untouched.check()


def test_bad_keys_or_node_url_are_refused_before_any_node_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for node_rpc, keys, fragment in ((down, "0xzz", "is not hex"), (down, "0x" + "00" * 63, "expected 64 bytes"),
                                     ("ftp://signing", "0x" + "00" * 64, "--node-rpc 'ftp://signing' is not a node")):
        with pytest.raises(SystemExit) as exc:
            main(["set-keys", "--from", "bob", "--node-rpc", node_rpc, "--rpc", down, "--keys", keys])
        assert_one_error_line(int(exc.value.code or 0), capsys.readouterr().err, fragment)
        assert CALLS == []


class Answers:
    """A node as `check_signing_node` sees it: fixed answers by method."""

    def __init__(self, url: str, answers: dict[str, Any]) -> None:
        self.url = url
        self.answers = answers
        self.asked: list[str] = []

    def call(self, method: str, *params: Any) -> Any:
        self.asked.append(method)
        return self.answers[method]


def test_a_key_the_signing_node_does_not_know_yet_is_judged_by_the_submitting_nodes_active_set() -> None:
    from btt_chain.client.chain import ChainInfo
    from btt_chain.primitives.errors import ConfigError
    from cli.session_keys_cmd import check_signing_node

    genesis = bytes(range(32))
    info = ChainInfo(genesis, 42, "dev", 1, 18, "BTT")
    alice, bob = encode_address(ALICE.public, 42), encode_address(BOB.public, 42)
    key = "0x" + ALICE.public.hex()
    lagging = Answers("http://signing", {"chain_getBlockHash": "0x" + genesis.hex(),
                                         "btt_localSessionKeys": [{"sessionKey": key, "account": None}]})
    submitting = Answers("http://rpc", {"btt_validators": [{"sessionKey": key, "account": alice}]})
    with pytest.raises(ConfigError, match=f"already signs for validator {alice}"):
        check_signing_node(lagging, submitting, info, bob)  # type: ignore[arg-type]
    check_signing_node(lagging, submitting, info, alice)  # type: ignore[arg-type]  # its own key: no objection
    assert lagging.asked == ["chain_getBlockHash", "btt_localSessionKeys"] * 2
