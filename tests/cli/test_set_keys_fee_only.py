"""`btt-chain --fee-only set-keys` (review 53, finding 2) quotes the fee with a throwaway key and never asks the
signing node for one: before, it ran `author_rotateKeys` first (a new key left in the node's keystore and a hash chain
built for nothing) and only then printed "not sent". The quote is the fee the real set-keys then pays, and the
signed extrinsic with the throwaway key is not printed (sent, it would set a key no node holds)."""

from __future__ import annotations

import json

import pytest

from btt_chain.node.hash_chain_builder import builder_of
from tests.cli.test_set_keys_checks import (  # noqa: F401 (fixtures)
    BOB,
    CALLS,
    MAKES_A_KEY,
    keyless,
    recorded,
    registered_key,
)
from tests.rpc.harness import RpcHarness
from tests.support.cli_runner import run_authoring


def node_state(rpc: RpcHarness) -> tuple[object, ...]:
    node = rpc.node
    return (sorted(node.keys.publics()), builder_of(node).built, len(node.pool), node.chain.head_hash,
            registered_key(rpc, BOB))


@pytest.mark.asyncio
@pytest.mark.parametrize("as_json", [False, True])
async def test_fee_only_set_keys_quotes_without_making_a_key_and_the_quote_is_what_sending_pays(
    keyless: RpcHarness, capsys: pytest.CaptureFixture[str], as_json: bool,  # noqa: F811
) -> None:
    rpc = keyless
    before = node_state(rpc)
    listed = await rpc.call("btt_localSessionKeys")
    argv = ["set-keys", "--from", "bob", "--node-rpc", rpc.url, "--rpc", rpc.url, *(["--json"] if as_json else [])]
    code, out, err = await run_authoring(rpc, capsys, "--fee-only", *argv)
    assert code == 0, err
    assert MAKES_A_KEY not in [method for _, method in CALLS], CALLS
    assert node_state(rpc) == before and await rpc.call("btt_localSessionKeys") == listed  # no key, nothing sent
    if as_json:
        report = json.loads(out)
        assert report["sent"] is False and report["success"] is True and report["extrinsic"] is None, report
        quoted = int(report["fee"])
    else:
        lines = out.splitlines()
        assert lines[0].startswith("fee: ") and "base units" in lines[0], out
        assert "not sent, nothing charged" in lines[2] and "throwaway session key" in lines[2], out
        assert len(lines) == 3 and "0x" not in lines[2], out  # no signed extrinsic to pass on
        quoted = int(lines[0].split("(")[1].split()[0])
    # the real one pays what was quoted
    code, out, err = await run_authoring(rpc, capsys, *argv[:-1] if as_json else argv, "--json")
    assert code == 0, err
    sent = json.loads(out)
    assert sent["success"] is True and int(sent["fee"]) == quoted > 0, (sent, quoted)
    assert len(list(rpc.node.keys.publics())) == 1 and builder_of(rpc.node).built == 1
