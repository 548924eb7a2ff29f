"""An unchanged @polkadot/api 16.5.6 and @polkadot/keyring 14.0.3 (pinned in tests/substrate/js) against a real dev
node, with the key types its users have: ed25519 //Alice funds sr25519 //Alice (the type polkadot.js Apps and the
extension make) and ecdsa //Alice, each spends to //Bob, every transfer finalized, and `tx.paymentInfo` answers for
an sr25519-signed transfer. The node's own blocks say which MultiSignature variant each spend carried."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from btt_chain.primitives.address import decode_address
from btt_chain.primitives.extrinsic import Extrinsic, is_inherent_encoding
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, SR25519
from tests.functional.framework import Harness, NodeProcess
from tests.substrate.tools import dev_node, node_missing, packages_missing

JS = Path(__file__).parent / "js"
UNIT = 10**18


def included(node: NodeProcess, block_hash: str, xt_hash: str) -> Extrinsic:
    """The extrinsic `xt_hash` of block `block_hash`, as the node serves it, decoded by btt's codec."""
    for encoded in node.call("chain_getBlock", block_hash)["block"]["extrinsics"]:
        raw = bytes.fromhex(encoded[2:])
        if "0x" + blake2b_256(raw).hex() == xt_hash:
            assert not is_inherent_encoding(raw)
            return Extrinsic.decode(raw)
    raise AssertionError(f"{xt_hash} is not in block {block_hash}")


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
def test_polkadot_js_sr25519_and_ecdsa_accounts_receive_and_spend(harness: Harness) -> None:
    assert packages_missing(JS, "@polkadot/api", "@polkadot/keyring") is None, packages_missing(JS, "@polkadot/api")
    node = dev_node(harness)
    node.start()
    harness.log("fund sr25519 and ecdsa //Alice from ed25519 //Alice, ask paymentInfo, spend from each")
    done = subprocess.run(["node", str(JS / "schemes.mjs"), f"ws://127.0.0.1:{node.rpc_port}"], cwd=JS,
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no findings printed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1])
    harness.log(json.dumps(out, indent=1))
    assert "failure" not in out, out.get("failure")

    accounts = {"sr25519": keypair_from_suri("//Alice", SR25519).account,
                "ecdsa": keypair_from_suri("//Alice", ECDSA).account}
    assert {k: decode_address(a) for k, a in out["addresses"].items()} == accounts
    for scheme in ("sr25519", "ecdsa"):
        funding = out["funding"][scheme]
        assert "error" not in funding and funding["success"], funding
        spend = out["spending"][scheme]
        assert "error" not in spend and spend["success"], spend
        assert "balances.Transfer" in spend["events"] and "system.ExtrinsicSuccess" in spend["events"]
        assert spend["bobGained"] == str(UNIT) and int(spend["spent"]) > UNIT  # the amount and its fee
        xt = included(node, spend["blockHash"], spend["hash"])
        assert xt.scheme == (SR25519 if scheme == "sr25519" else ECDSA) and xt.signer == accounts[scheme]

    info = out["paymentInfo"]
    assert int(info["partialFee"]) > 0 and info["class"] == "Normal", info
    fee_paid = int(out["spending"]["sr25519"]["spent"]) - UNIT
    assert fee_paid >= int(info["partialFee"]), (fee_paid, info)
