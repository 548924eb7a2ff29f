"""An unchanged substrate-interface 1.8.1 against a real dev node with the keypair its users make by default: sr25519,
from a new mnemonic (`Keypair.create_from_mnemonic`, whose address btt's own derivation of the same phrase gives).
ed25519 //Alice pays it, it pays //Bob back, both finalized with FRAME's events, and a transfer signed by
substrate-interface's sr25519 //Alice, an empty account, is refused at no cost to anyone.

(substrate-interface's `KeypairType.ECDSA` is Ethereum's scheme, keccak and a 20-byte address, not FRAME's
MultiSignature::Ecdsa: ECDSA is driven through polkadot.js in test_polkadot_js_schemes.py.)"""

from __future__ import annotations

import pytest

from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import SR25519
from tests.functional.framework import Harness
from tests.substrate.tools import dev_node

UNIT = 10**18


def test_substrate_interface_default_sr25519_keypair_receives_and_spends(harness: Harness) -> None:
    from substrateinterface import Keypair, KeypairType, SubstrateInterface
    from substrateinterface.exceptions import SubstrateRequestException

    node = dev_node(harness)
    node.start()
    substrate = SubstrateInterface(url=f"ws://127.0.0.1:{node.rpc_port}")
    try:
        ss58 = substrate.ss58_format
        alice = Keypair.create_from_seed(dev_keypair("alice").seed.hex(), ss58_format=ss58,
                                         crypto_type=KeypairType.ED25519)
        bob = dev_keypair("bob").public
        phrase = Keypair.generate_mnemonic()
        user = Keypair.create_from_mnemonic(phrase, ss58_format=ss58)  # sr25519, the default
        assert user.crypto_type == KeypairType.SR25519
        assert user.public_key == keypair_from_suri(phrase, SR25519).account

        def send(signer: Keypair, dest: str | bytes, value: int) -> list[str]:
            call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": dest, "value": value})
            xt = substrate.create_signed_extrinsic(call=call, keypair=signer, era={"period": 64})
            receipt = substrate.submit_extrinsic(xt, wait_for_finalization=True)
            assert receipt.is_success, receipt.error_message
            return [f"{e.value['module_id']}.{e.value['event_id']}" for e in receipt.triggered_events]

        harness.log("ed25519 //Alice pays the new sr25519 account 5 BTT")
        assert "Balances.Transfer" in send(alice, user.ss58_address, 5 * UNIT)
        assert int(node.call("btt_account", user.ss58_address)["free"]) == 5 * UNIT

        harness.log("the sr25519 account pays //Bob 1 BTT")
        bob_before = int(node.call("btt_account", "0x" + bob.hex())["free"])
        events = send(user, "0x" + bob.hex(), UNIT)
        assert "Balances.Transfer" in events and "System.ExtrinsicSuccess" in events
        assert int(node.call("btt_account", "0x" + bob.hex())["free"]) == bob_before + UNIT
        left = int(node.call("btt_account", user.ss58_address)["free"])
        assert 3 * UNIT < left < 4 * UNIT and node.call("btt_account", user.ss58_address)["nonce"] == 1

        harness.log("sr25519 //Alice, which nobody funded, cannot pay: refused, nothing charged")
        empty = Keypair.create_from_uri("//Alice", ss58_format=ss58)
        call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": "0x" + bob.hex(), "value": UNIT})
        with pytest.raises(SubstrateRequestException) as refused:
            substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=empty))
        assert "1010" in str(refused.value) or "Invalid Transaction" in str(refused.value)
        assert int(node.call("btt_account", empty.ss58_address)["free"]) == 0
    finally:
        substrate.close()
