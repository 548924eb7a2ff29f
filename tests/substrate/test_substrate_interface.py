"""An unchanged substrate-interface 1.8.1 against a real dev node: it reads the metadata and System.Account, decodes
blocks with their digest logs, signs `Balances.transfer_keep_alive` with ed25519 //Alice in an immortal and a mortal
era and sees each succeed (`receipt.is_success`), and gets error 1010, at no fee, for a stale nonce.

substrate-interface cannot derive ed25519 keys from a URI (`Keypair.create_from_uri` raises NotImplementedError for
ed25519), so //Alice's seed is derived here by Substrate's ed25519 HDKD, as `btt_chain.primitives.derivation` does."""

from __future__ import annotations

import pytest

from btt_chain.primitives.keys import dev_keypair
from tests.functional.framework import Harness
from tests.substrate.tools import dev_node

UNIT = 10**18


def test_substrate_interface_reads_signs_in_both_eras_and_is_refused_at_no_fee(harness: Harness) -> None:
    from substrateinterface import Keypair, KeypairType, SubstrateInterface
    from substrateinterface.exceptions import SubstrateRequestException

    node = dev_node(harness)
    node.start()
    substrate = SubstrateInterface(url=f"ws://127.0.0.1:{node.rpc_port}")
    try:
        alice_pair, bob_pair = dev_keypair("alice"), dev_keypair("bob")
        ss58 = substrate.ss58_format
        alice = Keypair.create_from_seed(alice_pair.seed.hex(), ss58_format=ss58, crypto_type=KeypairType.ED25519)
        assert alice.public_key == alice_pair.public
        bob = Keypair.create_from_seed(bob_pair.seed.hex(), ss58_format=ss58, crypto_type=KeypairType.ED25519)

        harness.log("System.Account as btt_account reports it")
        account = substrate.query("System", "Account", [alice.ss58_address]).value
        btt = node.call("btt_account", alice.ss58_address)
        assert account["data"]["free"] == int(btt["free"]) and account["nonce"] == btt["nonce"]

        harness.log("a block decodes, digest logs included")
        block = substrate.get_block()
        assert block["header"]["number"] >= 0 and block["header"]["hash"] == node.call("chain_getBlockHash",
                                                                                        block["header"]["number"])

        for era, finalized in ((None, False), ({"period": 64}, True)):
            harness.log(f"transfer_keep_alive, era {era}, waiting for {'finality' if finalized else 'inclusion'}")
            call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
            xt = substrate.create_signed_extrinsic(call=call, keypair=alice, era=era)
            receipt = substrate.submit_extrinsic(xt, wait_for_inclusion=not finalized,
                                                 wait_for_finalization=finalized)
            assert receipt.is_success, receipt.error_message
            names = [f"{e.value['module_id']}.{e.value['event_id']}" for e in receipt.triggered_events]
            assert "Balances.Transfer" in names and "System.ExtrinsicSuccess" in names

        harness.log("a stale nonce and a signature by another key: error 1010, and no fee")
        before = node.call("btt_account", alice.ss58_address)["free"]
        call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
        stale = substrate.create_signed_extrinsic(call=call, keypair=alice, nonce=0)
        forged = substrate.create_signed_extrinsic(call=call, keypair=alice, signature=bob.sign(b"not the payload"))
        for bad in (stale, forged):
            with pytest.raises(SubstrateRequestException) as refused:
                substrate.submit_extrinsic(bad)
            assert "1010" in str(refused.value) or "Invalid Transaction" in str(refused.value)
        assert node.call("btt_account", alice.ss58_address)["free"] == before
    finally:
        substrate.close()
