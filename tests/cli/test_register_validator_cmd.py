"""`btt-chain register-validator`: a bonded account joins the validator set with a session key made and proved on its
signing node (`--node-rpc`), in one command, where an operator used to hand-craft `bonds.register_validator` through
`--args`. It shares set-keys' round (cli/session_keys_cmd.py) and its contract: every check that can refuse comes
before the node is asked for a key, so a stash already registered, bonded below `bonds.min_validator_bond` or unable
to pay the fee, a `--node-rpc` on another chain or signing for another validator, and bad `--keys` are each refused
in one line, with no key on the node, nothing built and nothing submitted; `--fee-only` quotes with a throwaway key.
The call takes the form of the node's call table: with the key's proof from spec 17, without it on a chain born at
spec 16. In-process dev nodes served over RPC (set-keys' harness); the command runs in a thread while the test
authors blocks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.client.calls import CallTable
from btt_chain.client.chain import ChainInfo
from btt_chain.node.hash_chain_builder import builder_of
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.key_authorization import session_keys_ownership_message
from btt_chain.primitives.keys import Keypair, dev_keypair
from cli.main import main
from cli.session_keys_cmd import registration
from genesis.loader import as_of_spec, canonical_json
from runtime.consensus.logic import epoch_of
from runtime.session.types import SessionKeys
from runtime.specs import runtime_of
from tests.cli.test_set_keys_checks import (  # noqa: F401 (fixtures)
    ALICE,
    CALLS,
    CHECKS,
    MAKES_A_KEY,
    UNIT,
    Untouched,
    address,
    keyless,
    recorded,
    registered_key,
)
from tests.cli.test_set_keys_fee_only import node_state
from tests.functional.framework import free_port
from tests.rpc.harness import RpcHarness
from tests.rpc.test_rpc_rotate_keys_off_loop import serve, short_chain_spec
from tests.support.cli_runner import assert_one_error_line, run_authoring

CHARLIE, EVE, FERDIE = dev_keypair("charlie"), dev_keypair("eve"), dev_keypair("ferdie")
MINIMUM = 10_000
"""The dev preset's `bonds.min_validator_bond`, in BTT."""
NOTHING_DONE = "nothing was made or submitted"
EPOCHS_AUTHORED = 3
"""A bound on the epochs the happy path authors through (it needs one)."""


@pytest_asyncio.fixture
async def bonded(keyless: RpcHarness) -> RpcHarness:  # noqa: F811
    """set-keys' keyless node (bob registered, alice the only active validator, an empty keystore), with charlie
    bonded the minimum validator bond and not registered."""
    await keyless.submit_in_block(CHARLIE, "bonds.bond", MINIMUM * UNIT)
    assert registered_key(keyless, CHARLIE) is None
    return keyless


async def register(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], sender: str, node_rpc: str | None = None,
                   *extra: str) -> tuple[int, str, str]:
    """`btt-chain register-validator --from SENDER --node-rpc NODE_RPC --rpc URL ...`: (exit code, stdout, stderr)."""
    return await run_authoring(rpc, capsys, "register-validator", "--from", sender, "--node-rpc",
                               node_rpc or rpc.url, "--rpc", rpc.url, *extra)


def head_epoch(rpc: RpcHarness) -> int:
    chain = rpc.node.chain
    return epoch_of(chain.state(), chain.head.slot)


def fields(out: str) -> dict[str, str]:
    """The `name  value` lines the command prints after the extrinsic's (print_fields)."""
    rows = [line.split("  ", 1) for line in out.splitlines() if not line.startswith(("included", " "))]
    return {name.strip(): value.strip() for name, value in rows}


@pytest.mark.asyncio
async def test_a_bonded_account_registers_with_the_nodes_key_and_is_queued_for_the_epoch_it_was_told(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = bonded
    code, out, err = await register(rpc, capsys, "charlie")
    assert code == 0, err
    rotations = [i for i, call in enumerate(CALLS) if call == ("--node-rpc", MAKES_A_KEY)]
    assert len(rotations) == 1, CALLS
    asked_first = [m for _, m in CALLS[:rotations[0]]]
    assert all(m in asked_first for m in (*CHECKS, "btt_params")), CALLS  # every check before the key was made
    (new_key,) = rpc.node.keys.publics()
    assert registered_key(rpc, CHARLIE) == new_key and builder_of(rpc.node).built == 1  # the node's own key
    assert "bonds.ValidatorRegistered" in out, out
    shown = fields(out)
    registered_in = head_epoch(rpc)  # nothing was authored since the registration's block
    active = registered_in + 2
    assert shown["session key"] == "0x" + new_key.hex() and shown["stash"] == address(rpc, CHARLIE), out
    assert shown["active from epoch"] == f"{active} (queued at the start of epoch {active - 1})", out
    listed = await rpc.call("btt_localSessionKeys")
    assert listed == [{"sessionKey": "0x" + new_key.hex(), "account": address(rpc, CHARLIE)}]
    # the chain queues charlie with the node's key at the next epoch's start, for the epoch it was told
    for _ in range(EPOCHS_AUTHORED * 20):
        if head_epoch(rpc) == active - 1:
            break
        rpc.author_block()
    table = await rpc.call("btt_powerTable")
    assert table["epoch"] == active - 1 and table["following"]["epoch"] == active, table
    following = {v["account"]: v["sessionKey"] for v in table["following"]["validators"]}
    assert following.get(address(rpc, CHARLIE)) == "0x" + new_key.hex(), following
    assert address(rpc, CHARLIE) not in {v["account"] for v in table["current"]["validators"]}


@pytest.mark.asyncio
async def test_fee_only_quotes_without_making_a_key_and_the_quote_is_what_registering_pays(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = bonded
    before = node_state(rpc)
    argv = ["register-validator", "--from", "charlie", "--node-rpc", rpc.url, "--rpc", rpc.url]
    code, out, err = await run_authoring(rpc, capsys, "--fee-only", *argv)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("fee: ") and "throwaway session key" in lines[2] and "0x" not in lines[2], out
    code, out, err = await run_authoring(rpc, capsys, "--fee-only", *argv, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sent"] is False and report["success"] is True and report["extrinsic"] is None, report
    quoted = int(report["fee"])
    assert int(lines[0].split("(")[1].split()[0]) == quoted
    assert MAKES_A_KEY not in [m for _, m in CALLS], CALLS
    assert node_state(rpc) == before and registered_key(rpc, CHARLIE) is None  # no key, nothing sent
    # the real one pays what was quoted
    code, out, err = await run_authoring(rpc, capsys, *argv, "--json")
    assert code == 0, err
    sent = json.loads(out)
    (new_key,) = rpc.node.keys.publics()
    assert sent["success"] is True and int(sent["fee"]) == quoted > 0, (sent, quoted)
    assert sent["sessionKey"] == "0x" + new_key.hex() and sent["stash"] == address(rpc, CHARLIE), sent
    assert sent["activeFromEpoch"] == head_epoch(rpc) + 2 and registered_key(rpc, CHARLIE) == new_key, sent


@pytest.mark.asyncio
async def test_an_account_already_registered_is_refused_before_any_key(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    untouched = Untouched(keyless)
    code, _, err = await register(keyless, capsys, "bob")
    assert_one_error_line(code, err, f"{address(keyless, dev_keypair('bob'))} (--from) is already a registered "
                                     "validator")
    assert "`btt-chain set-keys`" in err and err.rstrip().endswith(NOTHING_DONE)
    untouched.check()


@pytest.mark.asyncio
async def test_a_bond_below_the_minimum_or_none_is_refused_before_any_key(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    rpc = keyless
    await rpc.submit_in_block(EVE, "bonds.bond", 100 * UNIT)
    untouched = Untouched(rpc)
    code, _, err = await register(rpc, capsys, "eve")
    assert_one_error_line(code, err, f"{address(rpc, EVE)} (--from) is bonded 100 BTT, below the minimum validator "
                                     f"bond {MINIMUM} BTT (bonds.min_validator_bond): bond {MINIMUM - 100} BTT more "
                                     "first (`btt-chain bond --extra`)")
    assert err.rstrip().endswith(NOTHING_DONE)
    code, _, err = await register(rpc, capsys, "ferdie")
    assert_one_error_line(code, err, f"{address(rpc, FERDIE)} (--from) is bonded 0 BTT, below the minimum validator "
                                     f"bond {MINIMUM} BTT")
    assert f"bond {MINIMUM} BTT more first (`btt-chain bond`)" in err and err.rstrip().endswith(NOTHING_DONE)
    untouched.check()


@pytest.mark.asyncio
async def test_an_account_that_cannot_pay_the_fee_is_refused_before_any_key(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    await bonded.submit_in_block(CHARLIE, "balances.transfer_all", FERDIE.public, False)  # the bond stays reserved
    untouched = Untouched(bonded)
    code, _, err = await register(bonded, capsys, "charlie")
    assert_one_error_line(code, err, f"{address(bonded, CHARLIE)} (--from) cannot register as a validator now")
    assert err.rstrip().endswith(NOTHING_DONE)
    untouched.check()
    assert registered_key(bonded, CHARLIE) is None


@pytest.mark.asyncio
async def test_a_node_that_signs_for_another_validator_is_refused(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = bonded
    assert await rpc.call("author_insertKey", "sess", "//Alice", "0x" + ALICE.public.hex()) is None
    untouched = Untouched(rpc)
    code, _, err = await register(rpc, capsys, "charlie")
    assert_one_error_line(code, err, f"already signs for validator {address(rpc, ALICE)}")
    assert f"point --node-rpc at {address(rpc, CHARLIE)}'s own signing node" in err
    assert err.rstrip().endswith(NOTHING_DONE)
    untouched.check()
    # the same with --keys naming the key the node signs for alice with: refused before anything is asked of it
    code, _, err = await register(rpc, capsys, "charlie", None, "--keys", "0x" + ALICE.public.hex() + "00" * 32)
    assert_one_error_line(code, err, f"already signs for validator {address(rpc, ALICE)}")
    untouched.check()
    assert registered_key(rpc, CHARLIE) is None


@pytest.mark.asyncio
async def test_a_node_rpc_on_another_chain_is_refused(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    untouched = Untouched(bonded)
    other = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=None, rpc_port=free_port()))
    async for elsewhere in serve(other):
        code, _, err = await register(bonded, capsys, "charlie", elsewhere.url)
        assert_one_error_line(code, err, f"the node at --node-rpc {elsewhere.url} follows another chain")
        assert err.rstrip().endswith(NOTHING_DONE)
        assert not list(other.keys) and builder_of(other).built == 0
    untouched.check()
    assert registered_key(bonded, CHARLIE) is None


@pytest.mark.asyncio
async def test_keys_the_node_does_not_hold_are_not_registered(
    bonded: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    untouched = Untouched(bonded)
    stranger = Keypair.generate()
    code, _, err = await register(bonded, capsys, "charlie", None, "--keys", "0x" + stranger.public.hex() + "00" * 32)
    assert_one_error_line(code, err, "refused btt_sessionKeysProof: this node's keystore does not hold the session key")
    untouched.check()
    assert registered_key(bonded, CHARLIE) is None


def test_bad_keys_are_refused_before_any_node_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for keys, fragment in (("0xzz", "is not hex"), ("0x" + "00" * 63, "expected 64 bytes")):
        with pytest.raises(SystemExit) as exc:
            main(["register-validator", "--from", "charlie", "--node-rpc", down, "--rpc", down, "--keys", keys])
        assert_one_error_line(int(exc.value.code or 0), capsys.readouterr().err, fragment)
        assert CALLS == []


def test_the_call_takes_the_proof_from_spec_17_and_not_before_by_the_nodes_call_table() -> None:
    pair = Keypair.generate()
    keys = SessionKeys(pair.public, b"\x08" * 32)
    proof = pair.sign(session_keys_ownership_message(CHARLIE.public, keys.session_key, keys.hash_chain_commitment))
    for spec, args in ((17, (keys.session_key, keys.hash_chain_commitment, proof)),
                       (16, (keys.session_key, keys.hash_chain_commitment))):
        info = ChainInfo(bytes(32), 42, "dev", spec, 18, "BTT", CallTable(runtime_of(spec).metadata()))
        call = registration(info)
        assert call.name == "bonds.register_validator" and call.args(keys, proof) == args, spec
        info.calls.build_call(call.name, *call.args(keys, proof))  # the table takes them


def test_the_throwaway_checks_carry_a_proof_that_could_never_set_a_key_from_spec_17() -> None:
    """The fee check and `--fee-only` sign a real extrinsic and show it to the --rpc node. From spec 17 (the proof
    checked after every other rule) its proof is 64 zero bytes: submitted by anyone it fails, its fee paid, and never
    registers the stash with a key nobody holds; before spec 17 (the proof checked first) it is the throwaway key's."""
    from cli.session_keys_cmd import throwaway_keys

    signer = dev_keypair("charlie")
    for spec in (17, 16):
        info = ChainInfo(bytes(32), 42, "dev", spec, 18, "BTT", CallTable(runtime_of(spec).metadata()))
        keys, proof = throwaway_keys(signer, info)
        message = session_keys_ownership_message(signer.public, keys.session_key, keys.hash_chain_commitment)
        from btt_chain.primitives import ed25519

        assert ed25519.verify(keys.session_key, message, proof) == (spec < 17) and len(proof) == 64, spec


@pytest_asyncio.fixture
async def born_at_spec_16(tmp_path: Path) -> AsyncIterator[RpcHarness]:
    """set-keys' short-chain dev node with an empty keystore, its chain born at spec 16 (no proof in
    `bonds.register_validator`)."""
    doc = as_of_spec(json.loads(short_chain_spec(tmp_path).read_bytes()), 16)
    path = tmp_path / "dev-short-chains-spec-16.json"
    path.write_bytes(canonical_json(doc))
    node = Node(NodeConfig(chain=str(path), base_path=None, tmp=True, validator_key=None, rpc_port=free_port()))
    async for rpc in serve(node):
        yield rpc


@pytest.mark.asyncio
async def test_a_chain_before_spec_17_is_sent_the_call_without_the_proof(
    born_at_spec_16: RpcHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    rpc = born_at_spec_16
    assert rpc.node.chain.runtime.spec_version == 16
    table: dict[str, Any] = await rpc.call("btt_callTable")
    assert [a for a, _ in CallTable(table).get_spec("bonds.register_validator").args] == [
        "session_key", "hash_chain_commitment"]
    code, _, err = await run_authoring(rpc, capsys, "bond", "--from", "charlie", "--amount", str(MINIMUM),
                                       "--rpc", rpc.url)
    assert code == 0, err
    code, out, err = await register(rpc, capsys, "charlie", None, "--json")
    assert code == 0, err
    (new_key,) = rpc.node.keys.publics()
    sent = json.loads(out)
    assert sent["success"] is True and sent["sessionKey"] == "0x" + new_key.hex(), sent
    assert registered_key(rpc, CHARLIE) == new_key
