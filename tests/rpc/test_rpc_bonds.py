"""RPC: btt_bonds (bond ledger and validator registration) and btt_multisig (calls awaiting approval)."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import dev_hash_chain_commitment
from runtime.modules import RUNTIME

from .harness import UNIT, RpcHarness


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


@pytest.mark.asyncio
async def test_btt_bonds_shows_the_genesis_validator_and_unbonding(rpc: RpcHarness) -> None:
    alice = await rpc.call("btt_bonds", hexid("alice"))
    assert alice["validator"]["hashChainCommitment"] == "0x" + dev_hash_chain_commitment("alice", 2**20).hex()
    bonded = int(alice["bonded"])
    assert bonded > 0 and alice["unlocking"] == []
    bob = await rpc.call("btt_bonds", hexid("bob"))
    assert bob == {"bonded": "0", "unlocking": [], "validator": None}
    xt = rpc.sign(dev_keypair("bob"), "bonds.bond", 3 * UNIT)
    await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    xt = rpc.sign(dev_keypair("bob"), "bonds.unbond", UNIT)
    await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    bob = await rpc.call("btt_bonds", hexid("bob"))
    assert bob["bonded"] == str(2 * UNIT)
    assert [c["amount"] for c in bob["unlocking"]] == [str(UNIT)]


@pytest.mark.asyncio
async def test_btt_multisig_lists_pending_approvals(rpc: RpcHarness) -> None:
    signers = [dev_keypair(n).public for n in ("alice", "bob", "charlie")]
    ms = multisig_account(signers, 2)
    assert await rpc.call("btt_multisig", "0x" + ms.hex()) == []
    data = RUNTIME.call("balances.transfer_allow_death", signers[2], UNIT).encode()
    xt = rpc.sign(dev_keypair("bob"), "multisig.approve", [signers[0], signers[2]], 2, data)
    await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    (pending,) = await rpc.call("btt_multisig", "0x" + ms.hex())
    prefix = rpc.node.spec.ss58_prefix
    assert pending["callHash"] == "0x" + blake2b_256(data).hex()
    assert pending["approvals"] == [encode_address(signers[1], prefix)]
    assert pending["depositor"] == encode_address(signers[1], prefix)


@pytest.mark.asyncio
async def test_btt_bonds_rejects_a_bad_account(rpc: RpcHarness) -> None:
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_bonds", "not-an-address")
